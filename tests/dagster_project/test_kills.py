"""Kills for real: ``fitbit-sleep backfill`` SIGKILLed mid-landing, mid-Parquet write and at the warehouse swap.

Each killed backfill is followed by a plain rerun that must finish (before the fix it waited forever for the pool
slot the dead run still held), say in one line what it cleaned, leave no temp file and end with the same landing,
tables and warehouse as a clean backfill (fetch/ingest timestamps aside: they are the time of the fetch).

The kill is the process's own SIGKILL at an exact moment (``FITBIT_SLEEP_TEST_KILL_AT``, pipeline/atomic.py), so
the three moments are hit every time; bench/bench_kills.py kills at random moments from outside.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from dagster_project.devserver import install_instance_config
from dagster_project.stuck_runs import IN_PROGRESS, find_stuck_runs, held_slots
from tests.clock import TEST_TODAY
from tests.dagster_project.dagster_helpers import login_to, sleep_calls, table_rows
from tests.dagster_project.test_backfill import _warehouse

END = TEST_TODAY - timedelta(days=1)
# one run (a sleep-only CLI backfill runs up to 400 days), then the warehouse/plots/report run
START = END - timedelta(days=109)
TABLES = ("sleep_logs", "sleep_segments", "nights", "quarantine")
CLI = str(Path(sys.executable).with_name("fitbit-sleep"))


def cli_env(sandbox: Any, home: Path) -> dict[str, str]:
    """The environment a user's shell would have: the sandbox's API, this data root and its DAGSTER_HOME."""
    env = {
        **os.environ,
        **sandbox.client_env(),
        "FITBIT_SLEEP_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster_home"),
        "FITBIT_SLEEP_TODAY": sandbox.config.today.isoformat(),
        "FITBIT_SLEEP_START_DATE": (TEST_TODAY - timedelta(days=140)).isoformat(),
        "FITBIT_SLEEP_TZ": "America/Los_Angeles",
    }
    env.pop("FITBIT_SLEEP_TEST_KILL_AT", None)
    return env


def backfill(
    sandbox: Any, home: Path, *, kill_at: str = "", timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``fitbit-sleep backfill --start --end`` as a user types it, against ``sandbox``, data and runs under ``home``."""
    env = cli_env(sandbox, home)
    if kill_at:
        env["FITBIT_SLEEP_TEST_KILL_AT"] = kill_at
    return subprocess.run(
        [CLI, "backfill", "--start", START.isoformat(), "--end", END.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def prepared_home(sandbox: Any, home: Path) -> Path:
    login_to(sandbox, home)
    install_instance_config(home / "dagster_home")
    return home


def landing(home: Path) -> dict[str, dict[str, Any]]:
    """Every raw day without its fetch time."""
    out = {}
    for path in sorted((home / "raw" / "sleep").glob("date=*.json")):
        record = json.loads(path.read_bytes())
        record.pop("fetched_at")
        out[path.name] = record
    return out


def state(home: Path) -> dict[str, Any]:
    return {
        "landing": landing(home),
        "tables": {name: table_rows(home, name, exclude=("ingested_at",)) for name in TABLES},
        "warehouse": _warehouse(home),
    }


def temp_files(home: Path) -> list[str]:
    return sorted(
        str(p.relative_to(home))
        for p in home.rglob("*")
        if ".tmp" in p.name and "dagster_home" not in p.parts
    )


def dagster_instance(home: Path) -> DagsterInstance:
    os.environ["DAGSTER_HOME"] = str(home / "dagster_home")
    try:
        return DagsterInstance.get()
    finally:
        del os.environ["DAGSTER_HOME"]


pytestmark = pytest.mark.slow  # CLI backfills as subprocesses: run first (tests/conftest.py)

KILLS = [
    # (moment, where the process SIGKILLs itself, the pool slot the dead run holds)
    ("landing", "raw/sleep/date=#40", "fitbit_api"),  # the 40th raw day of the first run
    ("parquet write", ".parquet#2", None),  # the second Parquet file of the first run's tables step
    ("warehouse swap", "warehouse.duckdb#1", "duckdb"),  # the built warehouse, just before its os.replace
]


@pytest.mark.timeout(
    1800
)  # five CLI backfills, each ~30 s of Dagster start-up and runs (more on a busy machine)
def test_killed_backfills_are_cleaned_up_by_the_next_one_which_ends_like_a_clean_run(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    """Kill during landing; the rerun cleans that up and is killed in the Parquet write; the next one cleans up and
    is killed at the warehouse swap; a last plain rerun cleans up, finishes, and matches a clean backfill."""
    sandbox = sandbox_factory(days=150, seed=21)
    clean_home = prepared_home(sandbox, tmp_path / "clean")
    done = backfill(sandbox, clean_home)
    assert done.returncode == 0, done.stderr[-3000:]
    clean = state(clean_home)

    home = prepared_home(sandbox, tmp_path / "home")
    for number, (moment, kill_at, pool) in enumerate(KILLS):
        killed = backfill(sandbox, home, kill_at=kill_at)
        assert killed.returncode == -signal.SIGKILL, (moment, killed.stderr[-3000:])
        assert _cleanup_notes(killed.stderr) == (1 if number else 0), (moment, killed.stderr[-3000:])
        with dagster_instance(home) as instance:
            stuck = find_stuck_runs(instance)
            assert len(stuck) == 1 and stuck[0].status == "STARTED", (moment, stuck)
            if pool:
                assert pool in stuck[0].pools, (moment, stuck)

    rerun = backfill(sandbox, home)  # before the fix: waited forever for the dead run's slot
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert _cleanup_notes(rerun.stderr) == 1, rerun.stderr[-3000:]
    with dagster_instance(home) as instance:
        assert find_stuck_runs(instance) == [] and held_slots(instance) == []
        failed = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.FAILURE]))
        assert len(failed) == len(KILLS)  # each killed run, marked failed with the reason
    assert temp_files(home) == []
    after = state(home)
    for part in ("landing", "tables", "warehouse"):
        assert after[part] == clean[part], part


def _cleanup_notes(stderr: str) -> int:
    """One-line notes of cleaned runs: "Cleaned up run … process … is gone; marked failed, slots freed." """
    lines = " ".join(stderr.split()).split("Cleaned up run ")[1:]
    assert all("is gone; marked failed, slots freed." in line for line in lines), lines
    return len(lines)


def test_ctrl_c_stops_a_backfill_stalled_in_api_calls_within_seconds(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    """Before: Dagster turned the interrupt into a step failure that its RetryPolicy retried, for minutes."""
    import requests

    sandbox = sandbox_factory(days=150, seed=21)
    home = prepared_home(sandbox, tmp_path / "home")
    requests.post(
        f"{sandbox.base_url}/_sandbox/faults", json={"spec": "timeout=1"}, timeout=5
    ).raise_for_status()
    env = cli_env(sandbox, home)
    proc = subprocess.Popen(
        [CLI, "backfill", "--last", "20"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 240
        while sleep_calls(sandbox) == 0:  # the step is inside a stalled API call
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr and proc.stderr.read()
            time.sleep(0.5)
        time.sleep(1)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
        stopped_after = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err[-2000:]
    assert stopped_after < 10, stopped_after
    assert "Interrupted: stopped 1 run(s) in progress (marked failed); rerun to resume." in " ".join(
        err.split()
    )
    with dagster_instance(home) as instance:
        assert find_stuck_runs(instance) == [] and held_slots(instance) == []
        assert instance.get_runs(RunsFilter(statuses=IN_PROGRESS)) == []
