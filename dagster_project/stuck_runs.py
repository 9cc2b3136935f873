"""Runs whose process is gone: find them, mark them failed and free the pool slots they held.

Why: a run killed with ``kill -9`` (or a laptop lid closed mid-backfill) stays ``STARTED`` and keeps its slot in the
limit-1 pools (``fitbit_api``, ``duckdb``), so every later run waits for it forever, silently. Dagster's run
monitoring cannot see it: the default run launcher has no worker health check, and a CLI backfill's runs execute
in the CLI's own process, which no daemon watches. So every run records the process that executes it (tag
``fitbit_sleep/process`` = ``host:pid:start``; the CLI backfill sets it at launch, ``StorageResource`` at the start
of any other run), and ``free_dead_runs`` fails the runs whose process on this host is gone and frees their slots.
It runs at the start of every CLI backfill, import and ``make dev``, and from the ``stuck_runs_sensor`` while a
daemon runs; ``fitbit-sleep status`` lists what it would clean.

The process start time (Linux ``/proc/<pid>/stat``) guards against a reused pid; elsewhere the pid alone is checked.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

PROCESS_TAG = "fitbit_sleep/process"
IN_PROGRESS = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


def _start_ticks(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), or "" where /proc does not exist."""
    try:
        stat = open(f"/proc/{pid}/stat", "rb").read()  # noqa: SIM115 - one short read
    except OSError:
        return ""
    return stat.rsplit(b")", 1)[1].split()[19].decode()


def process_identity(pid: int | None = None) -> str:
    """``host:pid:start`` of this process (or ``pid``)."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}"


def process_gone(identity: str) -> bool:
    """True when ``identity`` names a process on this host that no longer exists (or whose pid was reused)."""
    try:
        host, pid_text, started = identity.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        return False  # another machine's run: not ours to judge
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # exists, owned by someone else
    return bool(started) and _start_ticks(pid) not in ("", started)


@dataclass(frozen=True)
class StuckRun:
    """A run in progress whose process is gone, and the pools it holds slots in."""

    run_id: str
    job_name: str
    status: str
    process: str
    pools: tuple[str, ...]

    def describe(self) -> str:
        held = f", holding {', '.join(self.pools)}" if self.pools else ""
        return f"run {self.run_id[:8]} ({self.job_name}, {self.status.lower()}{held}): process {self.process} is gone"


@dataclass(frozen=True)
class HeldSlot:
    pool: str
    run_id: str
    step_key: str
    run_status: str  # "" when the run no longer exists


def held_slots(instance: DagsterInstance) -> list[HeldSlot]:
    """Every claimed pool slot and the status of the run holding it."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    found = []
    for pool in sorted(storage.get_concurrency_keys()):
        for slot in storage.get_concurrency_info(pool).claimed_slots:
            run = instance.get_run_by_id(slot.run_id)
            found.append(HeldSlot(pool, slot.run_id, slot.step_key, run.status.value if run else ""))
    return found


def find_stuck_runs(instance: DagsterInstance) -> list[StuckRun]:
    """Runs in progress whose recorded process on this host is gone."""
    pools_of: dict[str, set[str]] = {}
    for slot in held_slots(instance):
        pools_of.setdefault(slot.run_id, set()).add(slot.pool)
    stuck = []
    for run in instance.get_runs(RunsFilter(statuses=IN_PROGRESS)):
        identity = run.tags.get(PROCESS_TAG)
        if identity and process_gone(identity):
            pools = tuple(sorted(pools_of.get(run.run_id, ())))
            stuck.append(StuckRun(run.run_id, run.job_name, run.status.value, identity, pools))
    return stuck


def free_dead_runs(instance: DagsterInstance) -> list[str]:
    """Mark every stuck run failed and free its slots, and free slots still held by runs that ended; one line each."""
    notes = []
    for run in find_stuck_runs(instance):
        dagster_run = instance.get_run_by_id(run.run_id)
        if dagster_run is None:
            continue
        instance.report_run_failed(
            dagster_run,
            message=f"Marked failed by fitbit-sleep: the process running it ({run.process}) is gone "
            "(killed or crashed); its pool slots were freed.",
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        notes.append(f"Cleaned up {run.describe()}; marked failed, slots freed.")
    ended = {s.run_id: s for s in held_slots(instance) if s.run_status in _ENDED}
    for run_id, slot in ended.items():
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        notes.append(
            f"Freed the {slot.pool} slot of run {run_id[:8]}, which had ended "
            f"({slot.run_status.lower() or 'deleted'}) without releasing it."
        )
    return notes


_ENDED = {
    "",
    *(s.value for s in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)),
}


