"""`fitbit-sleep status` shows the local facts first, and the sandbox profile makes the CLI work after the demo.

Why: after `make demo`, status used to spend ~20 s retrying the real API and print only a connection error; using
the sandbox took four variables, a new login and DAGSTER_HOME. Here a data root is set up as the demo leaves it
(a login made against a sandbox with a state file, the profile), the sandbox is stopped, every FITBIT_ and DAGSTER_
variable but the data root is removed, and the commands run as a user types them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from dagster import DagsterInstance, DagsterRunStatus

from fitbit_sandbox.config import SandboxConfig
from fitbit_sandbox.server import SandboxServer
from fitbit_sleep.cli import main
from fitbit_sleep.sandbox_profile import SandboxProfile, save_profile
from pipeline.paths import StoragePaths
from tests.clock import TEST_TODAY
from tests.dagster_project.dagster_helpers import login_to

DAYS = 20


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _bare_env(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("FITBIT_", "DAGSTER_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FITBIT_SLEEP_HOME", str(home))


@pytest.fixture
def demo_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data root as `make demo` leaves it: a sandbox profile and a login kept in the sandbox's state file."""
    home = tmp_path / "data"
    paths = StoragePaths(home)
    with SandboxServer(
        SandboxConfig(days=DAYS, today=TEST_TODAY, auto_approve=True, state_file=paths.sandbox_state_file)
    ) as sandbox:
        login_to(sandbox, home)
        save_profile(
            paths,
            SandboxProfile(seed=42, days=DAYS, start_date=sandbox.state.store.first, today=TEST_TODAY),
        )
    _bare_env(monkeypatch, home)
    return home


def test_after_the_demo_status_and_backfill_work_with_no_variable_set(demo_root: Path) -> None:
    status = _run("status")
    assert status.exit_code == 0, status.output
    assert "built-in sandbox" in status.output and "login" in status.output
    assert "ok in" in status.output and "Sandbox S." in status.output  # the demo's login was accepted
    assert "FITBIT_API_URL" not in os.environ  # the sandbox's variables did not outlive the command

    backfill = _run("backfill", "--last", "3")
    assert backfill.exit_code == 0, backfill.output
    assert "3 days in 1 run " in backfill.output and "1 API call," in backfill.output
    dagster_home = demo_root / "dagster_home"  # DAGSTER_HOME follows the data root
    assert os.environ["DAGSTER_HOME"] == str(dagster_home.resolve())
    with DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert len(runs) == 2 and all(r.status == DagsterRunStatus.SUCCESS for r in runs)

    again = _run("status")
    assert again.exit_code == 0, again.output
    assert "3 days landed" in again.output and "last night" in again.output and "built " in again.output


def test_status_shows_local_facts_and_one_line_when_the_api_is_unreachable(
    demo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SandboxServer(SandboxConfig(days=5, today=TEST_TODAY)) as gone:
        closed = gone.base_url  # a port nothing listens on once this sandbox stopped
    monkeypatch.setenv("FITBIT_API_URL", closed)  # an explicit URL wins over the profile
    status = _run("status")
    assert status.exit_code == 1
    lines = status.output.splitlines()
    assert lines[0].startswith("data root") and any(line.startswith("login ") for line in lines)
    assert any(line.startswith("data coverage") and "nothing landed yet" in line for line in lines)
    (api_line,) = [line for line in lines if line.startswith("api check")]
    assert "failed" in api_line and closed in api_line and api_line == lines[-1]
    assert "Traceback" not in status.output and "retry" not in status.output


def test_status_with_no_login_and_no_data_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _bare_env(monkeypatch, tmp_path / "empty")
    monkeypatch.setenv("FITBIT_API_URL", "http://127.0.0.1:9")
    status = _run("status")
    assert status.exit_code == 1
    assert "fitbit-sleep login" in status.output and "not built yet" in status.output


def test_the_profile_start_date_sets_the_partitions(demo_root: Path) -> None:
    from dagster_project.partitions import ProjectConfig
    from fitbit_sleep.sandbox_profile import load_profile, profile_sandbox

    profile = load_profile(StoragePaths(demo_root))
    assert profile is not None
    with profile_sandbox() as sandbox:
        assert sandbox is not None
        config = ProjectConfig.from_env()
        assert (config.start_date, config.today) == (profile.start_date, TEST_TODAY)
        assert sandbox.state.store.first == profile.start_date and sandbox.state.today == TEST_TODAY


def test_status_of_a_google_login_names_the_v4_api_and_its_account(
    sandbox_factory: Any, data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = sandbox_factory(days=20)
    for name, value in server.google_env().items():
        monkeypatch.setenv(name, value)
    assert _run("login", "--auto").exit_code == 0
    result = _run("status")
    assert result.exit_code == 0, result.output
    rows = {line[:15].strip(): line[15:] for line in result.output.splitlines()}  # labels are padded to 15
    assert rows["api"] == f"Google Health API v4 at {server.base_url}"
    assert rows["api check"].startswith("ok in ") and "(Fitbit user " in rows["api check"]
    assert "googlehealth.sleep.readonly" in rows["login"]
