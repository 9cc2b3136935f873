"""Backfill without the UI: partition-range runs executed in this process, recorded in the UI's instance.

Why not ``dagster asset materialize --partition-range``: it only accepts assets whose backfill policy is
``single_run()`` (one run for the whole range), while the landing uses ``multi_run(100)`` so a run is one API call.
And why not submit a backfill for the daemon: the daemon may not be running, and the user wants a progress bar in
the terminal. So each chunk is executed in-process with ``execute_in_process(instance=cli_instance())``,
tagged ``dagster/asset_partition_range_start|end`` exactly like the runs of a UI backfill: the runs, their partitions,
events and check results show up in the same instance the UI reads. The chunks are consecutive windows from the
start: 100 days like the UI's, or 400 for a sleep-only login (``CLI_DAYS_PER_RUN``: fewer runs, less fixed Dagster
cost). A final run rebuilds the warehouse, the plots and the report once.
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dagster import DagsterInstance, Definitions
from dagster._core.instance.ref import InstanceRef

from dagster_project.assets.raw import PARTICIPANT_TAG
from dagster_project.checks import RANGE_END_TAG, RANGE_START_TAG
from dagster_project.event_storage import enable_event_batches
from dagster_project.jobs import DAILY_JOB, WHOLE_HISTORY_JOB
from dagster_project.partitions import MAX_DAYS_PER_RUN
from dagster_project.stuck_runs import PROCESS_TAG, free_dead_runs, process_identity
from pipeline.client import chunk_range
from pipeline.paths import StoragePaths

BACKFILL_TAG = "fitbit_sleep/cli_backfill"
# A sleep-only login's CLI backfill runs 400 days at a time (the raw step still calls the API per 100 days): each
# run has a fixed Dagster cost (run creation, planned events, step events, the checks' DuckDB set-up), paid a quarter
# as often (bench: the no-op floor of 730 days in 8 runs 7.3 s CPU, in 1 run 3.8 s). A login that grants physiology
# keeps 100-day runs: intraday heart rate is one call per day, so such a run already spends ~100 calls of the hourly
# quota and the progress bar moves once per run. UI backfills keep the assets' multi_run(100) policy.
CLI_DAYS_PER_RUN = 4 * MAX_DAYS_PER_RUN
# The terminal shows a progress bar and each failed run's first error (_first_failure); Dagster's console log would
# add a full stack trace per failed step. Every event still goes to the instance, so the UI shows the whole run.
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class ChunkOutcome:
    start: date
    end: date
    run_id: str
    success: bool
    calls: int = 0
    quota_wait_s: float = 0.0
    logs: int = 0
    error: str = ""
    error_class: str = ""  # the pipeline error behind a failed raw_sleep step (e.g. FitbitApiGone), if any
    # participants that failed while the others landed (the run failed at its tables step, naming them)
    participants_failed: str = ""
    landed: bool = False  # raw_sleep materialized (every participant, or the ones that did not fail)


@dataclass
class BackfillOutcome:
    backfill_id: str
    chunks: list[ChunkOutcome] = field(default_factory=list)
    downstream_run_id: str | None = None
    downstream_success: bool | None = None
    downstream_error: str = ""

    @property
    def success(self) -> bool:
        return all(c.success for c in self.chunks) and self.downstream_success is not False

    @property
    def calls(self) -> int:
        return sum(c.calls for c in self.chunks)


# Runs executed in this process need no compute-log capture: each step of a captured run starts `tail -F` and a
# `watch_orphans.py` process, and the terminal shows the progress bar anyway. Every event still reaches the UI.
IN_PROCESS_COMPUTE_LOGS = {
    "module": "dagster._core.storage.noop_compute_log_manager",
    "class": "NoOpComputeLogManager",
}


def cli_instance() -> DagsterInstance:
    """``DAGSTER_HOME``'s instance (the UI's runs, partitions and checks) without compute-log capture, asset
    events written in batches and one planned event per asset and run (dagster_project/event_storage.py): the
    terminal names a failed run and its range, so its partitions show as missing, not failed, in the UI."""
    enable_event_batches(one_planned_event_per_asset=True)
    ref = InstanceRef.from_dir(
        os.environ["DAGSTER_HOME"], overrides={"compute_logs": IN_PROCESS_COMPUTE_LOGS}
    )
    return DagsterInstance.from_ref(ref)


def cli_days_per_run(paths: StoragePaths, participant: str | None = None) -> int:
    """Days per run of a CLI backfill of PARTICIPANT (None: every active one): ``CLI_DAYS_PER_RUN`` unless one of
    them grants physiology (see ``CLI_DAYS_PER_RUN``)."""
    from pipeline.participants import to_fetch
    from pipeline.physiology_fetch import login_kinds

    people = to_fetch(paths, participant)
    if any(login_kinds(paths.participant(p.id)) for p in people):
        return MAX_DAYS_PER_RUN
    return CLI_DAYS_PER_RUN


def partition_bounds(defs: Definitions) -> tuple[date, date]:
    """First and last (today's) partition of the daily partitioning."""
    job = defs.resolve_job_def(DAILY_JOB)
    partitions_def = job.partitions_def
    assert partitions_def is not None
    keys = partitions_def.get_partition_keys()
    return date.fromisoformat(keys[0]), date.fromisoformat(keys[-1])


def run_backfill(
    defs: Definitions,
    instance: DagsterInstance,
    start: date,
    end: date,
    *,
    downstream: bool = True,
    on_chunk_start: Callable[[date, date], None] | None = None,
    on_chunk_done: Callable[[ChunkOutcome], None] | None = None,
    chunk_days: int = MAX_DAYS_PER_RUN,
    on_note: Callable[[str], None] | None = None,
    participant: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> BackfillOutcome:
    """Materialize raw_sleep + sleep_tables (and their checks) for START..END in runs of ``chunk_days``, then (if
    ``downstream``) the whole-history assets once; ``participant`` limits the runs to one (a run tag), else every
    active participant is fetched. A chunk in which only some participants failed (the others landed) does not stop
    the backfill; any other failed chunk does. Re-running is safe (the
    landing and the tables are idempotent). First, runs left by a killed process are failed and their pool slots
    freed (each reported through ``on_note``): otherwise this backfill would wait for their slots forever."""
    check_range(start, end, *partition_bounds(defs))
    for note in free_dead_runs(instance):
        if on_note:
            on_note(note)
    outcome = BackfillOutcome(backfill_id=uuid.uuid4().hex[:8])
    process = {PROCESS_TAG: process_identity(), **(tags or {})}  # extra tags: e.g. the scale profile's
    if participant is not None:
        process[PARTICIPANT_TAG] = participant
    job = defs.resolve_job_def(DAILY_JOB)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for chunk_start, chunk_end in chunk_range(start, end, chunk_days):
            if on_chunk_start:
                on_chunk_start(chunk_start, chunk_end)
            result = job.execute_in_process(
                instance=instance,
                run_config=QUIET_LOGS,
                tags={
                    RANGE_START_TAG: chunk_start.isoformat(),
                    RANGE_END_TAG: chunk_end.isoformat(),
                    BACKFILL_TAG: outcome.backfill_id,
                    **process,
                },
                raise_on_error=False,
            )
            chunk = ChunkOutcome(chunk_start, chunk_end, result.run_id, result.success)
            _read_raw_metadata(result, chunk)
            if not result.success:
                chunk.error, chunk.error_class, chunk.participants_failed = _first_failure(result)
            outcome.chunks.append(chunk)
            if on_chunk_done:
                on_chunk_done(chunk)
            if not result.success and not (chunk.participants_failed and chunk.landed):
                return outcome
        if downstream:
            result = defs.resolve_job_def(WHOLE_HISTORY_JOB).execute_in_process(
                instance=instance,
                run_config=QUIET_LOGS,
                tags={BACKFILL_TAG: outcome.backfill_id, **process},
                raise_on_error=False,
            )
            outcome.downstream_run_id = result.run_id
            outcome.downstream_success = result.success
            if not result.success:
                outcome.downstream_error = _first_failure(result)[0]
    return outcome


def _read_raw_metadata(result: Any, chunk: ChunkOutcome) -> None:
    """API calls, quota wait and logs of the chunk, from the raw_sleep materialization (run-scoped keys)."""
    physiology = result.asset_materializations_for_node("raw_physiology")
    if physiology and "run_api_calls" in physiology[0].metadata:
        chunk.calls += int(physiology[0].metadata["run_api_calls"].value)
    events = result.asset_materializations_for_node("raw_sleep")
    if not events:
        return
    chunk.landed = True
    metadata = events[0].metadata
    chunk.calls += int(metadata["run_api_calls"].value) if "run_api_calls" in metadata else 0
    chunk.quota_wait_s = (
        float(metadata["run_quota_wait_seconds"].value) if "run_quota_wait_seconds" in metadata else 0
    )
    chunk.logs = int(metadata["run_logs"].value) if "run_logs" in metadata else 0


def check_range(start: date, end: date, first: date, last: date) -> None:
    """Raise ValueError, with the advice that fits, unless START..END lies within the partitions FIRST..LAST."""
    if end < start:
        raise ValueError(f"--end {end} is before --start {start}.")
    problems = []
    if start < first:
        problems.append(
            f"--start {start} is before the first partition {first}: set FITBIT_SLEEP_START_DATE={start} to go "
            "further back"
        )
    if end > last:
        problems.append(
            f"--end {end} is after today's partition {last}: there is no sleep to fetch after it yet; use --end "
            f"{last} or earlier"
        )
    if problems:
        raise ValueError("; ".join(problems) + ".")


def _first_failure(result: Any) -> tuple[str, str, str]:
    """The first failed step's own message, the pipeline error class behind it and the participants that failed
    (both from the Failure's metadata).

    A step that used up its retries fails with Dagster's "Exceeded max_retries of N"; the cause is kept in the
    Failure's description (``user_failure_data``), so that is what the user reads."""
    for event in result.all_events:
        data = event.step_failure_data if event.is_step_failure else None
        if data is None or data.error is None:
            continue
        user = data.user_failure_data
        error_class = participants = ""
        if user is not None and "error" in user.metadata:
            error_class = str(user.metadata["error"].value)
        if user is not None and "participants_failed" in user.metadata:
            participants = str(user.metadata["participants_failed"].value)
        if user is not None and user.description:
            message = user.description.strip()
        else:
            message = data.error.message.strip()
            cause = data.error.cause
            if cause is not None and message.startswith("Exceeded max_retries"):
                message = f"{cause.message.strip()} ({message.lower()})"
            elif cause is not None and "DagsterExecutionStepExecutionError" in message:
                # Dagster's wrapper says only "Error occurred while executing op"; the cause's first line says what
                message = cause.message.strip().splitlines()[0]
        return f"{event.step_key}: {message}", error_class, participants
    return "the run failed (see it in the Dagster UI)", "", ""