def tag_run_with_process(instance: DagsterInstance, run: Any) -> None:
    """Record this process on ``run`` unless it already names one (the CLI backfill tags its runs at launch)."""
    if run is not None and PROCESS_TAG not in run.tags:
        instance.add_run_tags(run.run_id, {PROCESS_TAG: process_identity()})


def fail_runs_of_this_process(instance: DagsterInstance, message: str) -> list[str]:
    """Mark the runs this process is executing failed and free their slots (before it exits on Ctrl-C)."""
    me = process_identity()
    ended = []
    for run in instance.get_runs(RunsFilter(statuses=IN_PROGRESS, tags={PROCESS_TAG: me})):
        instance.report_run_failed(run, message=message)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        ended.append(run.run_id)
    return ended


@contextmanager
def stop_on_ctrl_c(instance: DagsterInstance, say: Callable[[str], None]) -> Iterator[None]:
    """Make Ctrl-C stop an in-process backfill within a second.

    Why: inside ``execute_in_process`` Dagster owns SIGINT: it defers it, or turns it into a step failure that the
    step's RetryPolicy then retries, so a backfill stalled in API calls kept running for minutes after Ctrl-C. The
    interpreter's wakeup fd sees every signal whatever handler is installed; a watcher thread reading it marks this
    process's runs failed (slots freed, nothing left stuck) and exits with 130. Every write is atomic and the writer
    lock is an OS lock, so stopping here is as safe as the kills the tests make. Call from the main thread."""
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            try:
                received = reader.recv(64)
            except OSError:
                return
            if signal.SIGINT in received:
                ended = fail_runs_of_this_process(
                    instance, "Stopped by Ctrl-C; rerun the backfill to resume."
                )
                say(f"Interrupted: stopped {len(ended)} run(s) in progress (marked failed); rerun to resume.")
                os._exit(130)

    watcher = threading.Thread(target=watch, name="ctrl-c-watcher", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        signal.set_wakeup_fd(previous)
        writer.close()
        reader.close()


def describe_runs(dagster_home: Path) -> str:
    """One line for ``fitbit-sleep status``: stuck runs and held pool slots in the instance at ``dagster_home``."""
    if not (dagster_home / "history" / "runs.db").exists():  # where a SQLite instance keeps its runs
        return f"no Dagster runs yet ({dagster_home})"
    with open_instance(dagster_home) as instance:
        stuck = find_stuck_runs(instance)
        slots = held_slots(instance)
    parts = [f"{len(stuck)} stuck ({'; '.join(r.describe() for r in stuck)})" if stuck else "no stuck run"]
    if slots:
        parts.append(
            "slots held: "
            + ", ".join(
                f"{s.pool} by run {s.run_id[:8]} ({(s.run_status or 'deleted').lower()})" for s in slots
            )
        )
    else:
        parts.append("no pool slot held")
    line = ", ".join(parts)
    return line + ("; the next `fitbit-sleep backfill` or `make dev` cleans them up" if stuck else "")


def clean_up(dagster_home: Path) -> list[str]:
    """``free_dead_runs`` on the instance at ``dagster_home`` (for ``make dev``, before the daemon starts)."""
    with open_instance(dagster_home) as instance:
        return free_dead_runs(instance)


@contextmanager
def open_instance(dagster_home: Path) -> Iterator[DagsterInstance]:
    """The instance at ``dagster_home``, with ``DAGSTER_HOME`` set while it is built: the event log storage of
    ``dagster.yaml`` (dagster_project/event_storage.py) finds its directory through that variable, and without it
    would read and write ``./history/runs`` of the working directory instead."""
    saved = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        instance = DagsterInstance.from_config(str(dagster_home))
    finally:
        if saved is None:
            del os.environ["DAGSTER_HOME"]
        else:
            os.environ["DAGSTER_HOME"] = saved
    with instance:
        yield instance
