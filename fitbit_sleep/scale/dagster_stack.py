"""The scale profile's Dagster: ``dagster-webserver`` and ``dagster-daemon`` as two processes on one Postgres
instance (`make scale-dev`, and the test that submits queued runs through it).

Why two processes and not ``dagster dev``: that is how the profile runs in production (two Deployments in
deploy/helm-values.yaml), and the daemon alone dequeues the runs under the per-participant tag limit of
deploy/dagster-scale.yaml and launches each in its own process. Each runs in its own process group, stopped whole.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

from dagster_project.devserver import stop_process_group, wait_until_ready
from fitbit_sleep.scale.instance import REPO_ROOT


def _start(command: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@contextmanager
def scale_dagster(env: Mapping[str, str], port: int, logs: Path) -> Iterator[None]:
    """Webserver on 127.0.0.1:``port`` and the daemon, both with ``env`` (the scale variables and DAGSTER_HOME);
    returns once the code location is loaded; both stopped on exit."""
    bin_dir = Path(sys.executable).parent
    workspace = str(REPO_ROOT / "workspace.yaml")
    logs.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        webserver = _start(
            [str(bin_dir / "dagster-webserver"), "-w", workspace, "-h", "127.0.0.1", "-p", str(port)],
            env,
            logs / "webserver.log",
        )
        stack.callback(stop_process_group, webserver)
        daemon = _start([str(bin_dir / "dagster-daemon"), "run", "-w", workspace], env, logs / "daemon.log")
        stack.callback(stop_process_group, daemon)
        wait_until_ready(port, webserver, timeout=300)
        yield


def main() -> int:
    """`make scale-dev`: Postgres + SeaweedFS (state in <data root>/scale-dev/services), the scale instance, the
    webserver and the daemon; prints the UI URL; Ctrl-C stops everything."""
    from fitbit_sleep.scale.instance import DAGSTER_DB, LAKE_DB, install_scale_instance, scale_env
    from fitbit_sleep.scale.services import postgres_server, seaweedfs_server

    home = Path(os.environ.get("FITBIT_SLEEP_HOME", REPO_ROOT / "data")).resolve()
    base = home / "scale-dev"
    port = int(os.environ.get("DAGSTER_PORT", "3000"))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with (
        postgres_server(keep_in=base / "services" / "postgres") as pg,
        seaweedfs_server(keep_in=base / "services" / "seaweedfs") as store,
    ):
        for database in (DAGSTER_DB, LAKE_DB):
            pg.create_database(database)
        dagster_home = base / "dagster_home"
        install_scale_instance(dagster_home)
        env = {
            **os.environ,
            **scale_env(pg, store),
            "DAGSTER_HOME": str(dagster_home),
            "FITBIT_SLEEP_HOME": str(home),
        }
        with scale_dagster(env, port, base / "logs"):
            print(
                f"Dagster (scale profile: Postgres {pg.host}:{pg.port}, S3 {store.endpoint}) on http://127.0.0.1:{port}"
            )
            print(
                "webserver and daemon are separate processes; logs in",
                base / "logs",
                "- Ctrl-C stops everything",
            )
            with suppress(KeyboardInterrupt):
                stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
