"""`fitbit-sleep plan | fetch`: how many calls a backfill needs, and doing it.

Why a planner without API calls: a user deciding whether to backfill ten years wants the cost (calls, hours of
quota) before spending any quota; it uses the last quota seen (saved by the client) or Fitbit's documented 150/h.
"""

from __future__ import annotations

import sys
from datetime import date

import click

from fitbit_sleep.sandbox_profile import uses_api


def _parse_day(_ctx: click.Context, _param: click.Parameter, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2024-01-31") from None


def _human(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@click.command()
@click.option("--start", required=True, callback=_parse_day, help="First date (inclusive), YYYY-MM-DD.")
@click.option("--end", required=True, callback=_parse_day, help="Last date (inclusive), YYYY-MM-DD.")
def plan(start: date, end: date) -> None:
    """Print the API calls a fetch of START..END needs and the ETA at the current quota (no API call)."""
    from pipeline.client import chunk_range
    from pipeline.config import Settings
    from pipeline.paths import StoragePaths
    from pipeline.quota import DEFAULT_LIMIT, QuotaSnapshot, eta_seconds

    if end < start:
        raise click.BadParameter("--end is before --start")
    chunks = chunk_range(start, end)
    days = (end - start).days + 1
    snapshot = QuotaSnapshot.load(StoragePaths(Settings.from_env().home).quota_file)
    for chunk_start, chunk_end in chunks:
        click.echo(
            f"GET /1.2/user/-/sleep/date/{chunk_start}/{chunk_end}.json  ({(chunk_end - chunk_start).days + 1} days)"
        )
    eta = eta_seconds(len(chunks), snapshot)
    if snapshot is not None and snapshot.remaining is not None and (snapshot.reset_in() or 0) > 0:
        basis = f"last seen quota: {snapshot.remaining}/{snapshot.limit} left, resets in {snapshot.reset_in():.0f} s"
    else:
        basis = f"assuming a fresh quota of {(snapshot.limit if snapshot and snapshot.limit else DEFAULT_LIMIT)}/h"
    click.echo(
        f"{days} days -> {len(chunks)} call{'s' if len(chunks) != 1 else ''}; quota wait {_human(eta)} ({basis})."
    )


@click.command()
@click.option("--start", required=True, callback=_parse_day, help="First date (inclusive), YYYY-MM-DD.")
@click.option("--end", required=True, callback=_parse_day, help="Last date (inclusive), YYYY-MM-DD.")
@uses_api
def fetch(start: date, end: date) -> None:
    """Fetch START..END from the API and land one raw file per date."""
    from pipeline.client import FitbitClient
    from pipeline.config import ConfigError, Settings
    from pipeline.errors import FitbitSleepError
    from pipeline.landing import land_fetch
    from pipeline.paths import StoragePaths

    if end < start:
        raise click.BadParameter("--end is before --start")

    def on_wait(seconds: float, reason: str) -> None:
        click.echo(f"waiting {_human(seconds)}: {reason}", err=True)

    try:
        settings = Settings.from_env()
        paths = StoragePaths(settings.home)
        with FitbitClient.from_settings(settings, on_wait=on_wait) as client:
            result = client.sleep(start, end)
        landed = land_fetch(paths, result)
    except (ConfigError, FitbitSleepError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(
        f"{start}..{end}: {len(result.logs)} logs in {result.calls} calls; landed {len(landed.dates)} days "
        f"({landed.written} written, {landed.revised} revised, {landed.unchanged} unchanged, {landed.empty} empty, "
        f"{landed.pending} pending)."
    )
