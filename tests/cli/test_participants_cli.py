"""`fitbit-sleep participants add | list | retire`, `login --participant --auto`, `fetch` and `status` for a cohort,
run as the installed command a user types, against a real multi-user sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.clock import TEST_TODAY
from tests.dagster_project.dagster_helpers import set_account

FITBIT_SLEEP = str(Path(sys.executable).parent / "fitbit-sleep")


def last(days: int) -> tuple[str, str, str, str]:
    """``--start``/``--end`` of the last ``days`` days up to the pinned today."""
    return ("--start", (TEST_TODAY - timedelta(days=days - 1)).isoformat(), "--end", TEST_TODAY.isoformat())


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FITBIT_SLEEP, *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def cohort_env(sandbox_factory: Any, tmp_path: Path) -> tuple[Any, dict[str, str], Path]:
    server = sandbox_factory(days=40, accounts=("p1", "p2"))
    home = tmp_path / "home"
    env = {
        **os.environ,
        **server.client_env(),
        "FITBIT_SLEEP_HOME": str(home),
        "FITBIT_SLEEP_TODAY": TEST_TODAY.isoformat(),
    }
    return server, env, home


def test_bad_ids_and_unknown_participants_are_one_line_errors(
    cohort_env: tuple[Any, dict[str, str], Path],
) -> None:
    _, env, _ = cohort_env
    cases = [
        (("participants", "add", "Bad Id"), "is not a participant id"),
        (("participants", "add", "default"), "always exists"),
        (("participants", "add", "p1", "--tz", "Mars/Base"), "not a known IANA time zone"),
        (("participants", "retire", "p9"), "fitbit-sleep participants add p9"),
        (("login", "--participant", "p9", "--auto"), "No participant 'p9'"),
        (("fetch", *last(3), "--participant", "../x"), "is not a participant id"),
    ]
    for args, words in cases:
        done = _cli(env, *args)
        assert done.returncode == 1, args
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_a_cohort_from_add_to_status_with_one_revoked(cohort_env: tuple[Any, dict[str, str], Path]) -> None:
    server, env, home = cohort_env
    assert _cli(env, "participants", "add", "p1", "--tz", "America/Los_Angeles").returncode == 0
    added = _cli(env, "participants", "add", "p2")
    assert added.returncode == 0 and "fitbit-sleep login --participant p2" in added.stdout
    for p in ("p1", "p2"):
        login = _cli(env, "login", "--participant", p, "--auto")
        assert login.returncode == 0, login.stderr
        assert f"participant {p}: Logged in as" in login.stdout
    token_files = [f for p in ("p1", "p2") for f in (home / "participants" / p / "tokens").glob("*.json")]
    assert len(token_files) == 2 and {f.stat().st_mode & 0o777 for f in token_files} == {0o600}
    assert not (home / "tokens").exists()  # nothing landed in the default participant's place

    fetched = _cli(env, "fetch", *last(20))
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout.count("landed 20 days") == 2

    set_account(server, "p2", "revoked")
    again = _cli(env, "fetch", *last(5))
    assert again.returncode == 1
    assert "p1: " in again.stdout and "landed 5 days" in again.stdout
    assert "p2: " in again.stderr and "fitbit-sleep login --participant p2" in again.stderr
    assert "1 of 2 participants not fetched (p2); the others landed." in again.stderr

    assert _cli(env, "participants", "retire", "p2").returncode == 0
    listed = _cli(env, "participants", "list").stdout.splitlines()
    assert listed[0].split()[:2] == ["p1", "active"] and "logged in, 20 days landed" in listed[0]
    assert listed[1].split()[:2] == ["p2", "retired"]
    retired = _cli(env, "fetch", *last(2), "--participant", "p2")
    assert retired.returncode == 1 and "is retired" in retired.stderr

    status = _cli(env, "status")
    lines = {line.split()[0]: line for line in status.stdout.splitlines() if line.split()}
    assert "last night 20" in lines["p1"] and "pending 0" in lines["p1"] and "token ok" in lines["p1"]
    assert "quota" in lines["p1"] and "/150 used this hour" in lines["p1"]
    assert "retired" in lines["p2"] and "token refused (invalid_grant)" in lines["p2"]
    assert status.returncode == 0 and "(as p1)" in lines["api"]
