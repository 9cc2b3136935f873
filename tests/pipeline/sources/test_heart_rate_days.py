"""Heart-rate samples into local days: the zone, the completion rule, one data source per day, never a sum."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa

from pipeline.sources.heart_rate_days import HeartRateDays, samples_table


def _samples(rows: list[tuple[str | None, float | None, str]]) -> pa.Table:
    stamps = [datetime.fromisoformat(t).replace(tzinfo=UTC) if t else None for t, _, _ in rows]
    return samples_table(
        pa.array(stamps, pa.timestamp("s", tz="UTC")),
        pa.array([b for _, b, _ in rows], pa.float64()),
        pa.array([s for _, _, s in rows], pa.string()),
    )


def _dataset(doc: dict) -> list[tuple[str, int]]:  # type: ignore[type-arg]
    return [(row["time"], row["value"]) for row in doc["activities-heart-intraday"]["dataset"]]


def test_samples_become_local_days_with_local_times() -> None:
    days = HeartRateDays("America/New_York", "export-json")
    days.add(
        _samples(
            [
                ("2026-04-10T04:00:03", 63, ""),
                ("2026-04-11T03:59:59", 57, ""),
                ("2026-04-11T04:00:00", 58, ""),
            ]
        ),
        "heart_rate-2026-04-10.json",
    )
    docs = list(days.finish())
    assert [d.day for d in docs] == [date(2026, 4, 10), date(2026, 4, 11)]
    assert _dataset(docs[0].document) == [("00:00:03", 63), ("23:59:59", 57)]
    assert docs[0].document["activities-heart"][0]["dateTime"] == "2026-04-10"
    assert docs[0].document["activities-heart-intraday"]["datasetType"] == "second"
    assert docs[0].provenance == {"source_family": "export-json", "file": "heart_rate-2026-04-10.json"}
    assert days.counts.samples == 3 and days.counts.days == 2


def test_the_repeated_hour_of_a_dst_fall_back_appears_twice_in_time_order() -> None:
    days = HeartRateDays("America/New_York", "export-json")
    # 2026-11-01: 01:30 EDT (05:30Z) then 01:30 EST (06:30Z)
    days.add(_samples([("2026-11-01T06:30:00", 60, ""), ("2026-11-01T05:30:00", 70, "")]), "f")
    (doc,) = list(days.finish())
    assert _dataset(doc.document) == [("01:30:00", 70), ("01:30:00", 60)]


def test_a_day_is_emitted_once_the_file_of_the_next_date_is_read() -> None:
    days = HeartRateDays("Pacific/Kiritimati", "export-csv")  # UTC+14: local 04-13 starts at 04-12 10:00Z
    days.add(_samples([("2026-04-12T09:00:00", 60, "band"), ("2026-04-12T11:00:00", 61, "band")]), "d12")
    assert list(days.complete(before=date(2026, 4, 12))) == []  # local 04-12 may go on in the next UTC file
    days.add(_samples([("2026-04-13T09:00:00", 62, "band")]), "d13")
    (done,) = list(days.complete(before=date(2026, 4, 13)))
    assert done.day == date(2026, 4, 12) and _dataset(done.document) == [("23:00:00", 60)]
    (doc,) = list(days.finish())
    assert doc.day == date(2026, 4, 13) and _dataset(doc.document) == [("01:00:00", 61), ("23:00:00", 62)]
    assert doc.provenance["file"] == "d12, d13"


def test_one_source_per_day_the_one_with_most_samples_never_a_sum() -> None:
    days = HeartRateDays("UTC", "export-csv")
    days.add(
        _samples(
            [
                ("2026-04-13T00:00:01", 80, "Inspire 3"),
                ("2026-04-13T00:00:06", 84, "Pixel 8"),
                ("2026-04-13T00:00:06", 79, "Inspire 3"),
                ("2026-04-13T00:00:14", 78, "Inspire 3"),
                ("2026-04-14T00:00:01", 70, "Pixel 8"),
                ("2026-04-14T00:00:02", 71, "Charge 6"),
            ]
        ),
        "f",
    )
    first, second = list(days.finish())
    assert _dataset(first.document) == [("00:00:01", 80), ("00:00:06", 79), ("00:00:14", 78)]
    assert first.provenance["data_source"] == "Inspire 3"
    # a tie: the first name in sort order, the same on every import
    assert second.provenance["data_source"] == "Charge 6" and _dataset(second.document) == [("00:00:02", 71)]
    assert days.counts.other_source_samples == 2 and days.counts.samples == 4


def test_duplicates_strays_and_unreadable_rows_are_counted_not_landed() -> None:
    days = HeartRateDays("UTC", "export-json")
    days.add(
        _samples([("2026-04-10T01:00:00", 60, ""), ("2026-04-10T01:00:00", 66, ""), (None, 70, "")]), "a"
    )
    days.add(_samples([("2026-04-10T02:00:00", None, "")]), "a")
    (doc,) = list(days.complete(before=date(2026, 4, 11)))
    assert _dataset(doc.document) == [("01:00:00", 60)]
    days.add(_samples([("2026-04-10T05:00:00", 61, ""), ("2026-04-11T05:00:00", 62, "")]), "b")
    (late,) = list(days.finish())
    assert late.day == date(2026, 4, 11)
    assert (days.counts.duplicates, days.counts.unreadable, days.counts.strays) == (1, 2, 1)
