"""Advice: which interfaces fit, a staged migration plan, and a remediation checklist."""
