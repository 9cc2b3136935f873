"""`fitbit-sleep diff-sources`: the same days through the v1.2 API and the Google Health API v4, compared.

Why a command: before switching ``FITBIT_SLEEP_SOURCE`` a user (or a test) sees whether both APIs tell the same story
about their nights; the last line, ``<N> differing sessions of <M>``, is the answer. Needs a login per source.
"""

from __future__ import annotations

import sys
from datetime import date

import click

from fitbit_sleep.commands.dates import check_range, date_range


@click.command(name="diff-sources")
@date_range()
@click.option("--verbose", "-v", is_flag=True, help="Also list every session that differs only as expected.")
def diff_sources(start: date, end: date, verbose: bool) -> None:
    """Fetch START..END through both sources into a scratch area and report per night what differs."""
    from pipeline.config import ConfigError
    from pipeline.errors import FitbitSleepError
    from pipeline.source_diff import diff_sources as run_diff
    from pipeline.source_diff import render

    check_range(start, end)
    try:
        report = run_diff(
            start, end, on_wait=lambda s, why: click.echo(f"waiting {s:.0f} s: {why}", err=True)
        )
    except (ConfigError, FitbitSleepError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    for line in render(report, verbose=verbose):
        click.echo(line)
    if report.differing:
        sys.exit(2)
