"""fitbit_sleep/commands."""
