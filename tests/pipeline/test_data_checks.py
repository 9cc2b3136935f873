"""pipeline/checks.py (the file name differs from tests/dagster_project/test_checks.py: pytest needs unique basenames).

The data checks: Fitbit's quirks (hand-written fixtures) only warn, and each blocking check fails on a planted
fault of the kind our own code could make."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pytest
from landing_fixtures import land_all_fixtures, land_fixture

from pipeline.checks import DATA_CHECKS, CheckOutcome, describe, run_checks
from pipeline.paths import StoragePaths
from pipeline.tables import update_tables

LA = "America/Los_Angeles"
BLOCKING = {c.name for c in DATA_CHECKS if c.blocking}


def outcomes(paths: StoragePaths, window: tuple[date, date] | None = None) -> dict[str, CheckOutcome]:
    return {o.name: o for o in run_checks(paths, window, asset=None)}


@pytest.fixture
def quirky(tmp_path: Path) -> StoragePaths:
    """Every hand-written fixture (classic era, quirks, malformed records) landed and tabled."""
    paths = StoragePaths(tmp_path)
    land_all_fixtures(paths)
    update_tables(paths, tz=LA)
    return paths


def test_fitbit_quirks_warn_with_counts_and_examples_and_block_nothing(quirky: StoragePaths) -> None:
    found = outcomes(quirky)
    assert all(found[name].passed for name in BLOCKING), {n: found[n].metadata for n in BLOCKING}
    segments = found["segments_add_up"]
    assert not segments.passed and segments.metadata["off_by_one_epoch"] == 1
    assert segments.metadata["off_by_more"] == 0
    assert "log 40000000901: segments 32400 s vs duration 32340 s (+60 s)" in segments.metadata["examples"]
    minutes = found["minutes_add_up"]
    assert not minutes.passed and minutes.metadata["classic_mismatched"] == 1
    assert minutes.metadata["stages_mismatched"] == 0
    assert "classic log 40000000803: in bed 450 vs asleep+awake 434" in minutes.metadata["examples"]
    unknown = found["unknown_levels"]
    assert (
        not unknown.passed and unknown.metadata["logs"] == 1 and "'unknown'" in unknown.metadata["examples"]
    )
    long = found["long_main_sleeps"]
    assert (
        not long.passed
        and long.metadata["long_main_sleeps"] == 1
        and "40000000931" in long.metadata["examples"]
    )
    quarantine = found["quarantine_empty"]
    assert not quarantine.passed and quarantine.metadata["quarantined"] == 5
    assert describe(segments).startswith("segments_add_up: logs checked ")


def test_a_clean_history_passes_every_check(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    for name in ("nap_and_main.json", "split_night.json", "dst_fall.json"):
        land_fixture(paths, name)
    update_tables(paths, tz=LA)
    found = outcomes(paths)
    assert all(o.passed for o in found.values()), {n: o.metadata for n, o in found.items() if not o.passed}


def _rewrite(paths: StoragePaths, table: str, statement: str) -> None:
    """Apply ``statement`` to table ``t`` (every month file of ``table``, one at a time) and write it back."""
    for file in sorted(paths.table_dir(table).glob("month=*/*.parquet")):
        con = duckdb.connect()
        con.execute("CREATE TABLE t AS SELECT * FROM read_parquet(?)", [str(file)])
        con.execute(statement)
        tmp = file.with_suffix(".tmp")
        con.execute(f"COPY t TO '{tmp}' (FORMAT parquet)")
        con.close()
        tmp.replace(file)


def duplicate_a_log(paths: StoragePaths) -> None:
    _rewrite(paths, "sleep_logs", "INSERT INTO t SELECT * FROM t WHERE log_id = 40000000101")


def count_a_log_in_two_nights(paths: StoragePaths) -> None:
    _rewrite(
        paths,
        "nights",
        "UPDATE t SET log_ids = list_append(log_ids, 40000000101) WHERE night_date = '2024-03-20'",
    )


def overlap_two_logs(paths: StoragePaths) -> None:
    _rewrite(
        paths,
        "sleep_logs",
        "INSERT INTO t SELECT * REPLACE (log_id + 7 AS log_id) FROM t WHERE log_id = 40000000101",
    )


def keep_a_row_raw_dropped(paths: StoragePaths) -> None:
    raw = paths.raw_sleep_file(date(2024, 3, 15))
    record = json.loads(raw.read_text())
    record["payload"]["sleep"] = [log for log in record["payload"]["sleep"] if log["logId"] != 40000000102]
    raw.write_text(json.dumps(record))


def lose_a_landed_log(paths: StoragePaths) -> None:
    _rewrite(paths, "sleep_logs", "DELETE FROM t WHERE log_id = 40000000102")


def misfile_a_raw_log(paths: StoragePaths) -> None:
    raw = paths.raw_sleep_file(date(2024, 3, 15))
    record = json.loads(raw.read_text())
    record["payload"]["sleep"][0]["dateOfSleep"] = "2024-03-16"
    raw.write_text(json.dumps(record))


FAULTS: dict[str, Callable[[StoragePaths], None]] = {
    "log_id_unique": duplicate_a_log,
    "log_in_one_night": count_a_log_in_two_nights,
    "no_overlapping_logs": overlap_two_logs,
    "table_dates_inside_run_window": keep_a_row_raw_dropped,
    "landed_logs_in_tables": lose_a_landed_log,
    "raw_dates_inside_run_window": misfile_a_raw_log,
}


def test_every_blocking_check_has_a_planted_fault() -> None:
    assert set(FAULTS) == BLOCKING


@pytest.mark.parametrize("check", sorted(FAULTS))
def test_a_planted_fault_fails_its_blocking_check(tmp_path: Path, check: str) -> None:
    paths = StoragePaths(tmp_path)
    for name in ("nap_and_main.json", "split_night.json"):
        land_fixture(paths, name)
    update_tables(paths, tz=LA)
    window = (date(2024, 3, 14), date(2024, 3, 22))
    assert outcomes(paths, window)[check].passed
    FAULTS[check](paths)
    failed = outcomes(paths, window)[check]
    assert not failed.passed and failed.blocking, failed.metadata
    assert failed.metadata["examples"], failed.metadata


def test_malformed_api_records_are_quarantined_and_no_check_crashes(tmp_path: Path) -> None:
    """Null/text logIds, non-objects and a raw file that is not an object: every check answers, nothing lost."""
    from pipeline.landing import land_fetch
    from tests.pipeline.test_landing import Fetch, fixture_logs

    paths = StoragePaths(tmp_path)
    good = fixture_logs("nap_and_main.json")
    odd = [{**good[1], "logId": None}, {**good[1], "logId": "abc"}, "not an object", None, 5, [1]]
    land_fetch(paths, Fetch(date(2024, 3, 14), date(2024, 3, 16), [good[0], *odd]))  # type: ignore[list-item]
    paths.raw_sleep_file(date(2024, 3, 17)).write_text('["a list, not a raw record"]')
    result = update_tables(paths, tz=LA)
    assert result.logs == 1 and result.quarantined == len(odd) + 1
    found = outcomes(paths, (date(2024, 3, 14), date(2024, 3, 17)))
    assert not any("error" in o.metadata for o in found.values()), {n: o.metadata for n, o in found.items()}
    assert all(found[name].passed for name in BLOCKING), {n: found[n].metadata for n in BLOCKING}
    assert found["quarantine_empty"].metadata["quarantined"] == len(odd) + 1


def test_a_check_that_raises_fails_with_its_cause_instead_of_crashing_the_run(tmp_path: Path) -> None:
    from pipeline.checks import Check

    def broken(_inp: object) -> tuple[bool, dict[str, object]]:
        raise TypeError("int() argument must be a string, not 'NoneType'")

    check = Check("planted", "sleep_tables", "raises", broken, blocking=True)  # type: ignore[arg-type]
    [outcome] = run_checks(StoragePaths(tmp_path), checks=(check,))
    assert not outcome.passed
    assert describe(outcome) == (
        "planted: (e.g. planted could not finish: TypeError: int() argument must be a string, not 'NoneType')"
    )
