"""The physiology checks pass on good tables and fail, each, on a planted fault."""

from __future__ import annotations

import gzip
import json
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline.checks import CheckInputs, evaluate
from pipeline.paths import StoragePaths
from pipeline.physiology_checks import PHYSIOLOGY_CHECKS, physiology_con
from pipeline.physiology_tables import SCHEMAS
from pipeline.tables import _parquet_bytes, partition_file
from tests.pipeline.physiology_fixtures import D15, build_all

BY_NAME = {c.name: c for c in PHYSIOLOGY_CHECKS}


@pytest.fixture
def built(tmp_path: Path) -> StoragePaths:
    paths = StoragePaths(tmp_path)
    build_all(paths)
    return paths


def verdicts(paths: StoragePaths, window: tuple[date, date] | None = None) -> dict[str, tuple[bool, dict]]:
    with CheckInputs(paths, window) as inputs:
        return {c.name: evaluate(c, inputs) for c in PHYSIOLOGY_CHECKS}


def test_good_tables_pass_the_blocking_checks_and_the_warnings_count_the_quirks(built: StoragePaths) -> None:
    found = verdicts(built)
    for check in PHYSIOLOGY_CHECKS:
        if check.blocking:
            assert found[check.name][0], (check.name, found[check.name][1])
    passed, quarantine = found["physiology_quarantine_empty"]
    assert not passed and quarantine["quarantined"] == 3
    assert quarantine["heart_rate_intraday: bpm outside 25-220"] == 1
    passed, two = found["nights_with_two_sources"]
    assert not passed and two["nights"] == 1 and "api + export, 2 samples set aside" in two["examples"]
    assert found["one_source_per_night"][1]["nights_checked"] == 2
    assert found["samples_inside_their_day"][1]["samples"] == 12


def _replace_heart_rate(paths: StoragePaths, rows: list[tuple[datetime, int, str]]) -> None:
    table = pa.table(
        {
            "ts_local": pa.array([r[0] for r in rows], pa.timestamp("s")),
            "bpm": pa.array([r[1] for r in rows], pa.uint8()),
            "source": pa.array([r[2] for r in rows])
            .dictionary_encode()
            .cast(SCHEMAS["heart_rate"].field("source").type),
        }
    )
    partition_file(paths, "heart_rate", "2024-03").write_bytes(_parquet_bytes(table))


def test_a_bpm_out_of_range_in_the_table_blocks(built: StoragePaths) -> None:
    _replace_heart_rate(built, [(datetime(2024, 3, 15, 1, 0), 12, "api")])
    passed, facts = verdicts(built)["values_plausible"]
    assert not passed and facts["bpm_out_of_range"] == 1


def test_a_sample_outside_its_files_day_blocks(built: StoragePaths) -> None:
    _replace_heart_rate(built, [(datetime(2024, 3, 16, 1, 0), 60, "api")])  # no file for 03-16
    passed, facts = verdicts(built)["samples_inside_their_day"]
    assert not passed and "2024-03-16: 1 samples in heart_rate, 0 in its file" in facts["examples"]


def test_a_document_about_another_date_blocks(built: StoragePaths) -> None:
    target = built.raw_physiology_file("heart_rate_intraday", D15)
    record = json.loads(gzip.decompress(target.read_bytes()))
    record["payload"]["activities-heart"][0]["dateTime"] = "2024-03-16"
    target.write_bytes(gzip.compress(json.dumps(record).encode()))
    passed, facts = verdicts(built, (D15, D15))["documents_on_their_date"]
    assert not passed and "heart_rate_intraday 2024-03-15: holds 2024-03-16" in facts["examples"]


def test_a_night_mixing_two_sources_blocks(built: StoragePaths) -> None:
    with CheckInputs(built, None) as inputs:
        con = physiology_con(inputs)
        mixed = con.execute(
            "SELECT sql FROM duckdb_views() WHERE view_name = 'nightly_physiology'"
        ).fetchone()
        assert mixed is not None
        # a nightly_physiology that forgot the one-source rule: it counts every sample asleep
        con.execute(
            "CREATE OR REPLACE VIEW nightly_physiology AS "
            + mixed[0].split(" AS ", 1)[1].replace("WHERE a.chosen", "")
        )
        passed, facts = evaluate(BY_NAME["one_source_per_night"], inputs)
    assert not passed and facts["nights_mixing_sources"] == 1


def test_a_data_root_without_physiology_passes_every_check(tmp_path: Path) -> None:
    found = verdicts(StoragePaths(tmp_path), (date(2024, 1, 1), date(2024, 1, 2)))
    assert all(passed for passed, _ in found.values()), found
