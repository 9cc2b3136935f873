"""The Google-era Takeout physiology CSVs: several data sources per file, local-date labels, sentinels, NaN."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipeline.sources.takeout_csv import physiology as google

GOOGLE = (
    Path(__file__).parents[1]
    / "fixtures"
    / "physiology_archive"
    / "Takeout"
    / "Fitbit"
    / "Physical Activity_GoogleData"
)


def test_heart_rate_csv_keeps_every_source_and_both_timestamp_spellings() -> None:
    result = google.read_heart_rate_csv((GOOGLE / "heart_rate_2026-04-13.csv").read_bytes())
    assert result.samples is not None and result.damage is None
    rows = result.samples.to_pylist()
    assert {r["source"] for r in rows} == {"Inspire 3", "Pixel 8 (Health Connect)"}
    stamps = [r["utc"].strftime("%H:%M:%S") if r["utc"] else None for r in rows]
    assert stamps.count(None) == 1  # "not a time"
    assert "05:00:09" in stamps and "05:00:20" in stamps  # fractional seconds, +0000


def test_heart_rate_csv_without_a_source_column_and_unreadable_files() -> None:
    result = google.read_heart_rate_csv(b"timestamp,beats per minute\n2026-04-13T00:00:01Z,80.0\n")
    assert result.samples is not None and result.samples.to_pylist()[0]["source"] == ""
    assert result.samples.to_pylist()[0]["bpm"] == 80
    assert "no 'timestamp'" in (google.read_heart_rate_csv(b"a,b\n1,2\n").damage or "")
    short = google.read_heart_rate_csv(b"timestamp,beats per minute,data source\n2026-04-13T00:00:01Z\n")
    assert short.unreadable == 1


def test_daily_hrv_label_is_the_local_date_and_one_source_per_date() -> None:
    result = google.read_daily_hrv(
        (GOOGLE / "daily_heart_rate_variability.csv").read_bytes(), "h", "Asia/Tokyo"
    )
    assert [d.day for d in result.documents] == [date(2026, 4, 11), date(2026, 4, 13), date(2026, 4, 14)]
    assert result.documents[1].document["hrv"][0]["value"] == {"dailyRmssd": 35.2, "deepRmssd": 31.4}
    # a date only the second source measured still gets that source's row
    data = b"timestamp,average heart rate variability milliseconds,data source\n" + b"\n".join(
        [b"2026-04-01T00:00:00Z,30,band", b"2026-04-02T00:00:00Z,31,band", b"2026-04-03T00:00:00Z,40,phone"]
    )
    days = google.read_daily_hrv(data, "h", "UTC").documents
    assert [(d.day.day, d.provenance["data_source"]) for d in days] == [
        (1, "band"),
        (2, "band"),
        (3, "phone"),
    ]


def test_spo2_sentinel_and_temperature_nan_are_no_reading() -> None:
    spo2 = google.read_daily_spo2((GOOGLE / "daily_oxygen_saturation.csv").read_bytes(), "s", "UTC")
    assert [d.day for d in spo2.documents] == [date(2026, 4, 14)] and spo2.no_reading == 1
    temp = google.read_temperature(
        (GOOGLE / "daily_sleep_temperature_derivations.csv").read_bytes(), "t", "UTC"
    )
    assert [d.day for d in temp.documents] == [date(2026, 4, 14)] and temp.no_reading == 1


def test_respiratory_rate_is_dated_by_the_local_end_of_the_session() -> None:
    data = (GOOGLE / "respiratory_rate_sleep_summary_2026-04-14.csv").read_bytes()
    data = data.replace(b"2026-04-14T11:05:00Z", b"2026-04-13T22:10:00Z")  # 07:10 on 04-14 in Tokyo
    (doc,) = google.read_respiratory_rate(data, "r", "Asia/Tokyo").documents
    assert doc.day == date(2026, 4, 14)
    value = doc.document["br"][0]["value"]
    assert value["breathingRate"] == 14.7
    assert value["lightSleepSummary"] == {"breathingRate": 14.9} and value["remSleepSummary"] == {
        "breathingRate": 15.6
    }
    plain = b"timestamp,full sleep breaths per minute,deep sleep breaths per minute,data source\n2026-04-14T11:05:00Z,15.5,,band\n"
    (one,) = google.read_respiratory_rate(plain, "r", "UTC").documents
    assert one.document["br"][0]["value"] == {
        "breathingRate": 15.5,
        "fullSleepSummary": {"breathingRate": 15.5},
    }
