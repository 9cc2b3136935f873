"""recent_nights_present tells a night Fitbit recorded without sleep from one that may still arrive.

Why: after `make demo` the check warned about the sandbox user's two nights without sleep (seed 42 leaves 1 % of
nights empty, and 2026-11-28/29 were both empty): Fitbit had answered those dates, in the same call as later nights,
so nothing was missing. A gap fetched before a later night synced (the tracker may not have synced) still warns.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dagster_project.checks import CheckInputs, recent_nights_present
from fitbit_sandbox.generator import generate_night
from pipeline.landing import land_day
from pipeline.paths import StoragePaths
from pipeline.tables import update_tables
from tests.clock import TEST_TODAY

TZ = "America/Los_Angeles"

EARLY = datetime(2020, 1, 1, 6, 0, tzinfo=UTC)
LATE = EARLY + timedelta(hours=24)


def _night_with_main_sleep(day: date) -> list[dict[str, Any]]:
    """A generated night (any seed that gives one) whose main sleep has this dateOfSleep."""
    for seed in range(100):
        logs = [log for log in generate_night(seed, day) if log["dateOfSleep"] == day.isoformat()]
        if any(log["isMainSleep"] for log in logs):
            return logs
    raise AssertionError(f"no generated main sleep for {day}")


def _land(paths: StoragePaths, day: date, fetched_at: datetime, *, empty: bool = False, **kw: Any) -> None:
    logs = [] if empty else _night_with_main_sleep(day)
    land_day(paths, day, logs, source="api", source_ref="/test", fetched_at=fetched_at, **kw)


def _verdict(home: Path) -> tuple[bool, dict[str, Any]]:
    paths = StoragePaths(home)
    update_tables(paths, tz=TZ)
    with CheckInputs(paths, None, TEST_TODAY) as inputs:
        return recent_nights_present(inputs)


@pytest.fixture
def week(tmp_path: Path) -> tuple[Path, date, list[date]]:
    today = TEST_TODAY
    return tmp_path / "home", today, [today - timedelta(days=i) for i in range(9, -1, -1)]


def test_nights_answered_empty_with_a_later_night_are_no_warning(week: tuple[Path, date, list[date]]) -> None:
    home, today, days = week
    gaps = {today - timedelta(days=2), today - timedelta(days=3)}  # as seed 42 on 2026-11-30
    for day in days:
        _land(StoragePaths(home), day, LATE, empty=day in gaps)  # one backfill: the same fetch time
    passed, facts = _verdict(home)
    assert passed, facts
    assert facts["missing_dates"] == 0
    assert facts["nights_without_sleep"] == ", ".join(sorted(d.isoformat() for d in gaps))


def test_a_gap_fetched_before_a_later_night_arrived_still_warns(week: tuple[Path, date, list[date]]) -> None:
    home, today, days = week
    gap = today - timedelta(days=4)
    for day in days:
        # the gap was last answered before the tracker synced the nights after it
        _land(StoragePaths(home), day, EARLY if day == gap else LATE, empty=day == gap)
    passed, facts = _verdict(home)
    assert not passed
    assert facts["dates"] == gap.isoformat() and facts["nights_without_sleep"] == "none"


def test_never_fetched_and_pending_dates_warn(week: tuple[Path, date, list[date]]) -> None:
    home, today, days = week
    never, pending = today - timedelta(days=5), today - timedelta(days=1)
    for day in days:
        if day == never:
            continue
        _land(StoragePaths(home), day, LATE, empty=day == pending, pending=day == pending)
    passed, facts = _verdict(home)
    assert not passed
    assert facts["dates"] == ", ".join(sorted([never.isoformat(), pending.isoformat()]))
