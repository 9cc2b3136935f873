"""`make dev` (dagster_project/devserver.py): ports checked before anything starts, the data root's sandbox and
login reused, a fresh root gets a profile, a real account's root is never given a sandbox login."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dagster_project.devserver import free_port, start_sandbox, uses_sandbox
from fitbit_sleep.sandbox_profile import load_profile
from pipeline.paths import StoragePaths

REPO_ROOT = Path(__file__).resolve().parents[2]


def _devserver(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FITBIT_", "DAGSTER_"))}
    env["FITBIT_SLEEP_HOME"] = str(tmp_path / "data")
    return subprocess.run(
        [sys.executable, "-m", "dagster_project.devserver", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("which", ["DAGSTER_PORT", "FITBIT_SANDBOX_PORT"])
def test_a_taken_port_exits_2_at_once_naming_its_variable(tmp_path: Path, which: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        ports = {"DAGSTER_PORT": free_port(), "FITBIT_SANDBOX_PORT": free_port(), which: taken}
        started = time.monotonic()
        done = _devserver(
            tmp_path,
            "--port",
            str(ports["DAGSTER_PORT"]),
            "--sandbox-port",
            str(ports["FITBIT_SANDBOX_PORT"]),
        )
        took = time.monotonic() - started
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{which}={taken} is already in use" in done.stderr
    assert "Traceback" not in done.stderr and "Dagster UI" not in done.stdout
    assert not (tmp_path / "data" / "sandbox").exists()  # nothing was started or written
    print(f"exit 2 after {took:.1f} s")  # informative only: no timing assert


def test_which_api_make_dev_uses(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    assert uses_sandbox({}, fresh)  # nothing there yet: the sandbox
    assert not uses_sandbox({"FITBIT_API_URL": "https://api.fitbit.com"}, fresh)
    real = tmp_path / "real"
    (real / "tokens").mkdir(parents=True)
    (real / "tokens" / "ABC123.json").write_text("{}")
    assert not uses_sandbox({}, real)  # a login without a sandbox profile belongs to a real account


def test_start_sandbox_makes_a_profile_once_then_reuses_the_login(tmp_path: Path) -> None:
    home = tmp_path / "data"
    paths = StoragePaths(home)
    env: dict[str, str] = {"FITBIT_SLEEP_HOME": str(home)}
    sandbox = start_sandbox(env, home, port=0, days=15)
    try:
        profile = load_profile(paths)
        assert profile is not None and profile.start_date == sandbox.state.store.first
        assert env["FITBIT_API_URL"] == sandbox.base_url
        assert env["FITBIT_SLEEP_START_DATE"] == profile.start_date.isoformat()
        token_file = next((home / "tokens").glob("*.json"))
        first_token = json.loads(token_file.read_text())["access_token"]
    finally:
        sandbox.stop()
    assert uses_sandbox({}, home)  # the root now has a profile (and a login): still the sandbox

    again = start_sandbox({"FITBIT_SLEEP_HOME": str(home)}, home, port=0, days=15)  # a new sandbox process
    try:
        assert json.loads(token_file.read_text())["access_token"] == first_token  # no new login needed
    finally:
        again.stop()
