"""The CLI backfill path (dagster_project.backfill + `fitbit-sleep backfill`), including under sandbox faults."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests
from click.testing import CliRunner
from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter

from dagster_project.backfill import BACKFILL_TAG, run_backfill
from dagster_project.devserver import install_instance_config
from tests.clock import TEST_TODAY
from tests.dagster_project.dagster_helpers import login_to, project_defs, sleep_calls

# ingestion / fetch timestamps legitimately differ between two backfills; everything else must be identical
VOLATILE = {"ingested_at", "fetched_at"}


def _warehouse(home: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        out = {}
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall():
            cols = [r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall() if r[0] not in VOLATILE]
            out[table] = con.execute(f'SELECT {", ".join(cols)} FROM "{table}" ORDER BY ALL').fetchall()
        return out
    finally:
        con.close()


def test_a_backfill_under_faults_ends_complete_and_identical_to_a_fault_free_one(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    end = TEST_TODAY - timedelta(days=1)
    start = end - timedelta(days=129)  # two runs: 100 + 30 days
    homes = {}
    for label, faults in (("clean", ""), ("faulty", "5xx=0.25,truncate=0.1,token5xx=0.3")):
        # short-lived access tokens so the runs also refresh through the faulty token endpoint
        sandbox = sandbox_factory(days=150, seed=7, access_token_ttl=3)
        home = tmp_path / label
        login_to(sandbox, home)
        requests.post(
            f"{sandbox.base_url}/_sandbox/faults", json={"spec": faults}, timeout=5
        ).raise_for_status()
        requests.post(f"{sandbox.base_url}/_sandbox/reset-stats", timeout=5).raise_for_status()
        time.sleep(3.5)  # the login's access token has expired: the first call must refresh
        defs = project_defs(home, sandbox)
        with DagsterInstance.ephemeral() as instance:
            outcome = run_backfill(defs, instance, start, end, downstream=False)
            assert outcome.success, [c.error for c in outcome.chunks]
            rebuild = defs.resolve_job_def("whole_history_job").execute_in_process(
                instance=instance, asset_selection=[AssetKey("warehouse")]
            )
            assert rebuild.success
            assert [(c.start, c.end) for c in outcome.chunks] == [
                (start, start + timedelta(days=99)),
                (start + timedelta(days=100), end),
            ]
            materialized = instance.get_materialized_partitions(defs.resolve_assets_def("sleep_tables").key)
            assert {(start + timedelta(days=i)).isoformat() for i in range(130)} <= materialized
        if faults:
            assert sleep_calls(sandbox) > 2  # the faults really happened and were retried
        homes[label] = home
    clean, faulty = _warehouse(homes["clean"]), _warehouse(homes["faulty"])
    assert clean.keys() == faulty.keys() and clean["sleep_logs"]
    for table in clean:
        assert clean[table] == faulty[table], table


def _cli_env(sandbox: Any, home: Path, dagster_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the CLI at ``sandbox`` (logged in under ``home``) and at ``dagster_home``."""
    login_to(sandbox, home)
    for name, value in {
        "DAGSTER_HOME": str(dagster_home),
        "FITBIT_SLEEP_HOME": str(home),
        **sandbox.client_env(),
    }.items():
        monkeypatch.setenv(name, value)


def test_the_cli_backfill_records_its_runs_in_dagster_home(
    sandbox_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fitbit_sleep.cli import main

    sandbox = sandbox_factory(days=150)
    home = tmp_path / "data"
    dagster_home = tmp_path / "dagster_home"
    install_instance_config(dagster_home)
    _cli_env(sandbox, home, dagster_home, monkeypatch)
    end = TEST_TODAY - timedelta(days=1)
    start = end - timedelta(days=129)
    result = CliRunner().invoke(main, ["backfill", "--start", start.isoformat(), "--end", end.isoformat()])
    assert result.exit_code == 0, result.output
    assert "130 days in 2 run(s)" in result.output and "2 API call(s)" in result.output
    assert sleep_calls(sandbox) == 2
    with DagsterInstance.get() as instance:
        runs = instance.get_runs(RunsFilter(tags={BACKFILL_TAG: result.output.split("Tag ")[1].split()[0]}))
        assert len(runs) == 3 and all(r.status == DagsterRunStatus.SUCCESS for r in runs)
        ranges = sorted(
            (
                r.tags.get("dagster/asset_partition_range_start"),
                r.tags.get("dagster/asset_partition_range_end"),
            )
            for r in runs
            if r.job_name == "sleep_daily_job"
        )
        assert ranges == [
            (start.isoformat(), (start + timedelta(days=99)).isoformat()),
            ((start + timedelta(days=100)).isoformat(), end.isoformat()),
        ]
    assert (home / "warehouse.duckdb").exists() and (home / "report").is_dir()


def test_the_cli_backfill_explains_a_missing_dagster_home(monkeypatch: pytest.MonkeyPatch) -> None:
    from fitbit_sleep.cli import main

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    result = CliRunner().invoke(main, ["backfill", "--start", "2026-01-01", "--end", "2026-01-02"])
    assert result.exit_code != 0 and "DAGSTER_HOME" in result.output


def test_the_cli_backfill_on_a_gone_api_prints_the_410_message_without_stack_traces(
    sandbox_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fitbit_sleep.cli import main

    sandbox = sandbox_factory(days=10)
    home = tmp_path / "data"
    dagster_home = tmp_path / "fresh_dagster_home"  # no dagster.yaml yet: the backfill installs it
    _cli_env(sandbox, home, dagster_home, monkeypatch)
    requests.post(f"{sandbox.base_url}/_sandbox/gone", json={"gone": True}, timeout=10).raise_for_status()
    end = TEST_TODAY - timedelta(days=1)
    result = CliRunner().invoke(
        main, ["backfill", "--start", (end - timedelta(days=2)).isoformat(), "--end", end.isoformat()]
    )
    assert result.exit_code != 0
    assert "410 Gone" in result.output and "fitbit-sleep import" in result.output
    assert "Stack Trace" not in result.output and "dagster._core" not in result.output
    assert (dagster_home / "dagster.yaml").read_text() == (
        Path(__file__).parents[2] / "dagster_project" / "dagster.yaml"
    ).read_text()
