"""`fitbit-sleep status`: what is known here first (login, coverage, last night, warehouse), then one API call.

Why local facts first and the API last with a short timeout: the question "is my setup healthy?" is mostly
answered by files on this machine, and an unreachable API (a sandbox not running, the network down, the 2026
shutdown) must not hide them. Before, status spent ~20 s retrying and printed only the connection error. The API
line is one line whatever happened; the exit code is 1 when the API part failed, so scripts can tell.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from pipeline.paths import StoragePaths

Row = tuple[str, str]


@click.command()
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.5),
    default=5.0,
    show_default=True,
    help="Seconds to wait for the API (one try, no retries).",
)
def status(timeout: float) -> None:
    """Show the login, data coverage, last night and warehouse age, then check the API with one call."""
    from fitbit_sleep.sandbox_profile import active_profile
    from pipeline.config import ConfigError, Settings
    from pipeline.paths import StoragePaths

    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    paths = StoragePaths(settings.home)
    found = active_profile(dict(os.environ))
    api = (
        f"built-in sandbox (profile {found[0].sandbox_profile_file}; started for this command)"
        if found
        else f"Google Health API v4 at {settings.google_api_url}"
        if settings.source == "google-health"
        else settings.api_url
    )
    from pipeline.participants import list_participants

    people = list_participants(paths)
    if [p.id for p in people] != ["default"]:
        rows = [("data root", str(paths.root.resolve())), ("api", api), *cohort_facts(paths)]
        _print(rows)
        for line in participant_lines(paths, people):
            click.echo(line)
    else:
        rows = [("data root", str(paths.root.resolve())), ("api", api), *local_facts(paths)]
        _print(rows)
    logged_in = [
        paths.participant(p.id)
        for p in people
        if p.active and any(paths.participant(p.id).tokens_dir.glob("*.json"))
    ]
    ok, line = api_check(timeout, logged_in[0] if logged_in else None)
    if len(people) > 1 and logged_in:
        line = f"{line} (as {logged_in[0].participant_id})"
    _print([("api check", line)], width=max(len(k) for k, _ in rows))
    if not ok:
        sys.exit(1)


def _print(rows: list[Row], width: int = 0) -> None:
    width = max([width, *(len(k) for k, _ in rows)])
    for key, value in rows:
        click.echo(f"{key:<{width}}  {value}")


def local_facts(paths: StoragePaths) -> list[Row]:
    """Facts read from the data root alone; each row says what is missing instead of raising."""
    return [
        *_login_rows(paths),
        _coverage_row(paths),
        *_warehouse_rows(paths),
        _quota_row(paths),
        _runs_row(),
    ]


def cohort_facts(paths: StoragePaths) -> list[Row]:
    """The facts every participant shares: the warehouse and the Dagster runs."""
    return [*_warehouse_rows(paths)[:1], _runs_row()]


COHORT_NIGHTS = """
select participant_id, max(night_date) as last_night,
       arg_max(minutes_asleep, night_date) as asleep
