"""The ``fitbit-sleep`` command line: the front door over the pipeline, the sandbox and Dagster."""
