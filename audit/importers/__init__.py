"""Reading the configuration files IBKR automation really runs with."""
