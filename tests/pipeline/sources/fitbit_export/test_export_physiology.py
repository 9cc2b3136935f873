"""The legacy archive's physiology readers, on hand-written files in the real shapes (real-fitbit-data.md §3)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from pipeline.sources.fitbit_export import physiology as legacy

ROOT = Path(__file__).parents[1] / "fixtures" / "physiology_archive" / "Takeout" / "Fitbit"
GLOBAL = ROOT / "Global Export Data"


def _rows(result: legacy.ReadResult) -> list[tuple[str, int]]:
    assert result.samples is not None
    return [
        (r["utc"].strftime("%Y-%m-%d %H:%M:%S"), r["bpm"]) for r in result.samples.to_pylist() if r["utc"]
    ]


def test_heart_rate_json_is_utc_with_two_digit_years() -> None:
    result = legacy.read_heart_rate_json((GLOBAL / "heart_rate-2026-04-10.json").read_bytes())
    assert result.damage is None
    assert _rows(result)[0] == ("2026-04-10 04:00:03", 63)
    assert _rows(result)[-1] == ("2026-04-11 03:59:59", 57)  # next UTC date, same local day (New York)
    assert len(_rows(result)) == 7  # the repeated second is removed later, per day (HeartRateDays)


def test_the_columnar_path_and_the_streaming_path_agree() -> None:
    data = (GLOBAL / "heart_rate-2026-04-10.json").read_bytes()
    assert legacy._json_lines(data) is not None  # the usual shape takes the columnar path
    streamed = legacy._heart_rate_streamed(data)
    assert _rows(streamed) == _rows(legacy.read_heart_rate_json(data))


def test_text_bpm_and_damage_take_the_streaming_path() -> None:
    text_bpm = legacy.read_heart_rate_json((GLOBAL / "heart_rate-2026-04-11.json").read_bytes())
    assert _rows(text_bpm)[0] == ("2026-04-11 04:00:05", 58) and text_bpm.damage is None
    truncated = legacy.read_heart_rate_json((GLOBAL / "heart_rate-2026-04-12.json").read_bytes())
    assert (
        len(_rows(truncated)) == 2 and truncated.damage is not None and "after 2 records" in truncated.damage
    )
    assert (
        legacy.read_heart_rate_json(b'{"not": "an array"}').damage
        == "does not hold a JSON array (expected '[')"
    )
    empty = legacy.read_heart_rate_json(b"[]")
    assert empty.damage is None and empty.samples is not None and len(empty.samples) == 0


def test_a_file_past_the_sample_limit_keeps_the_limit_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(legacy, "MAX_SAMPLES_PER_FILE", 3)
    rows = [{"dateTime": f"04/10/26 04:00:0{i}", "value": {"bpm": 60 + i, "confidence": 2}} for i in range(5)]
    for data in (json.dumps(rows).encode(), json.dumps(rows).replace('"bpm": 60', '"bpm": "60"').encode()):
        result = legacy.read_heart_rate_json(data)  # the columnar path, then the streaming one
        assert len(_rows(result)) == 3 and result.damage is not None and "more than 3" in result.damage


def test_resting_heart_rate_placeholders_are_no_reading() -> None:
    result = legacy.read_resting_heart_rate((GLOBAL / "resting_heart_rate-2026-04-10.json").read_bytes(), "f")
    assert [
        (d.day, d.document["activities-heart"][0]["value"]["restingHeartRate"]) for d in result.documents
    ] == [
        (date(2026, 4, 10), 63.6),
        (date(2026, 4, 12), 61.25),
    ]
    assert result.no_reading == 1 and result.documents[0].provenance["error"] == 6.8
    bad = legacy.read_resting_heart_rate(b'[{"dateTime":"yesterday","value":{}}, 3]', "f")
    assert bad.unreadable == 2 and not bad.documents


def test_classic_files_are_found_by_their_odd_names() -> None:
    names = [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.csv")]
    matched = {n for n in names for pattern, _ in legacy.CLASSIC_CSV_READERS if pattern.search(n)}
    assert "Heart Rate Variability/Daily Heart Rate Variability Summary - 2026-04-(10).csv" in matched
    assert "Oxygen Saturation (SpO2)/Daily SpO2 - 2026-04-10-2026-04-12.csv" in matched
    assert "Temperature/Device Temperature - 2026-04-10.csv" not in matched
    assert legacy.file_date("x/heart_rate-2026-04-31.json", legacy.HEART_RATE_JSON_RE) is None


def test_hrv_details_are_reported_on_the_date_the_night_ended() -> None:
    data = (ROOT / "Heart Rate Variability" / "Heart Rate Variability Details - 2026-04-10.csv").read_bytes()
    result = legacy.read_hrv_details(data, "d.csv", "America/New_York")
    assert [(d.day, d.samples) for d in result.documents] == [(date(2026, 4, 10), 3), (date(2026, 4, 11), 2)]
    assert result.no_reading == 1  # the row without an rmssd


def test_daily_spo2_sentinel_and_computed_temperature() -> None:
    spo2 = legacy.read_daily_spo2(
        (ROOT / "Oxygen Saturation (SpO2)" / "Daily SpO2 - 2026-04-10-2026-04-12.csv").read_bytes(), "s"
    )
    assert [d.day for d in spo2.documents] == [date(2026, 4, 10), date(2026, 4, 12)] and spo2.no_reading == 1
    temp = legacy.read_computed_temperature(
        (ROOT / "Temperature" / "Computed Temperature - 2026-04-10.csv").read_bytes(), "t", "America/New_York"
    )
    assert [(d.day, d.document["tempSkin"][0]["value"]["nightlyRelative"]) for d in temp.documents] == [
        (date(2026, 4, 10), -0.3)
    ]
    assert temp.no_reading == 1
    assert legacy.read_hrv_summary(b"\xff\xfe\x00", "x").damage is not None
