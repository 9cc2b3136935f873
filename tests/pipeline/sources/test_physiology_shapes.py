"""The v1.2 day documents every archive reader builds, and the cell rules they share."""

from __future__ import annotations

from datetime import date, datetime

from pipeline.sources import physiology_shapes as shapes


def test_no_reading_values_give_no_field() -> None:
    assert shapes.number("NaN") is None and shapes.number("") is None and shapes.number("x") is None
    assert shapes.number("63.5") == 63.5 and shapes.number(True) is None
    assert shapes.spo2_value("50") is None and shapes.spo2_value(50.0) is None
    assert shapes.spo2_value("50.1") == 50.1
    assert shapes.spo2(date(2026, 4, 10), None, 93.0, 98.0) is None  # no average: no document
    assert shapes.spo2(date(2026, 4, 10), 95.0, None, 98.0) == {
        "dateTime": "2026-04-10",
        "value": {"avg": 95.0, "max": 98.0},
    }
    assert shapes.hrv(date(2026, 4, 10), None, 30.0) is None
    assert shapes.skin_temp(date(2026, 4, 10), None) is None


def test_label_date_is_the_local_date_even_with_a_z() -> None:
    assert shapes.label_date("2026-04-10T00:00:00Z") == date(2026, 4, 10)
    assert shapes.label_date("2026-04-10") == date(2026, 4, 10)
    assert shapes.label_date("garbage") is None


def test_local_datetime_converts_instants_and_keeps_local_times() -> None:
    assert shapes.local_datetime("2026-04-13T22:10:00Z", "Asia/Tokyo") == datetime(2026, 4, 14, 7, 10)
    assert shapes.local_datetime("2026-04-12 05:45:30+0000", "America/New_York") == datetime(
        2026, 4, 12, 1, 45, 30
    )
    assert shapes.local_datetime("2026-04-10T03:05:00", "Asia/Tokyo") == datetime(2026, 4, 10, 3, 5)
    assert shapes.local_datetime("04/10/26", "UTC") is None


def test_night_groups_report_a_night_on_the_date_it_ended() -> None:
    rows = [
        (datetime(2026, 4, 10, 23, 50), {"n": 3}),
        (datetime(2026, 4, 9, 23, 55), {"n": 1}),
        (datetime(2026, 4, 10, 0, 5), {"n": 2}),
        (datetime(2026, 4, 11, 0, 10), {"n": 4}),
    ]
    assert shapes.night_groups(rows) == {
        date(2026, 4, 10): [{"n": 1}, {"n": 2}],
        date(2026, 4, 11): [{"n": 3}, {"n": 4}],
    }


def test_breathing_rate_has_the_full_sleep_and_the_stages_it_was_given() -> None:
    doc = shapes.breathing_rate(date(2026, 4, 14), 14.7, {"deep": 13.8, "light": None, "rem": 15.6})
    assert doc == {
        "br": [
            {
                "value": {
                    "breathingRate": 14.7,
                    "fullSleepSummary": {"breathingRate": 14.7},
                    "deepSleepSummary": {"breathingRate": 13.8},
                    "remSleepSummary": {"breathingRate": 15.6},
                },
                "dateTime": "2026-04-14",
            }
        ]
    }
    assert shapes.breathing_rate(date(2026, 4, 14), None, {"deep": 13.8}) is None


def test_combine_merges_minutes_into_the_summary_and_keeps_the_first_summary() -> None:
    day = date(2026, 4, 10)
    summary = shapes.DayDocument(shapes.HRV, day, shapes.hrv(day, 41.2, None) or {}, {"file": "a.csv"})
    second = shapes.DayDocument(shapes.HRV, day, shapes.hrv(day, 99.0, None) or {}, {"file": "b.csv"})
    minutes = [{"minute": "2026-04-10T00:00:00", "value": {"rmssd": 45.3}}]
    details = shapes.DayDocument(
        shapes.HRV_INTRADAY, day, shapes.hrv_intraday(day, minutes) or {}, {"file": "c.csv"}, samples=1
    )
    oxygen = shapes.DayDocument(
        shapes.SPO2_INTRADAY, day, shapes.spo2_intraday(day, [{"value": 95.5, "minute": "x"}]) or {}, {}
    )
    combined, dropped = shapes.combine([details, summary, second, oxygen])
    assert dropped == 1
    assert [(d.kind, d.day) for d in combined] == [(shapes.HRV, day), (shapes.SPO2, day)]
    hrv = combined[0]
    assert hrv.document == {
        "hrv": [{"minutes": minutes, "dateTime": "2026-04-10", "value": {"dailyRmssd": 41.2}}]
    }
    assert hrv.provenance["file"] == "c.csv, a.csv"
    assert combined[1].document == {"dateTime": "2026-04-10", "minutes": [{"value": 95.5, "minute": "x"}]}
