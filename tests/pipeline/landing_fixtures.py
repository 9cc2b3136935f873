"""Land the hand-written fixtures of tests/fixtures/sleep (and sandbox history) through the real landing.

Why a helper: the transform, tables and warehouse tests all start from raw files on disk, exactly as production does.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pipeline.landing import land_day
from pipeline.paths import StoragePaths

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sleep"
FETCHED_AT = datetime(2024, 12, 1, 6, 0, tzinfo=UTC)


def fixture_logs(name: str) -> list[Any]:
    return json.loads((FIXTURES / name).read_text())["sleep"]  # type: ignore[no-any-return]


def land_logs(
    paths: StoragePaths,
    logs: list[Any],
    *,
    fetched_at: datetime = FETCHED_AT,
    default_day: date | None = None,
    pending: bool = False,
) -> list[date]:
    """Land logs grouped by their ``dateOfSleep`` (malformed records go to ``default_day``); return the dates."""
    by_day: dict[date, list[Any]] = defaultdict(list)
    for log in logs:
        text = log.get("dateOfSleep") if isinstance(log, dict) else None
        day = date.fromisoformat(text) if isinstance(text, str) else default_day
        assert day is not None, "a malformed fixture record needs default_day"
        by_day[day].append(log)
    for day, day_logs in by_day.items():
        land_day(
            paths, day, day_logs, source="api", source_ref="/test", fetched_at=fetched_at, pending=pending
        )
    return sorted(by_day)


def land_fixture(paths: StoragePaths, name: str, **kwargs: Any) -> list[date]:
    return land_logs(paths, fixture_logs(name), **kwargs)


def land_all_fixtures(paths: StoragePaths) -> None:
    """Every edge case at once (the stitched variant of the split night is landed by the tests that need it)."""
    for path in sorted(FIXTURES.glob("*.json")):
        if path.name != "stitched_night.json":
            land_fixture(paths, path.name, default_day=date(2024, 4, 2))


def land_on(
    paths: StoragePaths, day: date, logs: list[Any], fetched_at: datetime, *, pending: bool = False
) -> str:
    """Land ``logs`` as the API's whole answer for ``day`` (an empty list = fetched, nothing logged)."""
    return land_day(paths, day, logs, source="api", source_ref="/t", fetched_at=fetched_at, pending=pending)
