"""The v4 data point -> canonical v1.2 log mapping (pipeline/sources/google_health/mapping.py).

Fixtures (tests/fixtures/google_health/) follow the live shapes of the reference (§3.2): a Pixel stages night at
+09:00, a manual classic log, a reconcile answer (``dataPointName``, duplicated ``stagesSummary``), a night across a
DST change, an in-progress and an unprocessed session. Field and enum names are pinned to the official
``google-devicesandservices-health`` types: every fixture parses with unknown fields refused.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from google.devicesandservices import health_v4

from fitbit_sandbox.generator import generate_history
from fitbit_sandbox.google_points import main_flags, to_data_point
from pipeline.sources.google_health.mapping import (
    INFO_CODE,
    STAGE_LEVEL,
    MappingError,
    is_finished,
    log_id,
    seconds,
    to_log,
    wake_date,
)
from pipeline.transform import KNOWN_LEVEL_VALUES, KNOWN_LOG_KEYS
from tests.clock import TEST_TODAY

FIXTURES = Path(__file__).parents[2] / "fixtures" / "google_health"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.mark.parametrize(
    "name", ["stages", "manual_classic", "reconciled_nap", "dst_spring", "in_progress", "unprocessed"]
)
def test_fixtures_are_valid_v4_json_for_the_official_types(name: str) -> None:
    point = fixture(name)
    message = health_v4.ReconciledDataPoint if "dataPointName" in point else health_v4.DataPoint
    parsed = message.from_json(json.dumps(point), ignore_unknown_fields=False)
    assert parsed.sleep.interval.start_time is not None


def test_enum_names_are_the_official_ones() -> None:
    stage_types = set(health_v4.Sleep.SleepStageType.__members__)
    assert set(STAGE_LEVEL) | {"AWAKE"} <= stage_types
    states = set(health_v4.Sleep.SleepMetadata.StagesState.__members__)
    assert set(INFO_CODE) == states - {"STAGES_STATE_UNSPECIFIED"}
    assert {"MANUAL", "DERIVED"} <= set(health_v4.DataSource.RecordingMethod.__members__)
    summary_fields = set(health_v4.Sleep.SleepSummary.meta.fields)
    assert summary_fields == {
        "minutes_in_sleep_period", "minutes_after_wake_up", "minutes_to_fall_asleep", "minutes_asleep",
        "minutes_awake", "stages_summary",
    }  # fmt: skip
    metadata_fields = set(health_v4.Sleep.SleepMetadata.meta.fields)
    assert {
        "stages_status",
        "processed",
        "main_sleep",
        "nap",
        "manually_edited",
        "external_id",
    } == metadata_fields


def test_stages_night_maps_times_from_its_offsets_and_numbers_from_strings() -> None:
    log = to_log(fixture("stages"))
    assert set(log) <= set(KNOWN_LOG_KEYS)
    assert log["logId"] == 8808518358174752984
    assert (log["startTime"], log["endTime"]) == ("2026-09-26T13:09:00.000", "2026-09-26T17:23:00.000")
    assert log["dateOfSleep"] == "2026-09-26"
    assert (log["type"], log["isMainSleep"], log["logType"], log["infoCode"]) == (
        "stages",
        True,
        "auto_detected",
        0,
    )
    assert (log["timeInBed"], log["duration"], log["minutesAsleep"], log["minutesAwake"]) == (
        254,
        254 * 60000,
        248,
        6,
    )
    assert log["levels"]["summary"] == {
        "wake": {"count": 1, "minutes": 6}, "light": {"count": 6, "minutes": 146},
        "deep": {"count": 3, "minutes": 48}, "rem": {"count": 3, "minutes": 54},
    }  # fmt: skip
    data = log["levels"]["data"]
    assert len(data) == 13 and sum(seg["seconds"] for seg in data) == 254 * 60
    assert data[0] == {"dateTime": "2026-09-26T13:09:00.000", "level": "wake", "seconds": 360}
    assert {seg["level"] for seg in data} == {"wake", "light", "deep", "rem"}
    # a short awakening typed LIGHT (seen live) is still a wake; 90 s keeps its half minute
    assert log["levels"]["shortData"] == [
        {"dateTime": "2026-09-26T13:16:00.000", "level": "wake", "seconds": 60},
        {"dateTime": "2026-09-26T14:02:00.000", "level": "wake", "seconds": 90},
    ]
    assert "efficiency" not in log  # v4 has none; the tables compute theirs
    assert log["provenance"] == {"family": "google-health", "file": fixture("stages")["name"]}


def test_manual_classic_log() -> None:
    log = to_log(fixture("manual_classic"))
    assert (log["type"], log["logType"], log["infoCode"], log["isMainSleep"]) == (
        "classic",
        "manual",
        3,
        False,
    )
    assert log["dateOfSleep"] == "2026-04-05"  # 02:39 UTC + 2 h
    assert log["levels"]["summary"] == {
        "asleep": {"count": 1, "minutes": 480}, "awake": {"count": 0, "minutes": 0},
        "restless": {"count": 0, "minutes": 0},
    }  # fmt: skip
    assert log["levels"]["data"] == [
        {"dateTime": "2026-04-04T20:39:00.000", "level": "asleep", "seconds": 28800}
    ]


def test_reconciled_classic_nap_dedupes_the_summary_and_counts_restless_as_awake() -> None:
    log = to_log(fixture("reconciled_nap"))
    assert log["logId"] == 1000000000000000017
    assert log["levels"]["summary"]["restless"] == {"count": 1, "minutes": 5}
    assert log["minutesAwake"] == 15  # v1.2 counts restless + awake; v4's minutesAwake (10) counts AWAKE only
    assert log["infoCode"] == 2
    assert [seg["level"] for seg in log["levels"]["data"]] == ["restless", "asleep", "awake"]
    assert log["startTime"] == "2026-03-08T14:00:00.000"


def test_dst_night_keeps_the_wall_times_of_each_offset() -> None:
    log = to_log(fixture("dst_spring"))
    assert (log["startTime"], log["endTime"]) == ("2026-03-07T23:00:00.000", "2026-03-08T07:00:00.000")
    assert [seg["dateTime"] for seg in log["levels"]["data"]] == [
        "2026-03-07T23:00:00.000", "2026-03-08T04:00:00.000",
    ]  # fmt: skip
    assert log["timeInBed"] == 420


def test_unfinished_sessions_are_not_mapped() -> None:
    running, unprocessed = fixture("in_progress"), fixture("unprocessed")
    assert not is_finished(running) and not is_finished(unprocessed)
    assert wake_date(running) is None
    assert str(wake_date(unprocessed)) == "2026-11-20"
    for point in (running, unprocessed):
        with pytest.raises(MappingError, match="not finished"):
            to_log(point)


def test_small_parsers() -> None:
    assert seconds("-18000s") == -18000 and seconds("0s") == 0 and seconds("1.5s") == 2
    with pytest.raises(MappingError):
        seconds("3600")
    assert log_id("users/a/dataTypes/sleep/dataPoints/9999999999999999999") < 2**63
    with pytest.raises(MappingError):
        log_id("users/a/dataTypes/sleep/dataPoints/abc")


def test_the_sandbox_history_round_trips_except_what_v12_itself_lacks() -> None:
    """Every log of two years through the sandbox's v4 encoding and back: only the documented differences remain
    (the classic era's missing isMainSleep/logType, and classic minutesAwake where v1.2's own sum leaves out the
    restless minutes)."""
    tz = "America/Los_Angeles"
    logs = generate_history(42, 730, TEST_TODAY, tz)
    flags = main_flags(logs)
    differing: Counter[str] = Counter()
    for original in logs:
        mapped = to_log(
            to_data_point(original, zone=ZoneInfo(tz), seed=42, main_sleep=flags[original["logId"]])
        )
        for key in set(original) | set(mapped):
            if key in ("logId", "efficiency", "provenance"):
                continue
            if key == "levels":
                summary = {
                    k: {"count": v["count"], "minutes": v["minutes"]}
                    for k, v in original[key]["summary"].items()
                }
                assert summary == mapped[key]["summary"]
                assert original[key]["data"] == mapped[key]["data"]
                assert original[key].get("shortData", []) == mapped[key]["shortData"]
                assert {seg["level"] for seg in mapped[key]["data"]} <= set(KNOWN_LEVEL_VALUES) | {"unknown"}
                continue
            if original.get(key) != mapped.get(key):
                differing[key] += 1
                if key == "minutesAwake":
                    s = original["levels"]["summary"]
                    assert original["type"] == "classic"
                    assert mapped[key] == s["restless"]["minutes"] + s["awake"]["minutes"] != original[key]
                else:
                    assert key in ("isMainSleep", "logType") and key not in original
    assert set(differing) <= {"isMainSleep", "logType", "minutesAwake"}
    assert differing["isMainSleep"] > 0  # the history has a classic era
