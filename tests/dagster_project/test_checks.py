"""Every blocking asset check can fail in a Dagster run: corrupt one raw file or one Parquet table, run the checks,
see it fail and fail the run (tests/pipeline/test_checks.py tests the rules themselves, and that Fitbit's quirks
only warn).

Why corrupt files instead of feeding bad data through the sandbox: the sandbox (like Fitbit) sends consistent logs and
the pipeline writes consistent tables, so these checks guard against bugs and damaged files. The only way to know a
check would catch one is to plant one. A 20-day range is landed once from the real sandbox; each case copies it,
damages one thing, and runs the checks of both assets for the same run window.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dagster import AssetSelection, DagsterInstance, Definitions, define_asset_job

from fitbit_sandbox.config import SandboxConfig
from fitbit_sandbox.server import SandboxServer
from tests.clock import TEST_TODAY
from tests.dagster_project.dagster_helpers import login_to, project_defs, range_tags

END = TEST_TODAY - timedelta(days=2)
START = END - timedelta(days=19)
BLOCKING = {
    "raw_dates_inside_run_window",
    "log_id_unique",
    "log_in_one_night",
    "no_overlapping_logs",
    "table_dates_inside_run_window",
    "landed_logs_in_tables",
}


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data root holding START..END landed and tabled by the daily job against a real sandbox."""
    home = tmp_path_factory.mktemp("landed") / "home"
    with SandboxServer(SandboxConfig(days=60, auto_approve=True, today=TEST_TODAY)) as sandbox:
        login_to(sandbox, home)
        defs = project_defs(home, sandbox)
        with DagsterInstance.ephemeral() as instance:
            job = defs.resolve_job_def("sleep_daily_job")
            assert job.execute_in_process(instance=instance, tags=range_tags(START, END)).success
    yield home


def _run_checks(home: Path) -> tuple[bool, dict[str, Any]]:
    """Only the checks of raw_sleep and sleep_tables, for the run window START..END."""
    defs = project_defs(home)
    checks_only = define_asset_job("checks_only", selection=AssetSelection.all_asset_checks())
    job = Definitions.merge(defs, Definitions(jobs=[checks_only])).resolve_job_def("checks_only")
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, tags=range_tags(START, END), raise_on_error=False)
    return result.success, {e.check_name: e for e in result.get_asset_check_evaluations()}


def _a_main_sleep(home: Path) -> tuple[int, date, Path]:
    """log_id, dateOfSleep and Parquet month file of one main sleep inside the window."""
    files = [str(p) for p in (home / "tables" / "sleep_logs").glob("month=*/*.parquet")]
    con = duckdb.connect()
    log_id, day, file = con.execute(
        "SELECT log_id, date_of_sleep, filename FROM read_parquet(?, filename = true) "
        "WHERE is_main_sleep AND date_of_sleep BETWEEN ? AND ? ORDER BY date_of_sleep LIMIT 1",
        [files, START + timedelta(days=5), END],
    ).fetchone()  # type: ignore[misc]
    con.close()
    return int(log_id), day, Path(file)


def _rewrite_parquet(file: Path, *statements: str) -> None:
    """Apply SQL statements to table ``t`` loaded from ``file`` and write it back in place."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM read_parquet(?)", [str(file)])
    for statement in statements:
        con.execute(statement)
    tmp = file.with_suffix(".tmp")
    con.execute(f"COPY t TO '{tmp}' (FORMAT parquet)")
    con.close()
    tmp.replace(file)


def _month_file(home: Path, table: str, like: Path) -> Path:
    return home / "tables" / table / like.parent.name / like.name


def _edit_raw(home: Path, day: date, edit: Callable[[dict[str, Any]], None]) -> None:
    path = home / "raw" / "sleep" / f"date={day.isoformat()}.json"
    record = json.loads(path.read_text())
    edit(record)
    path.write_text(json.dumps(record))


def duplicate_log(home: Path) -> None:
    log_id, _, file = _a_main_sleep(home)
    _rewrite_parquet(file, f"INSERT INTO t SELECT * FROM t WHERE log_id = {log_id}")


def count_in_two_nights(home: Path) -> None:
    log_id, _, file = _a_main_sleep(home)
    nights = next((home / "tables" / "nights").glob("month=*/*.parquet"))
    _rewrite_parquet(nights, f"UPDATE t SET log_ids = list_append(log_ids, {log_id})")


def lose_a_landed_log(home: Path) -> None:
    log_id, _, file = _a_main_sleep(home)
    _rewrite_parquet(file, f"DELETE FROM t WHERE log_id = {log_id}")


def overlapping_copy(home: Path) -> None:
    log_id, _, file = _a_main_sleep(home)
    _rewrite_parquet(
        file, f"INSERT INTO t SELECT * REPLACE (log_id + 7 AS log_id) FROM t WHERE log_id = {log_id}"
    )


def drop_log_from_raw(home: Path) -> None:
    log_id, day, _ = _a_main_sleep(home)

    def edit(record: dict[str, Any]) -> None:
        record["payload"]["sleep"] = [log for log in record["payload"]["sleep"] if log["logId"] != log_id]

    _edit_raw(home, day, edit)


def misfile_raw_log(home: Path) -> None:
    _, day, _ = _a_main_sleep(home)

    def edit(record: dict[str, Any]) -> None:
        record["payload"]["sleep"][0]["dateOfSleep"] = (day + timedelta(days=1)).isoformat()

    _edit_raw(home, day, edit)


CASES = {
    "log_id_unique": duplicate_log,
    "log_in_one_night": count_in_two_nights,
    "landed_logs_in_tables": lose_a_landed_log,
    "no_overlapping_logs": overlapping_copy,
    "table_dates_inside_run_window": drop_log_from_raw,
    "raw_dates_inside_run_window": misfile_raw_log,
}


def test_the_landed_window_passes_every_blocking_check(landed: Path, tmp_path: Path) -> None:
    home = Path(shutil.copytree(landed, tmp_path / "home"))
    success, checks = _run_checks(home)
    assert set(checks) >= BLOCKING
    assert success, {n: c.metadata for n, c in checks.items() if not c.passed}
    assert all(checks[name].passed for name in BLOCKING)


@pytest.mark.parametrize("check", sorted(CASES))
def test_a_planted_fault_fails_its_blocking_check_and_the_run(
    landed: Path, tmp_path: Path, check: str
) -> None:
    home = Path(shutil.copytree(landed, tmp_path / "home"))
    CASES[check](home)
    success, checks = _run_checks(home)
    assert not checks[check].passed, checks[check].metadata
    assert checks[check].severity.value == "ERROR"
    assert (
        not success
    )  # a failed blocking check fails its step: assets downstream in the run would be skipped
