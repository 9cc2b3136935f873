"""The CLI backfill path (dagster_project.backfill + `fitbit-sleep backfill`), including under sandbox faults."""

from __future__ import annotations

import os
import subprocess
import sys
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
# where a warehouse part lives is not content: its absolute path names the data root and the source file's identity
VOLATILE_IN = {"warehouse_files": {"path"}}


def _warehouse(home: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        out = {}
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall():
            skip = VOLATILE | VOLATILE_IN.get(table, set())
            cols = [r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall() if r[0] not in skip]
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
        "FITBIT_SLEEP_TODAY": sandbox.config.today.isoformat(),  # the project's today is the sandbox's
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
    # a sleep-only login: one run of up to 400 days (CLI_DAYS_PER_RUN), the API still called per 100 days
    assert "130 days in 1 run " in result.output and "2 API calls" in result.output
    assert sleep_calls(sandbox) == 2
    with DagsterInstance.get() as instance:
        runs = instance.get_runs(RunsFilter(tags={BACKFILL_TAG: result.output.split("Tag ")[1].split()[0]}))
        assert len(runs) == 2 and all(r.status == DagsterRunStatus.SUCCESS for r in runs)
        ranges = sorted(
            (
                r.tags.get("dagster/asset_partition_range_start"),
                r.tags.get("dagster/asset_partition_range_end"),
            )
            for r in runs
            if r.job_name == "sleep_daily_job"
        )
        assert ranges == [(start.isoformat(), end.isoformat())]
    assert (home / "warehouse.duckdb").exists() and (home / "report").is_dir()


def test_without_dagster_home_the_cli_backfill_uses_the_data_roots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DAGSTER_HOME follows FITBIT_SLEEP_HOME (it used to be an error here, and the demo used the repo's)."""
    from dagster_project.devserver import use_dagster_home

    env = {"FITBIT_SLEEP_HOME": str(tmp_path / "elsewhere")}
    assert use_dagster_home(env) == (tmp_path / "elsewhere" / "dagster_home").resolve()
    assert env["DAGSTER_HOME"] == str((tmp_path / "elsewhere" / "dagster_home").resolve())
    assert use_dagster_home({**env, "DAGSTER_HOME": str(tmp_path / "mine")}) == tmp_path / "mine"


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
    assert "resume with" not in result.output  # the API is switched off: resuming cannot help
    assert "Stack Trace" not in result.output and "dagster._core" not in result.output
    # the installed file is the template, naming its own event-log directory
    installed = (dagster_home / "dagster.yaml").read_text()
    template = (Path(__file__).parents[2] / "dagster_project" / "dagster.yaml").read_text()
    runs_dir = dagster_home.resolve() / "history" / "runs"
    assert installed == template.replace("  config: {}\n", f'  config:\n    base_dir: "{runs_dir}"\n')


# --- fail fast and say why ------------------------------------------------------------------------------------------


def _run_events(run_id: str) -> list[str]:
    with DagsterInstance.get() as instance:
        return [
            r.event_log_entry.dagster_event.event_type_value
            for r in instance.get_records_for_run(run_id).records
            if r.event_log_entry.dagster_event is not None
        ]


@pytest.mark.parametrize(
    ("api_url", "expected"),
    [
        ("refused", "(connection refused). Check FITBIT_API_URL"),
        ("not-a-url", "FITBIT_API_URL='not-a-url' is not a usable base URL"),
        ("wrong-path", "answered 404 Not Found, so FITBIT_API_URL="),
    ],
)
def test_the_cli_backfill_with_a_wrong_api_url_fails_at_once_with_the_cause(
    sandbox_factory: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    refused_url: str,
    api_url: str,
    expected: str,
) -> None:
    from fitbit_sleep.cli import main

    sandbox = sandbox_factory(days=10)
    _cli_env(sandbox, tmp_path / "data", tmp_path / "dagster_home", monkeypatch)
    url = {"refused": refused_url, "wrong-path": sandbox.base_url + "/wrong"}.get(api_url, api_url)
    monkeypatch.setenv("FITBIT_API_URL", url)
    end = TEST_TODAY - timedelta(days=1)
    result = CliRunner().invoke(
        main, ["backfill", "--start", (end - timedelta(days=2)).isoformat(), "--end", end.isoformat()]
    )
    assert result.exit_code == 1
    output = " ".join(result.output.split())  # rich wraps the failure line to the terminal width
    assert expected in output and "Exceeded max_retries" not in output
    run_id = output.split("Run ")[1].split()[0]
    events = _run_events(run_id)
    assert "STEP_FAILURE" in events and "STEP_UP_FOR_RETRY" not in events  # a setting to fix, not a retry
    assert "resume with `fitbit-sleep backfill" in output  # once the setting is fixed, resuming is right


def test_a_step_that_used_up_its_retries_reports_its_cause_not_exceeded_max_retries() -> None:
    from dagster import Failure, RetryPolicy, job, op

    from dagster_project.backfill import _first_failure

    @op(retry_policy=RetryPolicy(max_retries=1, delay=0))
    def flaky() -> None:
        raise Failure(
            description="sleep 2026-01-01..2026-01-31: HTTP 503 after 6 tries", metadata={"error": "X"}
        )

    @job
    def one_step() -> None:
        flaky()

    with DagsterInstance.ephemeral() as instance:
        result = one_step.execute_in_process(instance=instance, raise_on_error=False)
    events = [e.event_type_value for e in result.all_events]
    assert "STEP_UP_FOR_RETRY" in events  # the retry happened: this is the "Exceeded max_retries" path
    assert _first_failure(result) == ("flaky: sleep 2026-01-01..2026-01-31: HTTP 503 after 6 tries", "X", "")


def test_a_step_that_raised_reports_its_error_not_dagsters_wrapper() -> None:
    from dagster import job, op

    from dagster_project.backfill import _first_failure

    @op
    def broken() -> None:
        raise OSError(
            'IO Error: No files found that match the pattern "parts/x.parquet"\nLINE 62: FROM per_night;'
        )

    @job
    def one_step() -> None:
        broken()

    with DagsterInstance.ephemeral() as instance:
        result = one_step.execute_in_process(instance=instance, raise_on_error=False)
    message, _, _ = _first_failure(result)
    assert message == 'broken: OSError: IO Error: No files found that match the pattern "parts/x.parquet"', (
        message
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FITBIT_SLEEP_LOOKBACK_DAYS", "abc"),
        ("FITBIT_SLEEP_TZ", "Mars/Olympus"),
        ("FITBIT_SLEEP_SCHEDULE_HOUR", "25"),
    ],
)
def test_a_bad_setting_stops_the_cli_backfill_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    from fitbit_sleep.cli import main

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("FITBIT_SLEEP_HOME", str(tmp_path / "data"))
    monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["backfill", "--start", "2026-01-01", "--end", "2026-01-02"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.startswith(f"Error: {name}=") and result.output.count("\n") == 1


def test_a_bad_start_date_prints_one_line_and_no_traceback_from_the_real_command(tmp_path: Path) -> None:
    """As a user types it: before the fix, importing the Dagster definitions raised at import time (30 lines)."""
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "FITBIT_SLEEP_HOME": str(tmp_path / "data"),
        "FITBIT_SLEEP_START_DATE": "2025-13-01",
    }
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("fitbit-sleep")),
            "backfill",
            "--start",
            "2026-01-01",
            "--end",
            "2026-01-02",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (
        "Error: FITBIT_SLEEP_START_DATE='2025-13-01' is not a date; use YYYY-MM-DD (e.g. 2024-01-01).\n"
    )


