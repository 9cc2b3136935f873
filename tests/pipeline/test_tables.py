"""Month-compacted Parquet tables: re-fetch reconciliation, touched months only, byte-identical rebuilds, nights."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from landing_fixtures import fixture_logs, land_all_fixtures, land_fixture, land_logs, land_on

from pipeline.paths import StoragePaths
from pipeline.tables import existing_months, table_files, update_tables

LA = "America/Los_Angeles"


def read(paths: StoragePaths, name: str) -> list[dict]:
    files = [str(f) for f in table_files(paths, name)]
    if not files:
        return []
    rel = duckdb.read_parquet(files, hive_partitioning=False)
    return [dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()]


def snapshot(paths: StoragePaths) -> dict[str, bytes]:
    return {
        str(p.relative_to(paths.tables_dir)): p.read_bytes()
        for p in sorted(paths.tables_dir.rglob("*.parquet"))
    }


def test_refetch_replaces_every_log_of_the_date(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    dates = land_fixture(paths, "split_night.json")
    update_tables(paths, dates, tz=LA)
    assert sorted(r["log_id"] for r in read(paths, "sleep_logs")) == [40000000201, 40000000202]
    [night] = [n for n in read(paths, "nights") if n["night_date"] == date(2024, 3, 20)]
    assert night["log_count"] == 2 and night["main_log_id"] == 40000000202
    # upstream stitched the two logs into one: after the re-fetch the old ids are gone, segments included.
    later = datetime(2024, 12, 2, tzinfo=UTC)
    changed = land_fixture(paths, "stitched_night.json", fetched_at=later)
    update_tables(paths, changed, tz=LA)
    assert [r["log_id"] for r in read(paths, "sleep_logs")] == [40000000203]
    assert {s["log_id"] for s in read(paths, "sleep_segments")} == {40000000203}
    [night] = [n for n in read(paths, "nights") if n["night_date"] == date(2024, 3, 20)]
    assert night["log_count"] == 1 and night["main_log_id"] == 40000000203 and night["nap_count"] == 0
    # and deleted upstream: the date becomes empty and the month's files go away.
    land_on(paths, date(2024, 3, 21), [], later + timedelta(days=1))
    update_tables(paths, [date(2024, 3, 21)], tz=LA)
    assert read(paths, "sleep_logs") == [] and read(paths, "nights") == []
    assert existing_months(paths, "sleep_segments") == []


def test_same_landing_gives_byte_identical_tables(tmp_path: Path) -> None:
    first, second = StoragePaths(tmp_path / "a"), StoragePaths(tmp_path / "b")
    land_all_fixtures(first)
    land_all_fixtures(second)
    update_tables(first, tz=LA)
    again = update_tables(first, tz=LA)
    assert again.files_written == 0 and again.bytes_written == 0
    # the same landing reached through date-by-date updates in another order gives the very same bytes.
    for path in sorted(second.raw_sleep_dir.glob("*.json"), reverse=True):
        update_tables(second, [date.fromisoformat(path.stem.removeprefix("date="))], tz=LA)
    assert snapshot(first) == snapshot(second)
    assert set(snapshot(first)) >= {
        "sleep_logs/month=2024-03/part-0.parquet",
        "nights/month=2024-11/part-0.parquet",
    }


def test_an_update_rewrites_only_the_touched_months(tmp_path: Path) -> None:
    from fitbit_sandbox.generator import generate_history

    paths = StoragePaths(tmp_path)
    land_logs(paths, generate_history(3, 200, date(2024, 6, 30), LA))
    update_tables(paths, tz=LA)
    before = {p: p.stat().st_mtime_ns for p in paths.tables_dir.rglob("*.parquet")}
    last = generate_history(4, 3, date(2024, 6, 30), LA)  # other content for the last 3 days
    dates = land_logs(paths, last, fetched_at=datetime(2024, 7, 1, tzinfo=UTC))
    result = update_tables(paths, dates, tz=LA)
    assert result.months == ["2024-06", "2024-07"]  # D+1 of June 30: a log may have moved there (no file)
    touched = {p for p in paths.tables_dir.rglob("*.parquet") if before.get(p) != p.stat().st_mtime_ns}
    assert {p.parent.name for p in touched} <= {"month=2024-05", "month=2024-06"}
    assert any(p.parent.name == "month=2024-06" for p in touched)
    ids = [r["log_id"] for r in read(paths, "sleep_logs")]
    assert len(ids) == len(set(ids))
    assert {log["logId"] for log in last} <= set(ids)


def test_quarantine_table_and_counts(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    land_fixture(paths, "malformed.json", default_day=date(2024, 4, 2))
    result = update_tables(paths, tz=LA)
    assert result.quarantined == 5 and result.logs == 1
    assert result.unknown_keys == {"someNewField": 1, "levels.data[].confidence": 1}
    rows = read(paths, "quarantine")
    assert len(rows) == 5 and {r["date"] for r in rows} == {date(2024, 4, 2)}
    assert all(r["reason"] and r["raw"] for r in rows)


def test_pending_and_empty_days_and_profile_timezone(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    paths.state_dir.mkdir(parents=True)
    paths.profile_file.write_text(json.dumps({"user_id": "X", "timezone": "Europe/Berlin"}))
    land_fixture(paths, "nap_and_main.json", pending=True)
    land_on(paths, date(2024, 3, 16), [], datetime(2024, 3, 17, tzinfo=UTC))
    result = update_tables(paths)
    assert result.tz == "Europe/Berlin" and result.logs == 2  # pending data is shown; it is just not final
    assert {r["tz"] for r in read(paths, "sleep_logs")} == {"Europe/Berlin"}
    nights = {n["night_date"]: n for n in read(paths, "nights")}
    assert set(nights) == {date(2024, 3, 14), date(2024, 3, 15)}
    main = nights[date(2024, 3, 14)]
    assert main["is_weekend"] is False and nights[date(2024, 3, 15)]["is_weekend"] is True  # a Friday evening
    assert main["minutes_lost"] == main["time_in_bed"] - main["minutes_asleep"]
    shares = main["deep_share"] + main["light_share"] + main["rem_share"] + main["wake_share"]
    assert abs(shares - 1) < 0.001


def test_nap_joins_the_night_and_bedtime_is_the_main_sleep(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    logs = fixture_logs("nap_and_main.json")
    main, nap = logs
    # a main sleep the evening after the nap: the nap (night_date 03-15) joins that night.
    evening = dict(
        main, logId=40000000999, startTime="2024-03-15T23:10:00.000", endTime="2024-03-16T06:05:00.000"
    )
    evening["dateOfSleep"] = "2024-03-16"
    evening["levels"] = {"data": [], "summary": main["levels"]["summary"]}
    evening["levels"]["data"] = [
        dict(
            s, dateTime=s["dateTime"].replace("2024-03-15", "2024-03-16").replace("2024-03-14", "2024-03-15")
        )
        for s in main["levels"]["data"]
    ]
    land_logs(paths, [main, nap, evening])
    update_tables(paths, tz=LA)
    night = {n["night_date"]: n for n in read(paths, "nights")}[date(2024, 3, 15)]
    assert night["main_log_id"] == 40000000999 and night["nap_count"] == 1 and night["nap_minutes"] == 38
    # the night's numbers are its main sleep's; the nap is counted apart, and in the total.
    assert night["minutes_asleep"] == evening["minutesAsleep"]
    assert night["total_minutes_asleep"] == evening["minutesAsleep"] + nap["minutesAsleep"]
    assert night["bedtime_local"] == datetime(2024, 3, 15, 23, 10)


@pytest.mark.parametrize("day", [date(2024, 5, 14), date(2024, 5, 31)], ids=["same-month", "month-boundary"])
def test_a_log_moved_to_the_next_date_leaves_no_phantom(tmp_path: Path, day: date) -> None:
    from fitbit_sandbox.generator import generate_history

    paths = StoragePaths(tmp_path)
    after = day + timedelta(days=1)
    [log] = [
        g
        for g in generate_history(5, 5, day + timedelta(days=2), LA)
        if g["dateOfSleep"] == day.isoformat() and g["isMainSleep"]
    ]
    first = datetime(2024, 6, 10, tzinfo=UTC)
    land_on(paths, day, [log], first)
    land_on(paths, after, [], first)
    update_tables(paths, [day, after], tz=LA)
    # upstream, the log's end moved past midnight: only the new date is fetched again; the old file keeps its copy.
    moved = dict(log, dateOfSleep=after.isoformat())
    land_on(paths, after, [moved], first + timedelta(days=2))
    result = update_tables(paths, [after], tz=LA)
    assert result.superseded == 1 and result.quarantined == 0
    assert [(r["log_id"], r["date_of_sleep"]) for r in read(paths, "sleep_logs")] == [(log["logId"], after)]
    assert {s["date_of_sleep"] for s in read(paths, "sleep_segments")} == {after}
    [night] = read(paths, "nights")
    assert night["log_count"] == 1 and night["minutes_asleep"] == log["minutesAsleep"]
    assert read(paths, "quarantine") == []
    # and a full rebuild from raw agrees.
    before = snapshot(paths)
    assert update_tables(paths, tz=LA).files_written == 0 and snapshot(paths) == before


def nights_of(paths: StoragePaths, *fixtures: str) -> dict[date, dict[str, Any]]:
    for name in fixtures:
        land_fixture(paths, name)
    update_tables(paths, tz=LA)
    return {n["night_date"]: n for n in read(paths, "nights")}


def test_night_model_split_night_is_one_main_sleep_with_the_wake_counted_awake(tmp_path: Path) -> None:
    """22:30-00:55, then 02:30-05:45 (95 min awake between): one main sleep, bedtime 22:30, wake 05:45, no nap."""
    night = nights_of(StoragePaths(tmp_path), "split_night.json")[date(2024, 3, 20)]
    assert night["main_log_ids"] == [40000000201, 40000000202] and night["part_count"] == 2
    assert night["nap_count"] == 0 and night["fitbit_main_count"] == 1
    assert (night["bedtime_local"], night["waketime_local"]) == (
        datetime(2024, 3, 20, 22, 30),
        datetime(2024, 3, 21, 5, 45),
    )
    assert night["split_gap_minutes"] == 95
    assert night["minutes_asleep"] == 140 + 190
    assert night["time_in_bed"] == 145 + 95 + 195  # the wake between the parts is time in bed, awake
    assert night["minutes_lost"] == night["time_in_bed"] - night["minutes_asleep"]
    assert night["main_log_id"] == 40000000202  # the longer part


def test_night_model_main_sleep_is_the_longest_whatever_fitbit_flagged(tmp_path: Path) -> None:
    """Fitbit flags a 16:57 sleep main and the real night not; an evening doze and the night both main."""
    nights = nights_of(StoragePaths(tmp_path), "afternoon_main.json", "two_mains.json", "classic_era.json")
    # the night Fitbit did not flag is still that night's main sleep
    assert nights[date(2024, 5, 11)]["main_log_ids"] == [40000000911]
    assert nights[date(2024, 5, 11)]["main_is_fitbit_main"] is False
    # the afternoon "main" sleep is a nap of the coming night, whose own log is its main sleep (no 16:57 bedtime)
    evening = nights[date(2024, 5, 12)]
    assert evening["fitbit_main_count"] == 2 and evening["main_log_ids"] == [40000000913]
    assert evening["nap_count"] == 1 and evening["bedtime_local"] == datetime(2024, 5, 12, 23, 5)
    # two logs flagged main on one night: one main sleep, the 20:05 doze (2.5 h before bed) a nap
    doze = nights[date(2024, 5, 20)]
    assert doze["fitbit_main_count"] == 2 and doze["main_log_ids"] == [40000000922] and doze["nap_count"] == 1
    # the classic era: inferred flags, same model
    assert nights[date(2016, 11, 7)]["main_log_ids"] == [40000000803]
    assert nights[date(2016, 11, 7)]["nap_minutes"] == 42
    # never two main sleeps a night, every log in exactly one night
    for night in nights.values():
        assert night["main_log_id"] in night["main_log_ids"]
        assert night["part_count"] + night["nap_count"] == night["log_count"] == len(night["log_ids"])