from nights group by participant_id
"""
COHORT_PENDING = (
    "select participant_id, count(*) from coverage where state = 'pending' group by participant_id"
)


def participant_lines(paths: StoragePaths, people: list[Any]) -> list[str]:
    """One line per participant: status, last night, pending dates, token health, quota used in the last window."""
    nights: dict[str, tuple[Any, Any]] = {}
    pending: dict[str, int] = {}
    if paths.warehouse_file.is_file():
        from pipeline.warehouse import connect_readonly

        try:
            con = connect_readonly(paths)
            try:
                nights = {r[0]: (r[1], r[2]) for r in con.execute(COHORT_NIGHTS).fetchall()}
                pending = {r[0]: int(r[1]) for r in con.execute(COHORT_PENDING).fetchall()}
            finally:
                con.close()
        except Exception:  # noqa: BLE001 - a status line, not a crash
            nights, pending = {}, {}
    width = max(len(p.id) for p in people)
    lines = []
    for p in people:
        own = paths.participant(p.id)
        night, asleep = nights.get(p.id, (None, None))
        last = f"{night} ({asleep // 60} h {asleep % 60:02d})" if night is not None and asleep else "none yet"
        lines.append(
            f"{p.id:<{width}}  {p.status:<7}  last night {last:<22}  pending {pending.get(p.id, 0):<3}  "
            f"token {_token_word(own)}  quota {_quota_word(own)}"
        )
    return lines


def _token_word(paths: StoragePaths) -> str:
    from pipeline.errors import FitbitSleepError
    from pipeline.tokens import token_health

    try:
        health = token_health(paths)
    except FitbitSleepError:
        return "none (not logged in)"
    if health["last_refresh_error"]:
        return f"refused ({health['last_refresh_error']})"
    left = int(health["access_expires_in_s"])
    return f"ok (access {_duration(left)} more)" if left > 0 else "ok (refreshed on the next call)"


def _quota_word(paths: StoragePaths) -> str:
    from pipeline.quota import QuotaSnapshot

    snap = QuotaSnapshot.load(paths.quota_file)
    if snap is None or snap.remaining is None or snap.limit is None:
        return "not seen yet"
    if not (snap.reset_in() or 0) > 0:
        return f"0/{snap.limit} (that window has ended)"
    return f"{snap.limit - snap.remaining}/{snap.limit} used this hour"


def _runs_row() -> Row:
    """Runs whose process is gone and the pool slots held (a killed backfill used to block every later run)."""
    from dagster_project.devserver import use_dagster_home
    from dagster_project.stuck_runs import describe_runs

    try:
        return ("dagster runs", describe_runs(use_dagster_home(dict(os.environ))))
    except Exception as exc:  # noqa: BLE001 - status reports, never fails on a local fact
        return ("dagster runs", f"could not be read: {type(exc).__name__}: {exc}")


def _login_rows(paths: StoragePaths) -> list[Row]:
    from pipeline.errors import FitbitSleepError
    from pipeline.tokens import token_health

    try:
        health = token_health(paths)
    except FitbitSleepError as exc:
        return [("login", f"none usable: {exc}")]
    expires = int(health["access_expires_in_s"])
    access = f"valid {_duration(expires)} more" if expires > 0 else "expired (refreshed on the next call)"
    rows = [
        ("login", f"{health['user_id']} (scopes: {health['scope'] or '?'})"),
        ("access token", f"{access}, until {health['access_expires_at']}"),
        (
            "refresh token",
            f"last used {health['last_refresh_at'] or 'never (fresh from login)'}; "
            f"{health['refresh_token_age_days']:.1f} days old",
        ),
    ]
    if health["last_refresh_error"]:
        rows.append(("last refresh error", str(health["last_refresh_error"])))
    return rows


def _coverage_row(paths: StoragePaths) -> Row:
    from collections import Counter

    from pipeline.landing import landed_files, read_header

    files = list(landed_files(paths))
    if not files:
        return ("data coverage", "nothing landed yet: `fitbit-sleep backfill` or `fitbit-sleep import`")
    states = Counter(read_header(path).state for _, path in files)
    detail = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
    return ("data coverage", f"{len(files)} days landed, {files[0][0]} .. {files[-1][0]} ({detail})")


LAST_NIGHT = """
select night_date, minutes_asleep, time_in_bed, efficiency from nights order by night_date desc limit 1
"""


def _warehouse_rows(paths: StoragePaths) -> list[Row]:
    from pipeline.warehouse import connect_participant

    if not paths.warehouse_file.is_file():
        return [("warehouse", "not built yet: `fitbit-sleep rebuild`")]
    built = paths.warehouse_file.stat().st_mtime
    stamp = datetime.fromtimestamp(built, UTC).isoformat(timespec="seconds")
    rows = [
        ("warehouse", f"built {_duration(int(time.time() - built))} ago ({stamp}), {paths.warehouse_file}")
    ]
    try:
        con = connect_participant(paths)
        try:
            row = con.execute(LAST_NIGHT).fetchone()
        finally:
            con.close()
    except Exception as exc:  # noqa: BLE001 - a status line, not a crash
        return [*rows, ("last night", f"unreadable warehouse ({type(exc).__name__})")]
    if row is None:
        return [*rows, ("last night", "no nights in the warehouse yet")]
    night, asleep, in_bed, efficiency = row
    return [
        *rows,
        (
            "last night",
            f"{night} (evening): {asleep // 60} h {asleep % 60:02d} min asleep of {in_bed // 60} h "
            f"{in_bed % 60:02d} min in bed, efficiency {efficiency:.0f} %",
        ),
    ]


def _quota_row(paths: StoragePaths) -> Row:
    from pipeline.quota import QuotaSnapshot

    snap = QuotaSnapshot.load(paths.quota_file)
    if snap is None or snap.remaining is None:
        return ("quota", "not seen yet")
    reset = snap.reset_in()
    when = f", resets in {reset:.0f} s" if reset and reset > 0 else " (that window has ended)"
    return ("quota", f"{snap.remaining}/{snap.limit} left when last seen{when}")


def api_check(timeout: float, who: StoragePaths | None = None) -> tuple[bool, str]:
    """One profile call, one try, ``timeout`` seconds; the data root's sandbox runs for it when it has one.
    ``who``: the participant whose login it uses (default: the data root's own)."""
    from dataclasses import replace

    import requests

    from fitbit_sleep.sandbox_profile import profile_sandbox
    from pipeline.config import ConfigError, Settings
    from pipeline.errors import FitbitSleepError
    from pipeline.source_client import open_client

    started = time.monotonic()
    try:
        with profile_sandbox():
            settings = Settings.from_env()
            if who is not None:
                settings = replace(settings, home=who.root)
            with open_client(settings, timeout=(timeout, timeout), attempts=1) as client:
                user = client.profile()
                quota = client.last_quota
    except (FitbitSleepError, ConfigError, requests.RequestException, ValueError, OSError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return False, f"failed: {reason}"
    took = time.monotonic() - started
    left = f"; quota {quota.remaining}/{quota.limit} left" if quota and quota.remaining is not None else ""
    return True, (
        f"ok in {took:.1f} s: {user.get('encodedId', '?')} ({user.get('displayName', '?')}, "
        f"{user.get('timezone', '?')}){left}"
    )


def _duration(seconds: int) -> str:
    seconds = max(0, seconds)
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
