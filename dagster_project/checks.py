"""Asset checks on the landing and the tables.

Why these: the data checks (``pipeline/checks.py``) block on what our own code could get wrong and warn, with counts
and examples, on Fitbit's quirks; the CLI import runs the very same rules, so both ways in agree. This module binds
them to the assets and adds the checks only a scheduled pipeline needs: dates still pending at Fitbit, a login about
to be lost, and nights that have not arrived yet.

In a partitioned run the checks look at the run's window, read from the run's partition tags; in an import run or
run on their own from the UI they look at everything.
"""

import os
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    multi_asset_check,
)

from dagster_project.resources import StorageResource
from pipeline.checks import DATA_CHECKS, Check, CheckInputs, Verdict, evaluate
from pipeline.paths import StoragePaths
from pipeline.physiology_checks import PHYSIOLOGY_CHECKS

RECENT_NIGHTS_DAYS = 7
TOKEN_IDLE_WARN_DAYS = 10
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"


def run_window(tags: dict[str, str]) -> tuple[date, date] | None:
    """The inclusive date window of a run from its partition tags; None for an unpartitioned (whole) check run."""
    if RANGE_START_TAG in tags and RANGE_END_TAG in tags:
        return date.fromisoformat(tags[RANGE_START_TAG]), date.fromisoformat(tags[RANGE_END_TAG])
    if PARTITION_TAG in tags:
        day = date.fromisoformat(tags[PARTITION_TAG])
        return day, day
    return None


def severity(check: Check) -> AssetCheckSeverity:
    return AssetCheckSeverity.ERROR if check.blocking else AssetCheckSeverity.WARN


def pending_dates(inp: CheckInputs) -> Verdict:
    from pipeline.landing import landed_files, read_header

    window = inp.window
    pending = [
        day.isoformat()
        for day, path in landed_files(inp.paths)
        if (window is None or window[0] <= day <= window[1]) and read_header(path).state == "pending"
    ]
    return not pending, {"pending_dates": len(pending), "dates": ", ".join(pending[-20:])}


def token_health(inp: CheckInputs) -> Verdict:
    return token_health_facts(inp.paths)


def _main_sleep_dates(inp: CheckInputs, first: date, last: date) -> set[date]:
    if not inp.has_rows("sleep_logs"):
        return set()
    rows = inp.con.execute(
        "SELECT DISTINCT date_of_sleep FROM sleep_logs WHERE is_main_sleep AND date_of_sleep BETWEEN ? AND ?",
        [first, last],
    ).fetchall()
    return {r[0] for r in rows}


def recent_nights_present(inp: CheckInputs) -> Verdict:
    today = inp.today or date.today()
    wanted = [today - timedelta(days=i) for i in range(1, RECENT_NIGHTS_DAYS + 1)]
    have = _main_sleep_dates(inp, wanted[-1], wanted[0])
    gaps = [d for d in wanted if d not in have]
    without_sleep = nights_known_without_sleep(inp, gaps, today)
    missing = sorted(d.isoformat() for d in gaps if d not in without_sleep)
    return not missing, {
        "missing_dates": len(missing),
        "dates": ", ".join(missing),
        "nights_without_sleep": ", ".join(sorted(d.isoformat() for d in without_sleep)) or "none",
    }


def nights_known_without_sleep(inp: CheckInputs, gaps: list[date], today: date) -> set[date]:
    """The dates among ``gaps`` that Fitbit answered as final without a main sleep *after* a later night had synced.

    Why this tells "no sleep recorded" from "not synced yet": a tracker syncs its nights in order, so once a later
    night is at Fitbit, an answer for an earlier date is final. A date's raw file says when its current answer was
    first seen (``fetched_at``); when that is no earlier than the arrival of a later main sleep, the date was
    fetched after the sync (a backfill, or one range call covering both). A gap fetched before any later night
    arrived (the tracker may not have synced then) stays a warning.
    """
    from pipeline.landing import read_header

    candidates: dict[date, datetime] = {}
    for day in gaps:
        path = inp.paths.raw_sleep_file(day)
        if path.exists():
            header = read_header(path)
            if header.state != "pending":
                candidates[day] = _parse_utc(header.fetched_at)
    if not candidates:
        return set()
    later_nights = _main_sleep_dates(inp, min(candidates) + timedelta(days=1), today)
    arrived = {
        night: _parse_utc(read_header(inp.paths.raw_sleep_file(night)).fetched_at)
        for night in later_nights
        if inp.paths.raw_sleep_file(night).exists()
    }
    return {
        day
        for day, fetched in candidates.items()
        if any(night > day and seen <= fetched for night, seen in arrived.items())
    }


