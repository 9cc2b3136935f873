"""Issue 13's "done when": a backfill and an import of a sandbox history with every quirk of real accounts.

The history is the demo's (730 days, seed 42): a classic era without isMainSleep, classic minutes that do not add
up, segments one epoch off, unknown segments, afternoon "main" sleeps, two logs flagged main on a night, split
nights and very long main sleeps (real-fitbit-data.md §1). It comes in three ways: the CLI backfill's Dagster runs
against the sandbox API, the Dagster archive_import_job on its archive, and `fitbit-sleep import`. Each must land
every log with an id and times, pass every blocking check, give every night exactly one main sleep, and make each
split night one period.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from dagster import DagsterInstance

from dagster_project.backfill import CLI_DAYS_PER_RUN, cli_days_per_run, run_backfill
from fitbit_sandbox.config import SandboxConfig
from fitbit_sandbox.export import export_history
from fitbit_sandbox.server import SandboxServer
from fitbit_sleep.cli import main
from pipeline.checks import run_checks
from pipeline.paths import StoragePaths
from pipeline.plots import QUERIES_DIR
from pipeline.warehouse import build_warehouse, connect_readonly
from tests.clock import TEST_TODAY
from tests.dagster_project.dagster_helpers import login_to, project_defs

pytestmark = pytest.mark.slow
DAYS = 730
FIRST = TEST_TODAY - timedelta(days=DAYS - 1)
QUIRKS = (
    "classic-era logs without isMainSleep",
    "classic logs whose minutes do not add up",
    "stages logs with segments one 60-s epoch off",
    "logs with an unknown segment",
    "sleeps Fitbit flagged main that are naps of their night",
    "nights with two logs flagged main",
    "split nights",
    "very long main sleeps (over 15 h)",
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(days=DAYS, today=TEST_TODAY, auto_approve=True)) as server:
        yield server


def assert_every_quirk_handled(home: Path) -> dict[str, int]:
    """The acceptance criteria on one data root; returns the count of each quirk."""
    paths = StoragePaths(home)
    outcomes = run_checks(paths)
    assert all(o.passed for o in outcomes if o.blocking), [o for o in outcomes if o.blocking and not o.passed]
    build_warehouse(paths)
    con = connect_readonly(paths)
    try:
        assert con.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)
        quirk_rows = con.execute((QUERIES_DIR / "real_data_quirks.sql").read_text()).fetchall()
        found = {quirk: n for _, quirk, n, _ in quirk_rows}
        assert tuple(found) == QUIRKS and all(found.values()), found
        # every night has exactly one main sleep; every log is a part of it or a nap
        nights, mains, logs, roles = con.execute(
            "SELECT count(*), count(main_log_id), sum(log_count), sum(part_count + nap_count) FROM nights"
        ).fetchone() or (0, 0, 0, 0)
        assert nights == mains > DAYS * 0.95 and logs == roles
        assert con.execute("SELECT count(*) FROM sleep_logs").fetchone() == (logs,)
        # a split night is one period: bedtime from its first part, wake from its last, no part a nap
        bad_splits = con.execute(
            """
            SELECT n.night_date FROM nights n JOIN sleep_logs l ON list_contains(n.main_log_ids, l.log_id)
            WHERE n.part_count > 1
            GROUP BY n.night_date, n.bedtime_local, n.waketime_local, n.split_gap_minutes
            HAVING min(l.start_local) <> n.bedtime_local OR max(l.end_local) <> n.waketime_local
                OR n.split_gap_minutes < 30 OR n.split_gap_minutes > 120 OR bool_or(l.night_role <> 'main')
            """
        ).fetchall()
        assert not bad_splits
        # an afternoon "main" sleep never sets a night's bedtime
        afternoon_bedtimes = con.execute(
            "SELECT count(*) FROM nights WHERE hour(bedtime_local) BETWEEN 12 AND 17 AND log_count > 1"
        ).fetchone()
        assert afternoon_bedtimes == (0,)
    finally:
        con.close()
    return found


def test_a_backfill_of_a_history_with_every_quirk(sandbox: SandboxServer, tmp_path: Path) -> None:
    home = tmp_path / "backfill"
    login_to(sandbox, home)
    defs = project_defs(home, sandbox, history_days=DAYS)
    with DagsterInstance.ephemeral() as instance:
        # the runs the CLI makes for this (sleep-only) login: 2 of up to 400 days, not 8 of 100 (the run size is
        # test_backfill.py's subject; each run's fixed Dagster cost made this one of the slowest tests)
        days_per_run = cli_days_per_run(StoragePaths(home))
        outcome = run_backfill(defs, instance, FIRST, TEST_TODAY, downstream=False, chunk_days=days_per_run)
    assert days_per_run == CLI_DAYS_PER_RUN and len(outcome.chunks) == 2
    assert outcome.chunks and all(chunk.success for chunk in outcome.chunks), outcome
    assert sum(chunk.logs for chunk in outcome.chunks) > DAYS
    assert_every_quirk_handled(home)


def test_the_dagster_import_and_the_cli_import_of_its_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "MyFitbitData.zip"
    export_history(archive, days=DAYS, today=TEST_TODAY)

    dagster_home = tmp_path / "dagster-import"
    defs = project_defs(dagster_home, history_days=DAYS)
    run_config: dict[str, Any] = {"ops": {"archive_import": {"config": {"path": str(archive)}}}}
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("archive_import_job").execute_in_process(
            instance=instance, run_config=run_config
        )
    assert result.success
    by_dagster = assert_every_quirk_handled(dagster_home)

    cli_home = tmp_path / "cli-import"
    monkeypatch.setenv("FITBIT_SLEEP_HOME", str(cli_home))
    done = CliRunner().invoke(main, ["import", str(archive)], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert "records quarantined 0" in done.output
    assert assert_every_quirk_handled(cli_home) == by_dagster
