"""fitbit_sandbox."""
