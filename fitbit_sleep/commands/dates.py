"""The ``--start``/``--end`` options of ``plan``, ``fetch`` and ``backfill``, and the check that a range has begun.

Why shared: the three commands take the same inclusive date range and must refuse it for the same reasons, in the
same words: not a date, end before start, or dates after today (no sleep exists for them yet). "Today" is the
project's (``FITBIT_SLEEP_TODAY`` if pinned, else the date in the partitions' zone: ``FITBIT_SLEEP_TZ``, else the
profile's, else UTC), the same one Dagster and the schedule use.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])


def parse_day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    """Click callback: YYYY-MM-DD to a ``date`` (None stays None for optional options)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2024-01-31") from None


def date_range(what: str = "date") -> Callable[[F], F]:
    """``--start`` and ``--end`` (inclusive, YYYY-MM-DD) as ``date`` arguments; ``what`` names the date in --help."""

    def decorate(command: F) -> F:
        command = click.option(
            "--end", required=True, callback=parse_day, help=f"Last {what} (inclusive), YYYY-MM-DD."
        )(command)
        return click.option(
            "--start", required=True, callback=parse_day, help=f"First {what} (inclusive), YYYY-MM-DD."
        )(command)

    return decorate


def check_range(start: date, end: date) -> None:
    """Refuse an inverted range, or one that ends after today, with a one-line error that says what to use."""
    if end < start:
        raise click.BadParameter(f"--end {end} is before --start {start}")
    from pipeline.config import ConfigError, local_today

    zone = local_zone()
    try:
        today = local_today(None, zone)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if end > today:
        when = "is in the future" if start > today else "ends in the future"
        raise click.ClickException(
            f"{start}..{end} {when} (today is {today} in {zone}): there is no sleep after today yet; use --end "
            f"{today} or earlier."
        )


def local_zone() -> str:
    """The partitions' time zone, or a one-line error naming the bad setting."""
    from pipeline.config import ConfigError, Settings, partition_timezone
    from pipeline.paths import StoragePaths

    try:
        return partition_timezone(None, StoragePaths(Settings.from_env().home))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
