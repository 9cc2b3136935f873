"""Physiology tables and nightly_physiology from hand-written landings: samples typed and sorted, out-of-range bpm
and the SpO2 sentinel quarantined, HR while asleep from the main sleep's asleep segments only (short wakes excluded),
one source per night, daily values on the night that ended that day."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.paths import StoragePaths
from pipeline.physiology_tables import update_physiology_tables
from pipeline.tables import update_tables
from pipeline.warehouse import build_warehouse, connect_readonly
from tests.pipeline.physiology_fixtures import D14, D15, land_all


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
