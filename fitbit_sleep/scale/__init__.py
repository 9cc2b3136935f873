"""Dev/ops tooling of the scale profile (docs/scale.md): local Postgres and SeaweedFS servers, the scale instance's
dagster.yaml and the cohort demo. Not part of the Dagster code location: tests, the demo and `make` targets use it.
"""
