"""The single Dagster ``Definitions`` for the project. Assets are added by the Dagster issue."""

from dagster import Definitions

defs = Definitions()
