"""`make dev` (``python -m dagster_project.devserver``): the Dagster UI and daemon against the sandbox, one command.

Why a Python harness instead of ``dagster dev &`` in the Makefile: a backgrounded ``dagster dev`` ignores SIGINT and
leaves its webserver, daemon and code server running (dagster-notes §5). Here ``dagster dev`` runs in its own process
group; Ctrl-C or SIGTERM stops the whole group and waits for it, then stops the sandbox. The smoke test uses the same
``start_dagster_dev`` / ``stop_process_group`` functions.

What it does: installs the committed ``dagster.yaml`` into ``$DAGSTER_HOME`` (telemetry off, pools, run monitoring,
retries), starts the sandbox (unless ``FITBIT_API_URL`` points elsewhere), logs in with the sandbox's
auto-approve, and starts ``dagster dev`` with the schedule and sensors on (they default to RUNNING).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import requests

if TYPE_CHECKING:
    from fitbit_sandbox.server import SandboxServer

REPO_ROOT = Path(__file__).resolve().parent.parent
# Kept out of the repo root: Dagster warns when the working directory holds a dagster.yaml other than
# $DAGSTER_HOME's, and `make dev` runs from the root.
DAGSTER_YAML = REPO_ROOT / "dagster_project" / "dagster.yaml"


def install_instance_config(dagster_home: Path) -> Path:
    """Copy the committed dagster.yaml template into DAGSTER_HOME (the instance every process shares)."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    target = dagster_home / "dagster.yaml"
    shutil.copyfile(DAGSTER_YAML, target)
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_dagster_dev(
    env: Mapping[str, str], port: int, log_file: Path | None = None
) -> subprocess.Popen[bytes]:
    """``dagster dev`` for this repo's workspace, in its own session/process group (so it can be stopped whole)."""
    dagster = Path(sys.executable).with_name("dagster")
    out = open(log_file, "wb") if log_file else None  # noqa: SIM115 - owned by the child for its lifetime
    return subprocess.Popen(
        [str(dagster), "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO_ROOT,
        env=dict(env),
        stdout=out,
        stderr=subprocess.STDOUT if out else None,
        start_new_session=True,
    )


def wait_until_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    """Poll the webserver until it answers and the code location is loaded."""
    deadline = time.monotonic() + timeout
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dagster dev exited early with code {proc.returncode}")
        try:
            body = requests.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=5).json()
            entries = body["data"]["workspaceOrError"]["locationEntries"]
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                return
        except (requests.RequestException, KeyError, TypeError, ValueError):
            pass
        time.sleep(1.0)
    raise TimeoutError(f"dagster dev did not become ready on port {port} within {timeout:.0f} s")


def stop_process_group(proc: subprocess.Popen[bytes], timeout: float = 60.0) -> int:
    """SIGTERM the whole group and wait; SIGKILL only what is still there after ``timeout``."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    # the group leader is gone; make sure no child of it outlived it
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
    return int(proc.returncode)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=int(os.environ.get("DAGSTER_PORT", "3000")))
    parser.add_argument(
        "--sandbox-port", type=int, default=int(os.environ.get("FITBIT_SANDBOX_PORT", "8765"))
    )
    parser.add_argument("--sandbox-days", type=int, default=730)
    args = parser.parse_args(argv)

    env = dict(os.environ)
    dagster_home = Path(env.setdefault("DAGSTER_HOME", str(REPO_ROOT / ".dagster_home"))).resolve()
    env["DAGSTER_HOME"] = str(dagster_home)
    install_instance_config(dagster_home)
    data_home = Path(env.setdefault("FITBIT_SLEEP_HOME", str(REPO_ROOT / "data"))).resolve()
    env["FITBIT_SLEEP_HOME"] = str(data_home)

    sandbox = None
    if not env.get("FITBIT_API_URL"):
        sandbox = start_sandbox(env, data_home, port=args.sandbox_port, days=args.sandbox_days)
        print(f"Sandbox (fake Fitbit API): {sandbox.base_url}", flush=True)

    proc = start_dagster_dev(env, args.port)
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        wait_until_ready(args.port, proc)
        print(
            f"Dagster UI: http://127.0.0.1:{args.port}  (DAGSTER_HOME={dagster_home}; Ctrl-C stops)",
            flush=True,
        )
        while not stopping and proc.poll() is None:
            time.sleep(0.5)
    except (RuntimeError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
    finally:
        code = stop_process_group(proc)
        if sandbox is not None:
            sandbox.stop()
    return 0 if stopping else code


def start_sandbox(env: dict[str, str], data_home: Path, *, port: int, days: int) -> SandboxServer:
    """Start the sandbox, point ``env`` (client id/secret, API and auth URLs) at it and log in once; returns it."""
    from fitbit_sandbox.config import SandboxConfig
    from fitbit_sandbox.server import SandboxServer

    sandbox = SandboxServer(SandboxConfig(port=port, days=days, auto_approve=True)).start()
    env.update(sandbox.client_env())
    _login(env, data_home)
    return sandbox


def _login(env: dict[str, str], data_home: Path) -> None:
    """One auto-approved sandbox login, every start: a fresh sandbox knows none of the tokens an earlier sandbox
    issued (a saved refresh token would fail with invalid_grant), so a token file from `make demo` is replaced."""
    from pipeline.config import Settings
    from pipeline.login import login
    from pipeline.paths import StoragePaths

    paths = StoragePaths(data_home)
    login(Settings.from_env(env), paths, port=0, auto=True, timeout=30, show_url=lambda _url: None)


if __name__ == "__main__":
    sys.exit(main())