@pytest.mark.parametrize(
    ("start", "end", "advice"),
    [
        ("2024-02-01", "2999-01-01", "--end 2999-01-01 is after today's partition"),
        ("2023-12-01", "2024-01-31", "set FITBIT_SLEEP_START_DATE=2023-12-01 to go further back"),
    ],
)
def test_a_range_outside_the_partitions_gets_the_advice_that_fits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: str, end: str, advice: str
) -> None:
    from fitbit_sleep.cli import main

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("FITBIT_SLEEP_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("FITBIT_SLEEP_START_DATE", "2024-01-01")
    result = CliRunner().invoke(main, ["backfill", "--start", start, "--end", end])
    assert result.exit_code == 1 and advice in result.output
    assert ("FITBIT_SLEEP_START_DATE" in result.output) == (start < "2024-01-01")


def test_a_sleep_only_login_backfills_400_days_a_run_and_a_physiology_login_100(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    from dagster_project.backfill import CLI_DAYS_PER_RUN, cli_days_per_run
    from dagster_project.partitions import MAX_DAYS_PER_RUN
    from pipeline.paths import StoragePaths
    from pipeline.physiology_fetch import login_kinds

    sandbox = sandbox_factory(days=30)
    sleep_only, physiology = StoragePaths(tmp_path / "sleep"), StoragePaths(tmp_path / "physiology")
    login_to(sandbox, sleep_only.root)
    login_to(sandbox, physiology.root, physiology=True)
    assert not login_kinds(sleep_only) and login_kinds(physiology)
    assert (CLI_DAYS_PER_RUN, MAX_DAYS_PER_RUN) == (400, 100)
    assert cli_days_per_run(sleep_only) == CLI_DAYS_PER_RUN
    assert cli_days_per_run(physiology) == MAX_DAYS_PER_RUN
    assert (
        cli_days_per_run(StoragePaths(tmp_path / "nobody")) == CLI_DAYS_PER_RUN
    )  # no login: nothing granted
