"""`make dev` (``python -m dagster_project.devserver``): the Dagster UI and daemon against the sandbox, one command.

Why a Python harness instead of ``dagster dev &`` in the Makefile: a backgrounded ``dagster dev`` ignores SIGINT and
leaves its webserver, daemon and code server running (dagster-notes §5). Here ``dagster dev`` runs in its own process
group; Ctrl-C or SIGTERM stops the whole group and waits for it, then stops the sandbox. The smoke test uses the same
``start_dagster_dev`` / ``stop_process_group`` functions.

What it does: checks that its ports are free (and exits 2 at once, naming the variable to change, when one is not),
installs the committed ``dagster.yaml`` into ``$DAGSTER_HOME`` (default ``<data root>/dagster_home``: the run
history belongs with the data), starts the data root's sandbox (see ``fitbit_sleep/sandbox_profile.py``; a fresh data
root gets a sandbox profile, one with a real login and no profile uses the real API), logs in only when the saved
login is not accepted, and starts ``dagster dev`` with the schedule and sensors on (they default to RUNNING). Any
start-up failure exits non-zero.

Why ``python -W "ignore:Function `dev_command` is superseded" -m dagster dev`` and not ``dg dev``: ``dg dev -w workspace.yaml``
hands a workspace file straight to the same ``dagster dev`` implementation, so it would only remove the warning, at
the price of ``dagster-dg-cli`` and 31 more packages (cryptography, GitPython, the Dagster Cloud CLI). The warning is
silenced in the one process that emits it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from pipeline.atomic import atomic_write_bytes

if TYPE_CHECKING:
    from fitbit_sandbox.server import SandboxServer

REPO_ROOT = Path(__file__).resolve().parent.parent
# Kept out of the repo root: Dagster warns when the working directory holds a dagster.yaml other than
# $DAGSTER_HOME's, and `make dev` runs from the root.
DAGSTER_YAML = REPO_ROOT / "dagster_project" / "dagster.yaml"


def install_instance_config(dagster_home: Path) -> Path:
    """Copy the committed dagster.yaml template into DAGSTER_HOME (the instance every process shares).

    The copy names its own event-log directory (``<DAGSTER_HOME>/history/runs``, Dagster's default place): the
    event storage class cannot learn the instance's directory from Dagster, and falling back to the DAGSTER_HOME
    variable would send an instance opened by path (``DagsterInstance.from_config``) to the working directory."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    target = dagster_home / "dagster.yaml"
    template = DAGSTER_YAML.read_text(encoding="utf-8")
    marker = "  class: KeptOpenSqliteEventLogStorage\n  config: {}\n"
    assert marker in template, (
        "dagster.yaml: the event_log_storage block changed; update install_instance_config"
    )
    runs_dir = json.dumps(str(dagster_home.resolve() / "history" / "runs"))  # a JSON string is a YAML string
    text = template.replace(
        marker, f"  class: KeptOpenSqliteEventLogStorage\n  config:\n    base_dir: {runs_dir}\n"
    )
    atomic_write_bytes(target, text.encode("utf-8"))
    return target


def use_dagster_home(env: MutableMapping[str, str]) -> Path:
    """``$DAGSTER_HOME``, else ``<data root>/dagster_home``, absolute and set in ``env``.

    Why it follows the data root: runs, partitions and check results describe that data; with another
    FITBIT_SLEEP_HOME the demo used to record its runs in the repository's shared ``.dagster_home``."""
    from pipeline.config import Settings
    from pipeline.paths import StoragePaths

    default = StoragePaths(Settings.from_env(env).home).dagster_home
    home = Path(env.get("DAGSTER_HOME") or default).expanduser().resolve()
    env["DAGSTER_HOME"] = str(home)
    return home


def port_taken(port: int) -> bool:
    """True when something listens on 127.0.0.1:``port`` (same bind options as uvicorn, so TIME_WAIT is no match)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def taken_ports(ports: Mapping[str, int]) -> list[str]:
    """``VARIABLE=port`` for each port that is taken (port 0 means any free port and is never taken)."""
    return [f"{name}={port}" for name, port in ports.items() if port and port_taken(port)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_dagster_dev(
    env: Mapping[str, str], port: int, log_file: Path | None = None
) -> subprocess.Popen[bytes]:
    """``dagster dev`` for this repo's workspace, in its own session/process group (so it can be stopped whole)."""
    out = open(log_file, "wb") if log_file else None  # noqa: SIM115 - owned by the child for its lifetime
    # -W takes a message prefix here: a category of a third-party module cannot be named there (it is parsed before
    # site-packages is on the path: "Invalid -W option ignored").
    command = [sys.executable, "-W", "ignore:Function `dev_command` is superseded", "-m", "dagster", "dev"]
    return subprocess.Popen(
        [*command, "-w", str(REPO_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO_ROOT,
        env=dict(env),
        stdout=out,
        stderr=subprocess.STDOUT if out else None,
        start_new_session=True,
    )


def wait_until_ready(
    port: int,
    proc: subprocess.Popen[bytes],
    timeout: float = 300.0,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Poll the webserver until it answers and the code location is loaded (or ``should_stop`` says Ctrl-C)."""
    deadline = time.monotonic() + timeout
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
    while time.monotonic() < deadline and not should_stop():
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
    if should_stop():
        return
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
    # the group leader is gone; make sure no child of it outlived it (a run worker finishing its
    # writes under load can take a while; SIGKILL is delivered asynchronously, so wait after it too)
    if not _group_gone(proc.pid, timeout=30):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        _group_gone(proc.pid, timeout=15)
    return int(proc.returncode)


def _group_gone(pgid: int, timeout: float) -> bool:
    """Whether process group ``pgid`` has no member left, polling for up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=int(os.environ.get("DAGSTER_PORT", "3000")))
    parser.add_argument(
        "--sandbox-port", type=int, default=int(os.environ.get("FITBIT_SANDBOX_PORT", "8765"))
    )
    parser.add_argument("--sandbox-days", type=int, default=730)
    args = parser.parse_args(argv)

    env = dict(os.environ)
    data_home = Path(env.setdefault("FITBIT_SLEEP_HOME", str(REPO_ROOT / "data"))).resolve()
    env["FITBIT_SLEEP_HOME"] = str(data_home)
    dagster_home = use_dagster_home(env)
    with_sandbox = uses_sandbox(env, data_home)
    ports = {
        "DAGSTER_PORT": args.port,
        **({"FITBIT_SANDBOX_PORT": args.sandbox_port} if with_sandbox else {}),
    }
    taken = taken_ports(ports)
    if taken:
        print(
            f"error: port {' and '.join(taken)} is already in use (another `make dev`?). Stop what listens there, "
            f"or pick free ports, e.g. `make dev DAGSTER_PORT=3001 FITBIT_SANDBOX_PORT=8766`.",
            file=sys.stderr,
        )
        return 2
    install_instance_config(dagster_home)
    from dagster_project.event_storage import enable_event_batches
    from dagster_project.stuck_runs import clean_up

    for note in clean_up(dagster_home):  # runs a killed process left STARTED would block the schedule's runs
        print(note, flush=True)
    enable_event_batches(env)  # the daemon's run workers inherit it (dagster_project/event_storage.py)

    sandbox = None
    if with_sandbox:
        try:
            sandbox = start_sandbox(env, data_home, port=args.sandbox_port, days=args.sandbox_days)
        except Exception as exc:  # noqa: BLE001 - any start-up failure is one line and a non-zero exit
            print(f"error: the sandbox did not start: {exc}", file=sys.stderr)
            return 1
        print(f"Sandbox (fake Fitbit API): {sandbox.base_url}", flush=True)
    else:
        print(f"Fitbit API: {env.get('FITBIT_API_URL') or 'https://api.fitbit.com'}", flush=True)

    proc = start_dagster_dev(env, args.port)
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    failed = False
    try:
        wait_until_ready(args.port, proc, should_stop=lambda: stopping)
        if not stopping:
            print(
                f"Dagster UI: http://127.0.0.1:{args.port}  (DAGSTER_HOME={dagster_home}; Ctrl-C stops)",
                flush=True,
            )
        while not stopping and proc.poll() is None:
            time.sleep(0.5)
        failed = not stopping  # dagster dev ended by itself
    except (RuntimeError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        failed = True
    finally:
        code = stop_process_group(proc)
        if sandbox is not None:
            sandbox.stop()
    if failed:
        print(f"error: dagster dev stopped (exit {code}); see the log above", file=sys.stderr)
        return 1
    return 0


def uses_sandbox(env: Mapping[str, str], data_home: Path) -> bool:
    """The sandbox unless FITBIT_API_URL is set or the data root holds a login but no sandbox profile (a real
    account's data root: its tokens must not be replaced by a sandbox login)."""
    from fitbit_sleep.sandbox_profile import load_profile
    from pipeline.paths import StoragePaths

    if env.get("FITBIT_API_URL"):
        return False
    paths = StoragePaths(data_home)
    has_login = paths.tokens_dir.is_dir() and any(paths.tokens_dir.glob("*.json"))
    return load_profile(paths) is not None or not has_login


def start_sandbox(env: dict[str, str], data_home: Path, *, port: int, days: int) -> SandboxServer:
    """Start the data root's sandbox (creating its profile on a fresh root), point ``env`` at it (client id/secret,
    API and auth URLs, first partition) and log in when the saved login is missing or refused; returns it."""
    from fitbit_sandbox.server import SandboxServer
    from fitbit_sleep.sandbox_profile import SandboxProfile, load_profile, save_profile
    from pipeline.paths import StoragePaths

    paths = StoragePaths(data_home)
    profile = load_profile(paths)
    fresh = profile is None
    if profile is None:
        profile = SandboxProfile(seed=42, days=days, start_date=date.min)  # start_date set once it runs
    sandbox = SandboxServer(profile.config(paths, port=port)).start()
    try:
        if fresh:
            profile = replace(profile, start_date=sandbox.state.store.first)
            save_profile(paths, profile)
        env.update(sandbox.client_env())
        env.setdefault("FITBIT_SLEEP_START_DATE", profile.start_date.isoformat())
        if profile.today is not None:
            env.setdefault("FITBIT_SLEEP_TODAY", profile.today.isoformat())
        if not _login_works(env):
            _login(env, data_home)
    except BaseException:
        sandbox.stop()
        raise
    return sandbox


def _login_works(env: Mapping[str, str]) -> bool:
    """One profile call with the saved login (a refresh if it expired); False when there is none or it is refused."""
    from pipeline.client import FitbitClient
    from pipeline.config import Settings
    from pipeline.errors import FitbitSleepError

    try:
        with FitbitClient.from_settings(Settings.from_env(env), attempts=1) as client:
            client.profile()
    except FitbitSleepError:
        return False
    return True


def _login(env: dict[str, str], data_home: Path) -> None:
    """An auto-approved sandbox login (the sandbox's consent page approves by itself on loopback)."""
    from pipeline.config import Settings
    from pipeline.login import login
    from pipeline.paths import StoragePaths

    paths = StoragePaths(data_home)
    login(Settings.from_env(env), paths, port=0, auto=True, timeout=30, show_url=lambda _url: None)


if __name__ == "__main__":
    sys.exit(main())
