"""`fitbit-sleep login | status | plan | fetch | logout` end to end against the real sandbox."""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from fitbit_sleep.cli import main
from tests.clock import TEST_TODAY


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_login_status_plan_fetch_logout(sandbox_env: Any, data_home: Path) -> None:
    login = _run("login", "--auto")
    assert login.exit_code == 0, login.output
    assert "Logged in as" in login.output
    token_files = list((data_home / "tokens").glob("*.json"))
    assert len(token_files) == 1 and stat.S_IMODE(token_files[0].stat().st_mode) == 0o600
    tokens = json.loads(token_files[0].read_text())

    status = _run("status")
    assert status.exit_code == 0, status.output
    assert tokens["user_id"] in status.output
    assert "access token" in status.output and "/150 left" in status.output
    assert "nothing landed yet" in status.output and "api check      ok" in status.output

    plan = _run("plan", "--start", "2016-01-01", "--end", "2025-12-31")
    assert plan.exit_code == 0, plan.output
    assert "3653 days -> 37 calls" in plan.output
    assert plan.output.count("GET /1.2/user/-/sleep/date/") == 37

    today = TEST_TODAY
    start = today - timedelta(days=119)
    fetch = _run("fetch", "--start", start.isoformat(), "--end", today.isoformat())
    assert fetch.exit_code == 0, fetch.output
    assert "in 2 calls" in fetch.output and "landed 120 days" in fetch.output
    assert len(list((data_home / "raw" / "sleep").glob("date=*.json"))) == 120
    assert "120 days landed" in _run("status").output

    for result in (login, status, plan, fetch):
        assert tokens["access_token"] not in result.output and tokens["refresh_token"] not in result.output

    logout = _run("logout")
    assert logout.exit_code == 0, logout.output
    assert "Revoked" in logout.output
    assert not token_files[0].exists()
    assert (
        requests.post(  # the grant is really gone at the server
            f"{sandbox_env.base_url}/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            auth=(sandbox_env.config.client_id, sandbox_env.config.client_secret),
            timeout=5,
        ).status_code
        == 400
    )
    after = _run("status")
    assert after.exit_code == 1 and "fitbit-sleep login" in after.output


def test_status_exits_non_zero_with_the_advice_when_the_grant_is_revoked(
    sandbox_env: Any, data_home: Path
) -> None:
    assert _run("login", "--auto").exit_code == 0
    token_file = next((data_home / "tokens").glob("*.json"))
    tokens = json.loads(token_file.read_text())
    requests.post(
        f"{sandbox_env.base_url}/oauth2/revoke",
        data={"token": tokens["access_token"]},
        auth=(sandbox_env.config.client_id, sandbox_env.config.client_secret),
        timeout=5,
    ).raise_for_status()
    status = _run("status")
    assert status.exit_code == 1
    assert "Re-run `fitbit-sleep login`" in status.output
    assert tokens["refresh_token"] not in status.output


def test_status_exits_non_zero_with_the_gone_message_when_the_api_is_switched_off(
    sandbox_env: Any, data_home: Path
) -> None:
    assert _run("login", "--auto").exit_code == 0
    requests.post(f"{sandbox_env.base_url}/_sandbox/gone", json={"gone": True}, timeout=5).raise_for_status()
    status = _run("status")
    assert status.exit_code == 1
    assert "410 Gone" in status.output and "2 Nov 2026" in status.output
    assert "fitbit-sleep import" in status.output and "Traceback" not in status.output


def test_status_on_a_corrupt_token_file_is_one_clear_line(sandbox_env: Any, data_home: Path) -> None:
    (data_home / "tokens").mkdir()
    (data_home / "tokens" / "ABC123.json").write_text("")
    status = _run("status")
    assert status.exit_code == 1
    assert "unreadable (the file is empty)" in status.output and "Traceback" not in status.output


def test_login_auto_refuses_the_real_fitbit(sandbox_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FITBIT_AUTH_URL", "https://www.fitbit.com")
    result = _run("login", "--auto")
    assert result.exit_code == 1 and "loopback" in result.output


def test_plan_without_any_quota_seen_assumes_150_per_hour(data_home: Path) -> None:
    result = _run("plan", "--start", "1976-01-01", "--end", "2025-12-31")  # 18263 days -> 183 calls
    assert result.exit_code == 0
    assert "183 calls" in result.output and "150/h" in result.output and "min" in result.output
