"""dagster_project/assets."""
