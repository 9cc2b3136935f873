"""`fitbit-sleep participants add | list | retire`: who this data root fetches sleep for.

Why a registry command and not folders made by hand: a participant needs an id the pipeline accepts, its own data
root, its time zone until it logs in, and a state (active or retired) the daily run and the warehouse read; errors
(a bad or taken id, an unknown zone) are one line that says what to do. Layout and design: docs/participants.md.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import click


def _fail(exc: BaseException) -> NoReturn:
    click.echo(f"error: {exc}", err=True)
    sys.exit(1)


def _paths():  # type: ignore[no-untyped-def]
    from pipeline.config import ConfigError, Settings
    from pipeline.paths import StoragePaths

    try:
        return StoragePaths(Settings.from_env().home)
    except ConfigError as exc:
        _fail(exc)


@click.group()
def participants() -> None:
    """Add, list and retire the participants of this data root (the data root's own user is `default`)."""


@participants.command("add")
@click.argument("participant_id")
@click.option("--tz", default=None, help="The participant's IANA time zone until its login reports one.")
def add(participant_id: str, tz: str | None) -> None:
    """Register PARTICIPANT_ID (active) and create its data root; then `fitbit-sleep login --participant ID`."""
    from pipeline.errors import FitbitSleepError
    from pipeline.participants import add_participant

    paths = _paths()
    try:
        added = add_participant(paths, participant_id, tz)
    except FitbitSleepError as exc:
        _fail(exc)
    zone = f", time zone {added.timezone}" if added.timezone else ""
    click.echo(
        f"Added participant {added.id}{zone}: data under {paths.participant(added.id).root}. "
        f"Next: fitbit-sleep login --participant {added.id}"
    )


@participants.command("list")
def list_() -> None:
    """One line per participant: id, status, time zone, login and days landed."""
    from pipeline.config import profile_timezone
    from pipeline.errors import FitbitSleepError
    from pipeline.participants import list_participants

    paths = _paths()
    try:
        people = list_participants(paths)
    except FitbitSleepError as exc:
        _fail(exc)
    for p in people:
        own = paths.participant(p.id)
        logged_in = "logged in" if any(own.tokens_dir.glob("*.json")) else "not logged in"
        days = sum(1 for _ in own.raw_sleep_dir.glob("date=*.json"))
        status = f"retired {p.retired_at[:10]}" if p.retired_at else p.status
        click.echo(
            f"{p.id:<16} {status:<18} tz {p.timezone or profile_timezone(own) or '(from login)'}  {logged_in}, {days} days landed"
        )


@participants.command("retire")
@click.argument("participant_id")
def retire(participant_id: str) -> None:
    """Stop fetching PARTICIPANT_ID; its data, tables and figures stay, shown as retired."""
    from pipeline.errors import FitbitSleepError
    from pipeline.participants import retire_participant

    try:
        retired = retire_participant(_paths(), participant_id)
    except FitbitSleepError as exc:
        _fail(exc)
    click.echo(f"Retired participant {retired.id}: its data is kept; it is no longer fetched.")
