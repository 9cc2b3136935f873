"""Entry point of the ``fitbit-sleep`` command.

Why lazy: each sub-command lives in ``fitbit_sleep/commands/<area>.py`` and imports its heavy modules (Dagster,
pandas, matplotlib) only when it runs, so ``fitbit-sleep --help`` stays instant and ``pipeline/`` stays free of
Dagster.
"""

from __future__ import annotations

import importlib

import click

# command name -> "module:attribute"; a module owns the commands of one area.
COMMANDS: dict[str, str] = {
    "sandbox": "fitbit_sleep.commands.sandbox:sandbox",
    "login": "fitbit_sleep.commands.auth:login",
    "participants": "fitbit_sleep.commands.participants:participants",
    "logout": "fitbit_sleep.commands.auth:logout",
    "status": "fitbit_sleep.commands.status:status",
    "plan": "fitbit_sleep.commands.fetch:plan",
    "fetch": "fitbit_sleep.commands.fetch:fetch",
    "diff-sources": "fitbit_sleep.commands.diff:diff_sources",
    "rebuild": "fitbit_sleep.commands.warehouse:rebuild",
    "sql": "fitbit_sleep.commands.sql:sql",
    "import": "fitbit_sleep.commands.importer:import_archive",
    "backfill": "fitbit_sleep.commands.backfill:backfill",
    "report": "fitbit_sleep.commands.report:report",
    "demo": "fitbit_sleep.commands.demo:demo",
    "cohort": "fitbit_sleep.commands.cohort:cohort",
}


class LazyGroup(click.Group):
    """A click group that imports a command's module only when that command is listed or invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Fitbit sleep ETL: fetch or import sleep logs, build Parquet/DuckDB tables, render plots.

    Settings come from the environment: FITBIT_CLIENT_ID, FITBIT_CLIENT_SECRET (or FITBIT_CLIENT_SECRET_FILE),
    FITBIT_API_URL, FITBIT_AUTH_URL and FITBIT_SLEEP_HOME (the data root, default ./data); for the Google Health
    API, FITBIT_SLEEP_SOURCE=google-health with GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET (or _FILE),
    GOOGLE_HEALTH_API_URL and GOOGLE_OAUTH_URL.
    """
