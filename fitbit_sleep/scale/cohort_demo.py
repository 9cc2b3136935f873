"""`fitbit-sleep cohort demo`: the scale profile end to end on this machine, from installed packages only.

It starts Postgres (Dagster's storage and the DuckLake catalog) and SeaweedFS (the bucket), one sandbox account per
participant, logs every participant in (``login --auto``: each has their own 0600 token file), then backfills every
participant through Dagster on the scale instance: one process per participant (``participant_run``), ``parallel``
at a time, each run tagged with its participant and recorded in Postgres; each participant's data root is then
published to the bucket and one ``shared_warehouse_job`` run builds the DuckLake warehouse from everything
published. One participant's grant is revoked while the cohort runs (``revoke``): that participant fails alone,
the others land. Running it again over the same home changes no table (nothing to publish, no new lake snapshot).

Each participant is a data root of its own (``<home>/participants/<id>/``, the single-user layout), which is what the
pipeline runs unchanged; docs/scale.md says how this maps onto the participants design.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from fitbit_sleep.scale.services import ObjectStore, PostgresServer

SEED_BASE = 1000  # participant i's sandbox history is seeded SEED_BASE + i: distinct, reproducible nights


@dataclass
class ParticipantOutcome:
    participant: str
    success: bool = False
    calls: int = 0  # sleep + profile + token calls the sandbox counted for this participant (after login)
    max_calls_in_hour: int = 0
    throttled: int = 0  # 429 answers (none, if the client kept within the quota)
    nights: int = 0
    error: str = ""
    runs: list[str] = field(default_factory=list)


@dataclass
class CohortSummary:
    participants: list[ParticipantOutcome]
    lake_snapshot: int | None
    lake_rewritten: list[str]
    lake_rows: dict[str, int]
    wall_seconds: float

    @property
    def landed(self) -> list[ParticipantOutcome]:
        return [p for p in self.participants if p.success]

    def lines(self) -> list[str]:
        nights = [p.nights for p in self.landed] or [0]
        failed = [p for p in self.participants if not p.success]
        out = [
            "fitbit-sleep cohort demo summary",
            f"  participants N                   {len(self.participants)}  ({len(self.landed)} landed, "
            f"{len(failed)} failed)",
            f"  nights per participant           min {min(nights)}, median {statistics.median(nights):g}  "
            "(landed participants, from the shared warehouse)",
            f"  API calls in all                 {sum(p.calls for p in self.participants)}",
            f"  most calls by one participant    {max((p.max_calls_in_hour for p in self.participants), default=0)}"
            " in one hour  (quota 150; "
            f"{sum(p.throttled for p in self.participants)} answers were 429)",
            f"  shared warehouse                 DuckLake snapshot {self.lake_snapshot}, tables rewritten: "
            f"{', '.join(self.lake_rewritten) or 'none'}",
            f"  wall time                        {self.wall_seconds:.1f} s",
        ]
        for p in failed:
            out.append(f"  failed alone: {p.participant}: {p.error}")
        return out


def participant_ids(count: int) -> list[str]:
    width = max(2, len(str(count)))
    return [f"p{i:0{width}d}" for i in range(1, count + 1)]


def run_cohort_demo(
    home: Path,
    participants: int,
    days: int,
    *,
    parallel: int = 2,
    revoke: str | None = None,
    today: date | None = None,
    echo: Callable[[str], None] = print,
    services: tuple[PostgresServer, ObjectStore] | None = None,
) -> CohortSummary:
    """The whole cohort demo; returns the numbers it prints (the caller prints ``summary.lines()``).

    Without ``services`` it starts Postgres and SeaweedFS with their state kept in ``<home>/services/``, so a re-run
    finds the published files and the lake of the first run (and changes nothing); tests pass their own servers."""
    from fitbit_sandbox.config import SandboxConfig
    from fitbit_sandbox.server import SandboxServer
    from fitbit_sleep.scale.instance import DAGSTER_DB, LAKE_DB, install_scale_instance, scale_env
    from fitbit_sleep.scale.services import postgres_server, seaweedfs_server
    from pipeline.paths import StoragePaths

    started = time.monotonic()
    home = home.resolve()
    ids = participant_ids(participants)
    if revoke is not None and revoke not in ids:
        raise ValueError(f"--revoke {revoke}: not one of the participants {ids[0]}..{ids[-1]}")
    with ExitStack() as stack:
        if services is None:
            pg = stack.enter_context(postgres_server(keep_in=home / "services" / "postgres"))
            store = stack.enter_context(seaweedfs_server(keep_in=home / "services" / "seaweedfs"))
        else:
            pg, store = services
        for database in (DAGSTER_DB, LAKE_DB):
            pg.create_database(database)
        echo(
            f"Postgres {pg.host}:{pg.port} (Dagster storage, DuckLake catalog); SeaweedFS S3 {store.endpoint}"
        )
        dagster_home = home / "dagster_home"
        install_scale_instance(dagster_home)
        base_env = {**os.environ, **scale_env(pg, store), "DAGSTER_HOME": str(dagster_home)}
        if today is not None:
            base_env["FITBIT_SLEEP_TODAY"] = today.isoformat()
        sandboxes: dict[str, Any] = {}
        for i, pid in enumerate(ids, start=1):
            paths = StoragePaths(home / "participants" / pid)
            config = SandboxConfig(
                days=days,
                seed=SEED_BASE + i,
                auto_approve=True,
                today=today,
                state_file=paths.sandbox_state_file,
            )
            sandboxes[pid] = stack.enter_context(SandboxServer(config))
        first_sandbox = next(iter(sandboxes.values()))
        last_day = first_sandbox.state.today
        first_day = last_day - timedelta(days=days - 1)
        envs = {pid: _participant_env(base_env, home, pid, sandboxes[pid], first_day) for pid in ids}
        for pid in ids:
            _login(envs[pid])
        echo(f"Logged in {len(ids)} participants (login --auto, one 0600 token file each).")
        for sandbox in sandboxes.values():
            requests.post(f"{sandbox.base_url}/_sandbox/reset-stats", timeout=10).raise_for_status()
        echo(
            f"Backfilling {first_day}..{last_day} for {len(ids)} participants through Dagster on Postgres, "
            f"{parallel} at a time"
            + (f"; {revoke}'s grant is revoked once the cohort is under way" if revoke else "")
        )
        outcomes = _backfill_all(ids, envs, first_day, last_day, parallel, revoke, home / "logs", echo)
        lake = _build_shared_warehouse(base_env, home, first_day)
        with _lake_connection(base_env) as con:
            nights = dict(
                con.execute("SELECT participant_id, count(*) FROM lake.nights GROUP BY 1").fetchall()
            )
        for pid, sandbox in sandboxes.items():
            outcome = outcomes[pid]
            outcome.nights = int(nights.get(pid, 0))
            stats = requests.get(f"{sandbox.base_url}/_sandbox/stats", timeout=10).json()
            by_route = stats.get("requests", {})
            outcome.calls = sum(n for route in by_route.values() for n in route.values())
            outcome.throttled = sum(route.get("429", 0) for route in by_route.values())
    wall = time.monotonic() - started
    for outcome in outcomes.values():
        # every call of the demo falls in one hour when the demo takes less than one (checked, else unknown: -1)
        outcome.max_calls_in_hour = outcome.calls if wall < 3600 else -1
    return CohortSummary(
        participants=[outcomes[pid] for pid in ids],
        lake_snapshot=lake.get("snapshot_id"),
        lake_rewritten=list(lake.get("rewritten", [])),
        lake_rows=dict(lake.get("rows", {})),
        wall_seconds=wall,
    )


def _participant_env(
    base: dict[str, str], home: Path, pid: str, sandbox: Any, first_day: date
) -> dict[str, str]:
    return {
        **base,
        **sandbox.client_env(),
        "FITBIT_SLEEP_HOME": str(home / "participants" / pid),
        "FITBIT_SLEEP_PARTICIPANT": pid,
        "FITBIT_SLEEP_START_DATE": first_day.isoformat(),
    }


def _login(env: dict[str, str]) -> None:
    from pipeline.config import Settings
    from pipeline.login import login
    from pipeline.paths import StoragePaths

    settings = Settings.from_env(env)
    login(
        settings, StoragePaths(settings.home), port=0, auto=True, open_browser=False, show_url=lambda _: None
    )


def revoke_grant(env: dict[str, str]) -> None:
    """Revoke the participant's grant at the sandbox (POST /oauth2/revoke, as a user removing the app would):
    every token of that user and app stops working, so their next call or refresh fails with invalid_grant/401."""
    from pipeline.paths import StoragePaths

    paths = StoragePaths(Path(env["FITBIT_SLEEP_HOME"]))
    for token_file in sorted(paths.tokens_dir.glob("*.json")):
        token = json.loads(token_file.read_text()).get("refresh_token")
        if token:
            requests.post(
                f"{env['FITBIT_AUTH_URL']}/oauth2/revoke",
                data={"token": token},
                auth=(env["FITBIT_CLIENT_ID"], env["FITBIT_CLIENT_SECRET"]),
                timeout=10,
            ).raise_for_status()


def _backfill_all(
    ids: list[str],
    envs: dict[str, dict[str, str]],
    first_day: date,
    last_day: date,
    parallel: int,
    revoke: str | None,
    logs: Path,
    echo: Callable[[str], None],
) -> dict[str, ParticipantOutcome]:
    """``parallel`` worker processes (``participant_run``) take the participants one by one from a shared queue;
    ``revoke``'s grant is revoked as soon as another participant's backfill has ended (so mid-run), just before its
    own backfill starts. A worker that dies is reported against its participant and replaced."""
    one_done = threading.Event()
    order = [p for p in ids if p != revoke] + ([revoke] if revoke else [])
    if revoke and len(order) > 1:
        order.insert(min(parallel, len(order) - 1), order.pop())  # not first: someone lands before it
    queue = list(reversed(order))
    lock = threading.Lock()
    outcomes: dict[str, ParticipantOutcome] = {}
    logs.mkdir(parents=True, exist_ok=True)
    task_keys = ("FITBIT_SLEEP_HOME", "FITBIT_SLEEP_PARTICIPANT", "FITBIT_SLEEP_START_DATE")

    def start_worker(slot: int) -> subprocess.Popen[str]:
        base = envs[order[0]]
        with open(logs / f"worker-{slot}.log", "a") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "fitbit_sleep.scale.participant_run"],
                env=base,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )

    def work(slot: int) -> None:
        worker = start_worker(slot)
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    pid = queue.pop()
                if pid == revoke:
                    one_done.wait(timeout=600)
                    revoke_grant(envs[pid])
                env = envs[pid]
                task = {
                    "env": {k: v for k, v in env.items() if k in task_keys or k.startswith("FITBIT_")},
                    "start": first_day.isoformat(),
                    "end": last_day.isoformat(),
                }
                outcome = ParticipantOutcome(pid)
                report = None
                try:
                    assert worker.stdin is not None and worker.stdout is not None
                    worker.stdin.write(json.dumps(task) + "\n")
                    worker.stdin.flush()
                    for line in worker.stdout:
                        report = _last_json_line(line)
                        if report is not None:
                            break
                except (BrokenPipeError, OSError):
                    report = None
                if report is not None:
                    outcome.success = bool(report.get("success"))
                    outcome.error = str(report.get("error") or "")
                    outcome.runs = list(report.get("runs") or [])
                else:
                    outcome.error = f"the worker process died (see {logs / f'worker-{slot}.log'})"
                    worker.kill()
                    worker.wait()
                    worker = start_worker(slot)
                outcomes[pid] = outcome
                one_done.set()
                echo(f"  {pid}: {'landed' if outcome.success else 'FAILED: ' + outcome.error}")
        finally:
            if worker.stdin is not None:
                worker.stdin.close()
            worker.wait(timeout=120)

    init = subprocess.run(
        [sys.executable, "-m", "fitbit_sleep.scale.participant_run", "--init"],
        env=envs[order[0]],
        capture_output=True,
        text=True,
    )
    if init.returncode != 0:  # Dagster's schema in Postgres, once, before the workers race to create it
        raise RuntimeError(
            f"the Dagster instance did not open: {(init.stderr.strip().splitlines() or ['?'])[-1]}"
        )
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        for future in [pool.submit(work, slot) for slot in range(max(1, min(parallel, len(order))))]:
            future.result()
    return outcomes


def _last_json_line(text: str) -> dict[str, Any] | None:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None


def _build_shared_warehouse(base_env: dict[str, str], home: Path, first_day: date) -> dict[str, Any]:
    """One ``shared_warehouse_job`` run on the scale instance (in a process with the cohort's environment)."""
    env = {
        **base_env,
        "FITBIT_SLEEP_HOME": str(home / "cohort"),
        "FITBIT_SLEEP_PARTICIPANT": "cohort",
        "FITBIT_SLEEP_START_DATE": first_day.isoformat(),
        "FITBIT_SLEEP_TZ": "UTC",
    }
    done = subprocess.run(
        [sys.executable, "-m", "fitbit_sleep.scale.lake_run"], env=env, capture_output=True, text=True
    )
    report = _last_json_line(done.stdout)
    if done.returncode != 0 or not report:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the shared warehouse run failed: {report.get('error') if report else tail}")
    return report


class _lake_connection:
    """The lake, read-only, with the cohort's settings (a reader as any machine would open it)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __enter__(self) -> Any:
        from pipeline.lake import connect_lake
        from pipeline.scale_profile import ScaleSettings

        self.con = connect_lake(ScaleSettings.from_env(self.env), read_only=True)
        return self.con

    def __exit__(self, *exc: object) -> None:
        self.con.close()
