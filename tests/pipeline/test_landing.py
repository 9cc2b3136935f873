"""The raw landing: provenance, empty vs never fetched, pending, idempotent re-landing and revisions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.landing import (
    AnswerOutsideRange,
    dates_needing_fetch,
    land_day,
    land_fetch,
    landed_files,
    read_day,
    read_header,
)
from pipeline.paths import StoragePaths

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sleep"


def fixture_logs(name: str) -> list[dict[str, Any]]:
    return json.loads((FIXTURES / name).read_text())["sleep"]  # type: ignore[no-any-return]


@dataclass
class Fetch:
    """A value with the attributes of ``pipeline.client.SleepFetch`` (the contract), built from fixture logs."""

    start: date
    end: date
    logs: list[dict[str, Any]]
    pending_dates: set[date] = field(default_factory=set)
    fetched_at: datetime = datetime(2024, 3, 20, 8, 0, tzinfo=UTC)
    api_paths: list[str] = field(default_factory=list)
    calls: int = 1


def test_land_fetch_writes_every_date_with_provenance(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    logs = fixture_logs("nap_and_main.json")
    fetch = Fetch(
        date(2024, 3, 14),
        date(2024, 3, 16),
        logs,
        api_paths=["/1.2/user/-/sleep/date/2024-03-14/2024-03-16.json"],
    )
    result = land_fetch(paths, fetch)
    assert result.written == 3 and result.empty == 2 and result.logs == len(logs)
    record = read_day(paths, date(2024, 3, 15))
    assert record is not None
    assert record["state"] == "final" and record["source"] == "api"
    assert record["source_ref"] == "/1.2/user/-/sleep/date/2024-03-14/2024-03-16.json"
    assert record["fetched_at"] == "2024-03-20T08:00:00Z"
    assert len(record["payload"]["sleep"]) == 2
    assert read_header(paths.raw_sleep_file(date(2024, 3, 14))).state == "empty"
    assert [d for d, _ in landed_files(paths)] == [date(2024, 3, 14), date(2024, 3, 15), date(2024, 3, 16)]


def test_empty_pending_and_never_fetched_are_different(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    fetch = Fetch(date(2024, 3, 1), date(2024, 3, 3), [], pending_dates={date(2024, 3, 3)})
    land_fetch(paths, fetch)
    assert read_header(paths.raw_sleep_file(date(2024, 3, 1))).state == "empty"
    assert read_header(paths.raw_sleep_file(date(2024, 3, 3))).state == "pending"
    # never fetched (Feb 29, Mar 4) and pending (Mar 3) need a fetch; the empty days do not.
    assert dates_needing_fetch(paths, date(2024, 2, 29), date(2024, 3, 4)) == [
        date(2024, 2, 29),
        date(2024, 3, 3),
        date(2024, 3, 4),
    ]


def test_identical_payload_changes_nothing_and_a_change_keeps_a_revision(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    logs = fixture_logs("nap_and_main.json")
    first = datetime(2024, 3, 16, tzinfo=UTC)
    day = date(2024, 3, 15)
    assert land_day(paths, day, logs, source="api", source_ref="/x", fetched_at=first) == "written"
    target = paths.raw_sleep_file(day)
    before = target.read_bytes()
    mtime = target.stat().st_mtime_ns
    # same logs, another order, a later fetch: nothing changes, not even the bytes or mtime.
    later = datetime(2024, 3, 18, tzinfo=UTC)
    assert land_day(paths, day, logs[::-1], source="api", source_ref="/x", fetched_at=later) == "unchanged"
    assert target.read_bytes() == before and target.stat().st_mtime_ns == mtime
    assert not paths.raw_revisions_dir.exists()
    # the nap was deleted upstream: a revision keeps the old version for audit.
    main_only = [log for log in logs if log["isMainSleep"]]
    assert land_day(paths, day, main_only, source="api", source_ref="/x", fetched_at=later) == "revised"
    revisions = list((paths.raw_revisions_dir / "date=2024-03-15").glob("*.json"))
    assert len(revisions) == 1 and revisions[0].read_bytes() == before
    assert len(json.loads(target.read_bytes())["payload"]["sleep"]) == 1


def test_pending_becomes_final_without_a_revision(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    logs = fixture_logs("nap_and_main.json")
    day = date(2024, 3, 15)
    moment = datetime(2024, 3, 15, 9, tzinfo=UTC)
    land_day(paths, day, logs, source="api", source_ref="/x", fetched_at=moment, pending=True)
    assert dates_needing_fetch(paths, day, day) == [day]
    assert land_day(paths, day, logs, source="api", source_ref="/x", fetched_at=moment) == "written"
    assert dates_needing_fetch(paths, day, day) == []
    assert not paths.raw_revisions_dir.exists()


def test_an_answer_holding_logs_of_another_range_lands_nothing(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    logs = fixture_logs("nap_and_main.json")
    with pytest.raises(AnswerOutsideRange, match="2024-03-16..2024-03-16 holds logId .* dated 2024-03-15"):
        land_fetch(paths, Fetch(date(2024, 3, 16), date(2024, 3, 16), logs))
    assert list(landed_files(paths)) == []


def test_records_without_a_readable_date_are_landed_for_the_quarantine_never_dropped(tmp_path: Path) -> None:
    """Not objects, malformed or missing dateOfSleep: landed on their endTime's date (else the range's last day)."""
    paths = StoragePaths(tmp_path)
    good = fixture_logs("nap_and_main.json")
    slashed = {**good[0], "logId": 901, "dateOfSleep": "2024/03/15"}
    undated = {k: v for k, v in good[0].items() if k != "dateOfSleep"} | {
        "logId": 902,
        "endTime": "bad",
        "startTime": None,
    }
    odd: list[Any] = [slashed, undated, "not an object", None]
    fetch = Fetch(date(2024, 3, 14), date(2024, 3, 16), [*good, *odd])
    result = land_fetch(paths, fetch)
    assert result.misplaced_logs == 4 and result.logs == len(good) + 4
    on_15 = read_day(paths, date(2024, 3, 15))
    assert on_15 is not None and {log["logId"] for log in on_15["payload"]["sleep"]} >= {901}
    on_16 = read_day(paths, date(2024, 3, 16))
    assert on_16 is not None and on_16["state"] == "final"
    assert sorted(map(str, on_16["payload"]["sleep"])) == sorted(map(str, [undated, "not an object", None]))


def test_a_final_day_turned_empty_is_listed(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    logs = fixture_logs("nap_and_main.json")
    land_fetch(paths, Fetch(date(2024, 3, 14), date(2024, 3, 16), logs))
    result = land_fetch(paths, Fetch(date(2024, 3, 14), date(2024, 3, 16), []))
    assert result.emptied == [date(2024, 3, 15)]
