"""ibkr-audit: audit an Interactive Brokers account setup against security checklists."""

__version__ = "0.1.0"
