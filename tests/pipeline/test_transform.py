"""The vectorised transform: columns, efficiency, short wakes, unknown levels, DST, night_date, quarantine."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from landing_fixtures import fixture_logs, land_all_fixtures, land_fixture, land_logs, land_on

from pipeline.landing import land_day, landed_files
from pipeline.paths import StoragePaths
from pipeline.transform import TransformResult, transform_files

LA = "America/Los_Angeles"


def run(paths: StoragePaths, tz: str = LA, night_offset_hours: int = 12) -> TransformResult:
    return transform_files([p for _, p in landed_files(paths)], tz=tz, night_offset_hours=night_offset_hours)


@pytest.fixture
def everything(tmp_path: Path) -> TransformResult:
    paths = StoragePaths(tmp_path)
    land_all_fixtures(paths)
    return run(paths)


def logs_by_id(result: TransformResult) -> dict[int, dict]:
    return {row["log_id"]: row for row in result.sleep_logs.to_pylist()}


def test_one_row_per_log_with_our_efficiency(everything: TransformResult) -> None:
    logs = logs_by_id(everything)
    main = logs[40000000101]
    assert main["date_of_sleep"] == date(2024, 3, 15) and main["night_date"] == date(2024, 3, 14)
    assert main["is_main_sleep"] and main["type"] == "stages" and main["tz"] == LA
    # ours: asleep / in bed; the API's value (93 in the fixture) is kept apart.
    assert main["efficiency"] == round(100 * main["minutes_asleep"] / main["time_in_bed"], 2)
    assert main["api_efficiency"] == 93 and main["efficiency"] != 93
    assert main["deep_minutes"] + main["light_minutes"] + main["rem_minutes"] == main["minutes_asleep"]
    assert main["ingested_at"] == datetime(2024, 12, 1, 6, 0, tzinfo=UTC)
    nap = logs[40000000102]
    assert not nap["is_main_sleep"] and nap["type"] == "classic" and nap["info_code"] == 2
    assert nap["asleep_minutes"] == 38 and nap["deep_minutes"] is None
    assert nap["night_date"] == date(2024, 3, 15)


def test_short_wakes_overlay_data_and_are_never_summed(everything: TransformResult) -> None:
    segments = [s for s in everything.sleep_segments.to_pylist() if s["log_id"] == 40000000101]
    data = [s for s in segments if not s["is_short"]]
    short = [s for s in segments if s["is_short"]]
    assert len(short) == 2 and all(s["level"] == "wake" for s in short)
    main = logs_by_id(everything)[40000000101]
    assert sum(s["seconds"] for s in data) * 1000 == main["duration_ms"]
    assert [s["seq"] for s in data] == list(range(len(data)))


def test_unknown_level_is_kept_and_counted(everything: TransformResult) -> None:
    levels = {s["level"] for s in everything.sleep_segments.to_pylist() if s["log_id"] == 40000000301}
    assert "unknown" in levels
    assert everything.unknown_levels == {"unknown": 1}
    assert logs_by_id(everything)[40000000301]["unknown_minutes"] == 60


def test_classic_log(everything: TransformResult) -> None:
    log = logs_by_id(everything)[40000000401]
    assert log["type"] == "classic" and log["end_local"] == datetime(2017, 8, 30, 8, 19, 30)
    assert log["restless_minutes"] == 12 and log["awake_minutes"] == 5
    seconds = [s["seconds"] for s in everything.sleep_segments.to_pylist() if s["log_id"] == 40000000401]
    assert all(s % 60 == 0 for s in seconds)


def test_dst_gap_shifts_forward_and_fold_takes_the_first_occurrence(everything: TransformResult) -> None:
    utc = {
        (s["log_id"], s["start_local"]): s["start_utc"]
        for s in everything.sleep_segments.to_pylist()
        if s["log_id"] in (40000000501, 40000000601)
    }
    # spring forward 2024-03-10: 02:00 local does not exist -> shifted forward by the gap: 03:00 PDT = 10:00 UTC.
    assert utc[(40000000501, datetime(2024, 3, 10, 1, 30))] == datetime(2024, 3, 10, 9, 30, tzinfo=UTC)
    assert utc[(40000000501, datetime(2024, 3, 10, 2, 0))] == datetime(2024, 3, 10, 10, 0, tzinfo=UTC)
    assert utc[(40000000501, datetime(2024, 3, 10, 4, 30))] == datetime(2024, 3, 10, 11, 30, tzinfo=UTC)
    # fall back 2024-11-03: 01:30 happens twice -> the first one (PDT, UTC-7).
    assert utc[(40000000601, datetime(2024, 11, 3, 1, 30))] == datetime(2024, 11, 3, 8, 30, tzinfo=UTC)
    assert utc[(40000000601, datetime(2024, 11, 3, 2, 0))] == datetime(2024, 11, 3, 10, 0, tzinfo=UTC)
    fall = logs_by_id(everything)[40000000601]
    assert fall["start_utc"] == datetime(2024, 11, 3, 6, 30, tzinfo=UTC)


def test_night_offset_is_configurable(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    land_fixture(paths, "split_night.json")
    default = {r["log_id"]: r["night_date"] for r in run(paths).sleep_logs.to_pylist()}
    assert default == {40000000201: date(2024, 3, 20), 40000000202: date(2024, 3, 20)}
    midnight = {r["log_id"]: r["night_date"] for r in run(paths, night_offset_hours=0).sleep_logs.to_pylist()}
    assert midnight == {40000000201: date(2024, 3, 20), 40000000202: date(2024, 3, 21)}


def test_bad_records_are_quarantined_and_the_rest_lands(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    land_fixture(paths, "malformed.json", default_day=date(2024, 4, 2))
    result = run(paths)
    assert result.sleep_logs.column("log_id").to_pylist() == [40000000701]
    reasons = {r["log_id"]: r["reason"] for r in result.quarantine.to_pylist()}
    assert reasons[40000000702] == "missing duration"
    assert reasons[40000000703] == "minutesAsleep: expected an integer, got varchar"
    assert reasons[40000000704] == "endTime is before startTime"
    assert reasons[40000000705] == "levels.data[3]: seconds must be > 0"
    assert reasons[None].startswith("not a JSON object")
    assert result.quarantined == 5
    raw = {r["log_id"]: r["raw"] for r in result.quarantine.to_pylist()}
    assert '"minutesAsleep":"lots"' in raw[40000000703]
    assert all(r["date"] == date(2024, 4, 2) for r in result.quarantine.to_pylist())
    assert result.unknown_keys == {"someNewField": 1, "levels.data[].confidence": 1}
    # no segment of a quarantined log leaks into the segments table.
    assert set(result.sleep_segments.column("log_id").to_pylist()) == {40000000701}


def test_export_main_sleep_key_and_misfiled_dates(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    log = fixture_logs("nap_and_main.json")[0]
    exported = {("mainSleep" if k == "isMainSleep" else k): v for k, v in log.items()}
    land_logs(paths, [exported])
    # a log filed under another date than its dateOfSleep is quarantined rather than silently double-keyed.
    land_day(
        paths,
        date(2024, 3, 16),
        [dict(log, logId=1)],
        source="api",
        source_ref="/t",
        fetched_at=datetime.now(UTC),
    )
    result = run(paths)
    assert logs_by_id(result)[40000000101]["is_main_sleep"] is True
    assert [r["reason"] for r in result.quarantine.to_pylist()] == [
        "dateOfSleep 2024-03-15 differs from the landed date 2024-03-16"
    ]


def test_sandbox_history_obeys_the_invariants(tmp_path: Path) -> None:
    from fitbit_sandbox.generator import generate_history

    paths = StoragePaths(tmp_path)
    logs = generate_history(7, 120, date(2024, 6, 30), LA)
    land_logs(paths, logs)
    result = run(paths)
    assert result.quarantined == 0 and result.sleep_logs.num_rows == len(logs)
    rows = result.sleep_logs.to_pylist()
    assert len({r["log_id"] for r in rows}) == len(rows)
    data_seconds: dict[int, int] = {}
    for s in result.sleep_segments.to_pylist():
        if not s["is_short"]:
            data_seconds[s["log_id"]] = data_seconds.get(s["log_id"], 0) + s["seconds"]
    for r in rows:
        assert data_seconds[r["log_id"]] in (r["duration_ms"] // 1000, r["duration_ms"] // 1000 + 30)
        assert r["start_utc"] < r["end_utc"]
        assert r["night_date"] <= r["date_of_sleep"]


def test_a_damaged_raw_file_is_quarantined_and_the_rest_lands(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    land_fixture(paths, "split_night.json")
    land_fixture(paths, "classic.json")
    damaged = paths.raw_sleep_file(date(2017, 8, 30))
    damaged.write_text(damaged.read_text()[:200])
    result = run(paths)
    assert sorted(result.sleep_logs.column("log_id").to_pylist()) == [40000000201, 40000000202]
    [row] = result.quarantine.to_pylist()
    assert row["date"] == date(2017, 8, 30) and row["reason"] == "raw file is not valid JSON" and row["raw"]


def test_duplicate_log_ids_same_file_quarantined_other_file_newest_wins(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    log = fixture_logs("nap_and_main.json")[0]  # dateOfSleep 2024-03-15
    land_logs(paths, [log, log])  # the same logId twice in one answer: the second copy is suspicious
    result = run(paths)
    assert result.sleep_logs.column("log_id").to_pylist() == [log["logId"]]
    assert [r["reason"] for r in result.quarantine.to_pylist()] == [
        f"duplicate logId {log['logId']} in the same file"
    ]
    # a newer fetch of the next date holds the same log (moved upstream): it wins, the old copy is superseded,
    # and as a context file it gives no rows of its own.
    moved = dict(log, dateOfSleep="2024-03-16", minutesAsleep=log["minutesAsleep"] - 1)
    land_on(paths, date(2024, 3, 15), [log], datetime(2024, 12, 1, tzinfo=UTC))
    land_on(paths, date(2024, 3, 16), [moved], datetime(2024, 12, 3, tzinfo=UTC))
    old_file, new_file = paths.raw_sleep_file(date(2024, 3, 15)), paths.raw_sleep_file(date(2024, 3, 16))
    both = transform_files([old_file, new_file], tz=LA)
    assert [(r["date_of_sleep"], r["minutes_asleep"]) for r in both.sleep_logs.to_pylist()] == [
        (date(2024, 3, 16), log["minutesAsleep"] - 1)
    ]
    assert both.superseded == 1 and both.quarantined == 0
    alone = transform_files([old_file], tz=LA, context_files=[new_file])
    assert alone.sleep_logs.num_rows == 0 and alone.sleep_segments.num_rows == 0 and alone.superseded == 1
    assert transform_files([new_file], tz=LA, context_files=[old_file]).sleep_logs.num_rows == 1


def test_classic_era_logs_without_main_flag_land_and_main_sleep_is_inferred(tmp_path: Path) -> None:
    """Classic-era list/range answers carry no isMainSleep and no logType: nothing is quarantined, and the longest
    sleep of each dateOfSleep becomes its main sleep, marked as inferred (reference real-fitbit-data.md §1)."""
    paths = StoragePaths(tmp_path)
    land_fixture(paths, "classic_era.json")
    land_fixture(paths, "classic.json")  # carries Fitbit's flag: not inferred
    result = run(paths)
    assert result.quarantined == 0
    logs = logs_by_id(result)
    assert {i: (r["is_main_sleep"], r["main_sleep_inferred"]) for i, r in logs.items()} == {
        40000000801: (True, True),  # 436 min asleep: the longest of 2016-11-07
        40000000802: (False, True),  # the afternoon nap of the same date
        40000000803: (True, True),  # alone on 2016-11-08
        40000000401: (True, False),
    }
    assert logs[40000000801]["log_type"] is None and logs[40000000801]["type"] == "classic"
    # Fitbit's arithmetic is kept as given (420 + 14 != 450): the checks warn about it, the transform does not.
    quirky = logs[40000000803]
    assert (quirky["minutes_asleep"], quirky["minutes_awake"], quirky["time_in_bed"]) == (420, 14, 450)


def test_only_unreadable_logs_are_quarantined(tmp_path: Path) -> None:
    """No id, no times or an unparseable value: quarantined with the reason. Odd but readable: lands."""
    paths = StoragePaths(tmp_path)
    base = fixture_logs("classic_era.json")[2]
    odd = [
        dict(base, logId=40000000811, minutesAsleep=460, efficiency=102),  # asleep > in bed, efficiency > 100
        dict(base, logId=40000000812, isMainSleep=None),  # an explicit null flag: inferred
    ]
    broken = [
        {k: v for k, v in base.items() if k != "logId"},
        {k: v for k, v in dict(base, logId=40000000813).items() if k != "startTime"},
        dict(base, logId=40000000814, endTime="yesterday"),
        dict(base, logId=40000000815, isMainSleep="yes"),
    ]
    land_logs(paths, odd + broken)
    result = run(paths)
    assert sorted(logs_by_id(result)) == [40000000811, 40000000812]
    reasons = {r["log_id"]: r["reason"] for r in result.quarantine.to_pylist()}
    assert reasons == {
        None: "missing logId",
        40000000813: "missing startTime",
        40000000814: "endTime: not a local date-time",
        40000000815: "isMainSleep: expected a boolean, got varchar",
    }
    logs = logs_by_id(result)
    assert logs[40000000811]["efficiency"] > 100 and logs[40000000811]["is_main_sleep"]
    assert not logs[40000000812]["is_main_sleep"] and logs[40000000812]["main_sleep_inferred"]