def _parse_utc(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def last_night_arrived(inp: CheckInputs) -> Verdict:
    today = inp.today or date.today()
    latest = None
    if inp.has_rows("sleep_logs"):
        row = inp.con.execute("SELECT max(date_of_sleep) FROM sleep_logs WHERE is_main_sleep").fetchone()
        latest = row[0] if row else None
    arrived = latest is not None and latest >= today
    facts: dict[str, Any] = {
        "night_of": (today - timedelta(days=1)).isoformat(),
        "date_of_sleep": today.isoformat(),
        "latest_main_sleep": latest.isoformat() if latest else "none",
    }
    if not arrived:
        facts["problem"] = (
            f"Yesterday's night ({facts['night_of']}, dateOfSleep {today}) has not arrived: the newest main sleep "
            f"is from {facts['latest_main_sleep']}."
        )
        facts["hint"] = "Open the Fitbit app to sync; the next daily run re-fetches the last days."
    return arrived, facts


_FRESHNESS_AND_LOGIN: tuple[Check, ...] = (
    Check(
        "pending_dates",
        "raw_sleep",
        "WARN while dates of the run window are still 'pending' at Fitbit (not final); the next daily run fetches "
        "them again.",
        pending_dates,
    ),
    Check(
        "token_health",
        "raw_sleep",
        "WARN before the Fitbit login is lost: the last token refresh failed, a refresh was interrupted, or the "
        f"refresh token has not been used for {TOKEN_IDLE_WARN_DAYS}+ days (FITBIT_SLEEP_TOKEN_IDLE_DAYS). No "
        "token value is ever shown.",
        token_health,
    ),
    Check(
        "recent_nights_present",
        "sleep_tables",
        f"WARN when any of the last {RECENT_NIGHTS_DAYS} dates before today has no main sleep that may still come "
        "(not fetched yet, pending, or fetched before the tracker synced a later night). A date Fitbit answered "
        "without sleep after a later night had synced is a night without sleep, listed in nights_without_sleep.",
        recent_nights_present,
    ),
    Check(
        "last_night_arrived",
        "sleep_tables",
        "Freshness: WARN when yesterday's night (its main sleep has dateOfSleep = today in the user's time zone) "
        "has not arrived yet.",
        last_night_arrived,
    ),
)
CHECKS: tuple[Check, ...] = DATA_CHECKS + _FRESHNESS_AND_LOGIN + PHYSIOLOGY_CHECKS


def build_checks(
    assets: dict[str, Any], today: Callable[[], date], archive_import: Any
) -> list[AssetChecksDefinition]:
    """Every check, bound to the project's assets (built per Definitions so tests can use their own).

    Why two multi-asset checks (one step per asset) instead of one step per check: each step costs a dozen
    event-log writes and its own DuckDB set-up, which made the checks a quarter of a 100-day run. Each check keeps
    its own key, result and history in the UI, and ``can_subset`` still lets the UI (or the token-health job) run
    one alone. Blocking checks fail their step after every result is recorded, which skips the steps downstream.
    The table checks also depend on the archive import, so in an import run they run after it.
    """
    extra = {"sleep_tables": [archive_import], "physiology_tables": [archive_import]}
    return [
        _multi_check(
            f"{name}_checks", asset, [c for c in CHECKS if c.asset == name], today, extra.get(name, [])
        )
        for name, asset in assets.items()
    ]


def _multi_check(
    step: str, asset: Any, checks: list[Check], today: Callable[[], date], additional_deps: list[Any]
) -> AssetChecksDefinition:
    by_name = {c.name: c for c in checks}
    specs = [
        AssetCheckSpec(
            c.name,
            asset=asset,
            description=c.description,
            blocking=c.blocking,
            additional_deps=additional_deps,
        )
        for c in checks
    ]

    @multi_asset_check(name=step, specs=specs, can_subset=True)
    def run_checks(
        context: AssetCheckExecutionContext, storage: StorageResource
    ) -> Iterator[AssetCheckResult]:
        with CheckInputs(storage.paths(), run_window(dict(context.run.tags)), today()) as inputs:
            for key in sorted(context.selected_asset_check_keys, key=lambda k: list(by_name).index(k.name)):
                check = by_name[key.name]
                passed, metadata = evaluate(check, inputs)
                yield AssetCheckResult(
                    asset_key=key.asset_key,
                    check_name=key.name,
                    passed=passed,
                    severity=severity(check),
                    metadata=metadata,
                )

    return run_checks


# Warn this many days before a Google "Testing" refresh token ends (they live 7 days from consent).
TESTING_TOKEN_WARN_DAYS = 2.0


def token_health_facts(paths: StoragePaths) -> tuple[bool, dict[str, Any]]:
    """(healthy, secret-free facts) about the saved login; shared by the check and the sensor."""
    from pipeline.errors import FitbitSleepError
    from pipeline.tokens import token_health as read_health

    idle_days = float(os.environ.get("FITBIT_SLEEP_TOKEN_IDLE_DAYS") or TOKEN_IDLE_WARN_DAYS)
    try:
        health = read_health(paths)
    except FitbitSleepError as exc:
        return False, {"problem": str(exc)}
    problems = []
    if health.get("last_refresh_error"):
        problems.append(f"the last token refresh failed ({health['last_refresh_error']})")
    if health.get("refresh_in_flight"):
        problems.append("a token refresh was interrupted; the next run replays it")
    age = health.get("refresh_token_age_days")
    if age is not None and age >= idle_days:
        problems.append(f"the refresh token has not been used for {age:.0f} days")
    ends_in = health.get("refresh_token_expires_in_days")
    testing_ends = isinstance(ends_in, int | float) and ends_in <= TESTING_TOKEN_WARN_DAYS
    if isinstance(ends_in, int | float) and testing_ends:
        problems.append(
            f"the Google refresh token ends in {max(0.0, ends_in):.1f} days (the OAuth app is in 'Testing')"
        )
    facts: dict[str, Any] = {k: v for k, v in health.items() if isinstance(v, int | float | str)}
    facts["problem"] = "; ".join(problems) or "none"
    if testing_ends:
        from pipeline.config import Settings
        from pipeline.providers import provider_for

        hint = provider_for(Settings(None, None, source="google-health")).publish_hint
        facts["hint"] = f"{hint} Until then, `fitbit-sleep login` every week."
    elif problems:
        facts["hint"] = (
            "Run the daily job (or `fitbit-sleep fetch`) to use the login; if it fails, `fitbit-sleep login`."
        )
    return not problems, facts
