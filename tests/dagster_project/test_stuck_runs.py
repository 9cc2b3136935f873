"""dagster_project/stuck_runs.py: which runs are stuck, and the sensor that frees them where a daemon runs.

(The real kills are in test_kills.py; here a run is planted with the process of a child that has exited.)
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, build_sensor_context

from dagster_project.devserver import install_instance_config
from dagster_project.stuck_runs import (
    PROCESS_TAG,
    describe_runs,
    find_stuck_runs,
    held_slots,
    open_instance,
    process_gone,
    process_identity,
)
from tests.dagster_project.dagster_helpers import project_defs


def _dead_process() -> str:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = process_identity(child.pid)
    child.wait()
    return identity


def _plant(instance: DagsterInstance, process: str, pool: str = "fitbit_api") -> str:
    run_id = str(uuid.uuid4())
    instance.add_run(
        DagsterRun(
            job_name="sleep_daily_job",
            run_id=run_id,
            status=DagsterRunStatus.STARTED,
            tags={PROCESS_TAG: process},
        )
    )
    storage = instance.event_log_storage
    storage.set_concurrency_slots(pool, 1)
    claims = [
        storage.claim_concurrency_slot(pool, run_id, "raw_sleep") for _ in range(2)
    ]  # enqueue, then claim
    assert claims[-1].is_claimed, claims
    return run_id


def test_process_gone_knows_the_living_the_dead_and_other_hosts() -> None:
    assert not process_gone(process_identity())
    assert process_gone(_dead_process())
    assert not process_gone("another-host:1:1")
    assert not process_gone("garbage")


def test_the_sensor_fails_a_dead_run_frees_its_slot_and_leaves_a_live_one(tmp_path: Path) -> None:
    defs = project_defs(tmp_path / "home")
    install_instance_config(tmp_path / "dagster_home")  # the pools of make dev's instance
    with open_instance(tmp_path / "dagster_home") as instance:
        dead = _plant(instance, _dead_process())
        live = _plant(instance, process_identity(), pool="duckdb")
        assert [r.run_id for r in find_stuck_runs(instance)] == [dead]
        line = describe_runs(tmp_path / "dagster_home")
        assert line.startswith(f"1 stuck (run {dead[:8]} (sleep_daily_job, started, holding fitbit_api)")

        sensor = defs.resolve_sensor_def("stuck_runs_sensor")
        result = sensor.evaluate_tick(build_sensor_context(instance=instance))
        assert result.skip_message is not None and result.skip_message.startswith(
            f"Cleaned up run {dead[:8]}"
        )
        assert instance.get_run_by_id(dead).status == DagsterRunStatus.FAILURE  # type: ignore[union-attr]
        assert instance.get_run_by_id(live).status == DagsterRunStatus.STARTED  # type: ignore[union-attr]
        assert [(s.pool, s.run_id) for s in held_slots(instance)] == [("duckdb", live)]
        again = sensor.evaluate_tick(build_sensor_context(instance=instance))
        assert again.skip_message == "No run whose process is gone"
