"""Physiology tables and nightly_physiology from hand-written landings: samples typed and sorted, out-of-range bpm
and the SpO2 sentinel quarantined, HR while asleep from the main sleep's asleep segments only (short wakes excluded),
one source per night, daily values on the night that ended that day."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from pipeline.landing import land_day
from pipeline.paths import StoragePaths
from pipeline.physiology_landing import land_physiology_day
from pipeline.physiology_tables import update_physiology_tables
from pipeline.tables import update_tables
from pipeline.warehouse import build_warehouse, connect_readonly

SLEEP = Path(__file__).parents[1] / "fixtures" / "sleep" / "nap_and_main.json"
AT = datetime(2024, 3, 20, 8, 0, tzinfo=UTC)
D14, D15 = date(2024, 3, 14), date(2024, 3, 15)


def intraday(day: date, samples: list[tuple[str, Any]]) -> dict[str, Any]:
    return {
        "activities-heart": [{"dateTime": day.isoformat(), "value": {"heartRateZones": []}}],
        "activities-heart-intraday": {
            "dataset": [{"time": t, "value": v} for t, v in samples],
            "datasetInterval": 1,
            "datasetType": "minute",
        },
    }


def land_all(paths: StoragePaths) -> None:
    """The fixture night 2024-03-14 23:10 -> 03-15 06:05 (stages; short wakes 00:10-00:11 and 04:00-04:02) and a
    nap on 03-15 14:02-14:47 (its own night 03-15, also ending on 03-15)."""
    land_day(
        paths, D15, json.loads(SLEEP.read_text())["sleep"], source="api", source_ref="fixture", fetched_at=AT
    )

    def put(kind: str, day: date, doc: dict[str, Any], source: str = "api") -> None:
        land_physiology_day(paths, kind, day, doc, source=source, source_ref="fixture", fetched_at=AT)

    # 03-14 from the API: 2 samples asleep (23:20 light, 23:50 deep); 23:12 is in the first wake segment
    put("heart_rate_intraday", D14, intraday(D14, [("23:12:00", 66), ("23:20:00", 60), ("23:50:00", 50)]))
    # 03-15 from an archive: 4 samples asleep -> the night's one source; the others are in wakes or after waking
    put(
        "heart_rate_intraday",
        D15,
        intraday(
            D15,
            [
                ("00:10:30", 70),  # short wake
                ("00:50:00", 58),  # light
                ("01:35:00", 64),  # rem
                ("02:05:00", 80),  # wake segment
                ("03:45:00", 52),  # deep
                ("04:00:30", 75),  # short wake
                ("04:20:00", 231),  # out of range: quarantined
                ("05:20:00", 60.4),  # light (a float, rounded)
                ("24:00:00", 61),  # not a time of the day: quarantined
                ("06:02:00", 70),  # final wake
                ("14:20:00", 90),  # the nap (classic, asleep?) is another night
            ],
        ),
        source="export",
    )
    put(
        "heart_rate_daily",
        D15,
        {"activities-heart": [{"dateTime": "2024-03-15", "value": {"restingHeartRate": 57}}]},
    )
    put("hrv", D15, {"hrv": [{"dateTime": "2024-03-15", "value": {"dailyRmssd": 34.9, "deepRmssd": 31.5}}]})
    put("spo2", D15, {"dateTime": "2024-03-15", "value": {"avg": 95.7, "min": 50, "max": 97.6}})
    put(
        "breathing_rate",
        D15,
        {
            "br": [
                {
                    "dateTime": "2024-03-15",
                    "value": {
                        "deepSleepSummary": {"breathingRate": 14.8},
                        "remSleepSummary": {"breathingRate": 16.9},
                        "fullSleepSummary": {"breathingRate": 15.6},
                        "lightSleepSummary": {"breathingRate": 15.4},
                    },
                }
            ]
        },
    )
    put(
        "skin_temp",
        D15,
        {"tempSkin": [{"dateTime": "2024-03-15", "value": {"nightlyRelative": -0.3}, "logType": "x"}]},
    )


@pytest.fixture
def built(tmp_path: Path) -> StoragePaths:
    paths = StoragePaths(tmp_path)
    land_all(paths)
    update_tables(paths, tz="Europe/Berlin")
    result = update_physiology_tables(paths)
    assert result.samples == 12 and result.samples_out_of_range == 1 and result.samples_unreadable == 1
    assert result.spo2_sentinels == 1
    build_warehouse(paths)
    return paths


def test_heart_rate_samples_are_typed_sorted_and_one_month_file(built: StoragePaths) -> None:
    table = pq.read_table(built.table_dir("heart_rate") / "month=2024-03" / "part-0.parquet")
    assert str(table.schema.field("ts_local").type) == "timestamp[ms]"  # Parquet has no seconds unit
    assert str(table.schema.field("bpm").type) == "uint8"
    ts = table.column("ts_local").to_pylist()
    assert ts == sorted(ts) and ts[0] == datetime(2024, 3, 14, 23, 12)
    assert 60 in table.column("bpm").to_pylist() and 231 not in table.column("bpm").to_pylist()


def test_quarantine_keeps_what_was_dropped(built: StoragePaths) -> None:
    with connect_readonly(built) as con:
        rows = con.execute("SELECT kind, reason, value FROM physiology_quarantine ORDER BY reason").fetchall()
    assert rows == [
        ("spo2", "SpO2 50 = no reading (sentinel)", '{"min": 50}'),
        ("heart_rate_intraday", "bpm outside 25-220", '{"time": "04:20:00", "value": 231}'),
        ("heart_rate_intraday", "time or value unreadable", '{"time": "24:00:00", "value": 61}'),
    ]


def test_nightly_physiology_of_the_main_sleep(built: StoragePaths) -> None:
    with connect_readonly(built) as con:
        cur = con.execute("SELECT * FROM nightly_physiology ORDER BY night_date")
        names = [d[0] for d in cur.description or []]
        nights = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    assert [n["night_date"] for n in nights] == [D14, D15]
    main, nap_night = nights
    assert main["main_log_id"] == 40000000101 and main["wake_date"] == D15
    # the archive's 4 samples asleep beat the API's 2: one source, never both
    assert main["hr_source"] == "export" and main["hr_samples_asleep"] == 4
    assert main["hr_mean_asleep"] == pytest.approx((58 + 64 + 52 + 60) / 4, abs=0.05)
    assert main["hr_min_asleep"] == 52
    assert (main["hr_mean_deep"], main["hr_mean_light"], main["hr_mean_rem"]) == (52, 59, 64)
    assert (main["resting_hr"], main["resting_hr_source"]) == (57, "api")
    assert main["hrv_rmssd"] == pytest.approx(34.9) and main["hrv_deep_rmssd"] == pytest.approx(31.5)
    assert main["spo2_avg"] == pytest.approx(95.7) and main["spo2_min"] is None  # the sentinel is no reading
    assert main["breathing_rate"] == pytest.approx(15.6) and main["breathing_rate_deep"] == pytest.approx(
        14.8
    )
    assert main["skin_temp_delta"] == pytest.approx(-0.3) and main["skin_temp_source"] == "api"
    # the nap's night also ended on 03-15: the day's resting HR, but not the main sleep's nightly measures
    assert nap_night["resting_hr"] == 57 and nap_night["hrv_rmssd"] is None and nap_night["spo2_avg"] is None


def test_rebuilding_is_byte_identical(built: StoragePaths) -> None:
    files = sorted(built.tables_dir.glob("*/month=*/part-0.parquet"))
    before = {f: f.read_bytes() for f in files}
    result = update_physiology_tables(built, [D15])
    assert result.files_written == 0 and result.files_unchanged > 0
    assert {f: f.read_bytes() for f in files} == before
