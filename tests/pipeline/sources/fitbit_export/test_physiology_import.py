"""One archive import lands sleep AND physiology: every quirk of the hand-written fixture archive, re-import, precedence.

The fixture (``tests/pipeline/sources/fixtures/physiology_archive``) is a Takeout folder holding both generations,
written by hand from the shapes of ``real-fitbit-data.md`` §3 (no real data). Its profile says America/New_York
(UTC-4 in April).
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pipeline.paths import StoragePaths
from pipeline.physiology_landing import land_physiology_day, read_physiology_day
from pipeline.sources.fitbit_export.importer import import_archive

FIXTURE = Path(__file__).parents[1] / "fixtures" / "physiology_archive"


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    copy = tmp_path / "takeout"
    shutil.copytree(FIXTURE, copy)
    return copy


def _payload(paths: StoragePaths, kind: str, day: str) -> dict:  # type: ignore[type-arg]
    record = read_physiology_day(paths, kind, date.fromisoformat(day))
    assert record is not None, f"{kind} {day} did not land"
    return record


def _dataset(record: dict) -> list[tuple[str, int]]:  # type: ignore[type-arg]
    return [(r["time"], r["value"]) for r in record["payload"]["activities-heart-intraday"]["dataset"]]


def test_one_import_lands_sleep_and_every_physiology_kind(tmp_path: Path, archive: Path) -> None:
    paths = StoragePaths(tmp_path / "data")
    summary = import_archive(paths, archive)
    assert summary.logs == 1 and summary.timezone == "America/New_York"
    assert summary.physio_files == 16  # Device Temperature is not read
    assert summary.physio_days == {
        "breathing_rate": 3,
        "heart_rate_daily": 2,
        "heart_rate_intraday": 5,
        "hrv": 4,
        "skin_temp": 2,
        "spo2": 3,
    }
    assert summary.physio_outcomes == {"written": 19}

    # legacy heart rate: UTC with 2-digit years -> local New York times; the repeated second kept once
    legacy = _payload(paths, "heart_rate_intraday", "2026-04-10")
    assert _dataset(legacy) == [
        ("00:00:03", 63),
        ("00:00:08", 61),
        ("00:00:23", 60),
        ("11:30:01", 88),
        ("20:10:00", 71),
        ("23:59:59", 57),
    ]
    assert legacy["source"] == "export" and legacy["source_ref"] == "takeout"
    assert legacy["provenance"] == {
        "source_family": "export-json",
        "file": "Takeout/Fitbit/Global Export Data/heart_rate-2026-04-10.json",
    }
    # a bpm written as text (the streaming path) and a truncated file (the samples before the damage)
    assert _dataset(_payload(paths, "heart_rate_intraday", "2026-04-11")) == [
        ("00:00:05", 58),
        ("00:00:12", 56),
        ("05:45:00", 95),
    ]
    assert _dataset(_payload(paths, "heart_rate_intraday", "2026-04-12")) == [
        ("00:00:01", 59),
        ("00:00:11", 58),
    ]
    assert any("heart_rate-2026-04-12.json is damaged after 2 records" in p for p in summary.problems)

    # Google-era CSV: local days from UTC files, the band wins 04-13 over the phone, never a sum
    google = _payload(paths, "heart_rate_intraday", "2026-04-13")
    assert _dataset(google) == [("01:00:00", 55), ("01:00:09", 54), ("01:00:20", 54), ("01:00:30", 53)]
    assert google["provenance"]["data_source"] == "Inspire 3"
    assert google["provenance"]["source_family"] == "export-csv"
    assert _dataset(_payload(paths, "heart_rate_intraday", "2026-04-14")) == [
        ("02:00:00", 52),
        ("02:00:05", 53),
    ]
    assert summary.hr_samples == 6 + 3 + 2 + 4 + 2
    assert summary.hr_samples_other_sources == 4  # the phone: 3 samples of 04-13, 1 of 04-12
    assert summary.hr_samples_dropped == 2  # the repeated second + the row whose timestamp cannot be read
    assert summary.physio_other_family >= 1  # local 04-12 is in both generations: the legacy JSON won

    # resting heart rate: the 0.0 placeholder of 04-11 is no reading
    resting = _payload(paths, "heart_rate_daily", "2026-04-10")["payload"]
    assert resting["activities-heart"][0]["value"]["restingHeartRate"] == 63.6
    assert read_physiology_day(paths, "heart_rate_daily", date(2026, 4, 11)) is None

    # HRV: the classic summary + its 5-min details for 04-10 (the night that ended then), the Google CSV's
    # dailyRmssd/deepRmssd where it has the date (T00:00:00Z = the local date)
    hrv10 = _payload(paths, "hrv", "2026-04-10")["payload"]["hrv"][0]
    assert hrv10["value"] == {"dailyRmssd": 41.235}
    assert [m["minute"] for m in hrv10["minutes"]] == [
        "2026-04-09T23:55:00",
        "2026-04-10T00:00:00",
        "2026-04-10T00:10:00",
    ]
    assert hrv10["minutes"][0]["value"] == {"rmssd": 44.1, "coverage": 0.91, "hf": 610.2, "lf": 820.5}
    # both generations have 04-11: the Google-era summary wins, the classic details add the minutes it lacks
    hrv11 = _payload(paths, "hrv", "2026-04-11")
    assert hrv11["payload"]["hrv"][0]["value"] == {"dailyRmssd": 37.9, "deepRmssd": 33.1}
    assert [m["minute"] for m in hrv11["payload"]["hrv"][0]["minutes"]] == [
        "2026-04-10T23:50:00",
        "2026-04-11T00:00:00",
    ]
    assert hrv11["provenance"]["source_family"] == "export-csv"
    assert "Heart Rate Variability Details - 2026-04-10.csv" in hrv11["provenance"]["file"]
    hrv13 = _payload(paths, "hrv", "2026-04-13")
    assert hrv13["payload"]["hrv"][0]["value"] == {"dailyRmssd": 35.2, "deepRmssd": 31.4}
    assert hrv13["provenance"]["data_source"] == "Inspire 3"

    # SpO2: 50 = no reading (a whole day, or one bound); minute rows of 50 dropped
    spo2_10 = _payload(paths, "spo2", "2026-04-10")["payload"]
    assert spo2_10["value"] == {"avg": 95.7, "min": 93.1, "max": 98.2}
    assert spo2_10["minutes"] == [
        {"value": 95.5, "minute": "2026-04-10T02:01:00"},
        {"value": 96.0, "minute": "2026-04-10T02:03:00"},
    ]
    assert read_physiology_day(paths, "spo2", date(2026, 4, 11)) is None
    assert _payload(paths, "spo2", "2026-04-12")["payload"]["value"] == {"avg": 96.1, "max": 98.9}
    assert read_physiology_day(paths, "spo2", date(2026, 4, 13)) is None

    # breathing rate: the Google CSV's session end (11:05Z) is 07:05 local on 04-14; milli-breaths scaled
    br = _payload(paths, "breathing_rate", "2026-04-14")["payload"]["br"][0]["value"]
    assert br["fullSleepSummary"] == {"breathingRate": 14.7} and br["deepSleepSummary"] == {
        "breathingRate": 13.8
    }
    assert (
        _payload(paths, "breathing_rate", "2026-04-10")["payload"]["br"][0]["value"]["breathingRate"] == 14.6
    )

    # skin temperature: Computed Temperature's mean deviation; the Google file's NaN night has no document
    assert _payload(paths, "skin_temp", "2026-04-10")["payload"]["tempSkin"][0]["value"] == {
        "nightlyRelative": -0.3
    }
    assert _payload(paths, "skin_temp", "2026-04-14")["payload"]["tempSkin"][0]["value"] == {
        "nightlyRelative": -0.28
    }
    assert read_physiology_day(paths, "skin_temp", date(2026, 4, 13)) is None
    assert summary.physio_no_reading >= 6

    assert summary.physio_files_damaged == 1
    assert sorted(summary.physiology_changed)[0] == date(2026, 4, 10)


def test_reimport_changes_nothing(tmp_path: Path, archive: Path) -> None:
    paths = StoragePaths(tmp_path / "data")
    import_archive(paths, archive)
    raw = sorted(paths.raw_physiology_dir.rglob("*"))
    before = {p: p.read_bytes() for p in raw if p.is_file()}
    again = import_archive(paths, archive)
    assert again.physio_outcomes == {"unchanged": 19} and not again.physiology_changed
    assert {p: p.read_bytes() for p in raw if p.is_file()} == before


def test_dates_the_api_landed_keep_the_api_data(tmp_path: Path, archive: Path) -> None:
    paths = StoragePaths(tmp_path / "data")
    api_doc = {"hrv": [{"value": {"dailyRmssd": 50.0, "deepRmssd": 45.0}, "dateTime": "2026-04-13"}]}
    land_physiology_day(
        paths, "hrv", date(2026, 4, 13), api_doc, source="api", source_ref=None, fetched_at=datetime.now(UTC)
    )
    summary = import_archive(paths, archive)
    assert summary.physio_days_kept == 1
    assert _payload(paths, "hrv", "2026-04-13")["payload"] == api_doc


def test_an_unreadable_file_is_one_problem_and_the_rest_lands(tmp_path: Path, archive: Path) -> None:
    paths = StoragePaths(tmp_path / "data")
    bad = archive / "Takeout/Fitbit/Physical Activity_GoogleData/daily_oxygen_saturation.csv"
    bad.write_bytes(b"\xff\xfe not text \x00")
    summary = import_archive(paths, archive)
    lines = [p for p in summary.problems if "daily_oxygen_saturation.csv" in p]
    assert len(lines) == 1 and "not UTF-8" in lines[0]
    assert summary.physio_files_damaged == 2
    assert read_physiology_day(paths, "spo2", date(2026, 4, 10)) is not None
    assert read_physiology_day(paths, "hrv", date(2026, 4, 14)) is not None


def test_a_zip_bomb_heart_rate_member_is_named_and_the_rest_lands(tmp_path: Path) -> None:
    import zipfile

    paths = StoragePaths(tmp_path / "data")
    archive = tmp_path / "takeout.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(FIXTURE.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(FIXTURE).as_posix())
        # 20 MB of spaces deflates ~1000:1: past the reader's 100x inflation cap once past its 8 MB floor
        zf.writestr(
            "Takeout/Fitbit/Global Export Data/heart_rate-2026-04-09.json", b"[" + b" " * 20_000_000 + b"]"
        )
    summary = import_archive(paths, archive)
    lines = [p for p in summary.problems if "heart_rate-2026-04-09.json" in p]
    assert len(lines) == 1 and "inflates more than 100x" in lines[0]
    assert summary.physio_days["heart_rate_intraday"] == 5
    assert read_physiology_day(paths, "hrv", date(2026, 4, 10)) is not None
