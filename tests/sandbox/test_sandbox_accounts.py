"""The multi-user sandbox (fitbit_sandbox/accounts.py): named accounts with their own history, tokens and quota, and
the switches that make one slow, revoked or gone. Real HTTP against a real server; logins as `login --auto` does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from fitbit_sandbox.accounts import account_names, parse_account_faults
from tests.dagster_project.dagster_helpers import add_and_login, set_account

ACCOUNTS = ("p1", "p2", "p3")


def _token(home: Path, participant: str) -> str:
    import json

    files = list((home / "participants" / participant / "tokens").glob("*.json"))
    assert len(files) == 1
    return str(json.loads(files[0].read_text())["access_token"])


def _get(server: Any, token: str, path: str) -> requests.Response:
    return requests.get(f"{server.base_url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)


@pytest.fixture
def cohort(sandbox_factory: Any, tmp_path: Path) -> tuple[Any, Path]:
    server = sandbox_factory(days=30, accounts=ACCOUNTS, quota=5)
    home = tmp_path / "home"
    add_and_login(server, home, ACCOUNTS)
    return server, home


def test_each_account_logs_in_as_itself_with_its_own_history(cohort: tuple[Any, Path]) -> None:
    server, home = cohort
    users, histories = set(), set()
    for name in ACCOUNTS:
        token = _token(home, name)
        profile = _get(server, token, "/1/user/-/profile.json").json()["user"]
        users.add(profile["encodedId"])
        sleep = _get(server, token, "/1.2/user/-/sleep/date/2026-11-01/2026-11-20.json").json()["sleep"]
        assert sleep, name
        histories.add(tuple((s["startTime"], s["minutesAsleep"]) for s in sleep))
    primary = requests.get(f"{server.base_url}/_sandbox/info", timeout=5).json()["user_id"]
    assert len(users) == 3 and primary not in users
    assert len(histories) == 3  # seeded per account: three different histories


def test_quota_counts_per_account(cohort: tuple[Any, Path]) -> None:
    server, home = cohort
    p1, p2 = _token(home, "p1"), _token(home, "p2")
    statuses = [_get(server, p1, "/1/user/-/profile.json").status_code for _ in range(6)]
    assert statuses[-1] == 429  # quota 5 (the login's profile call counted too)
    answer = _get(server, p2, "/1/user/-/profile.json")
    assert answer.status_code == 200
    assert answer.headers["Fitbit-Rate-Limit-Remaining"] == "3"  # p2: its login call and this one
    described = {
        a["account"]: a
        for a in requests.get(f"{server.base_url}/_sandbox/accounts", timeout=5).json()["accounts"]
    }
    assert described["p1"]["max_calls_in_window"] == 5 and described["p2"]["calls"] == 2


def test_a_revoked_account_is_refused_and_its_refresh_is_invalid_grant(cohort: tuple[Any, Path]) -> None:
    import json

    server, home = cohort
    set_account(server, "p2", "revoked")
    refused = _get(server, _token(home, "p2"), "/1/user/-/profile.json")
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["errorType"] == "invalid_token"
    refresh = json.loads(next((home / "participants/p2/tokens").glob("*.json")).read_text())["refresh_token"]
    answer = requests.post(
        f"{server.base_url}/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh},
        auth=(server.config.client_id, server.config.client_secret),
        timeout=10,
    )
    assert answer.status_code == 400 and answer.json()["errors"][0]["errorType"] == "invalid_grant"
    assert (
        _get(server, _token(home, "p1"), "/1/user/-/profile.json").status_code == 200
    )  # the others are fine


def test_a_gone_account_answers_410_and_a_slow_one_is_described(cohort: tuple[Any, Path]) -> None:
    server, home = cohort
    set_account(server, "p3", "gone")
    assert _get(server, _token(home, "p3"), "/1/user/-/profile.json").status_code == 410
    requests.post(
        f"{server.base_url}/_sandbox/accounts",
        json={"account": "p1", "state": "slow", "delay": 0.2},
        timeout=5,
    ).raise_for_status()
    assert _get(server, _token(home, "p1"), "/1/user/-/profile.json").status_code == 200
    described = {
        a["account"]: a
        for a in requests.get(f"{server.base_url}/_sandbox/accounts", timeout=5).json()["accounts"]
    }
    assert described["p1"]["state"] == "slow" and described["p1"]["delay_s"] == 0.2
    assert described["p3"]["state"] == "gone"


def test_an_unknown_account_cannot_sign_in_and_bad_switches_are_refused(sandbox_factory: Any) -> None:
    server = sandbox_factory(days=10, accounts=("p1",))
    page = requests.get(
        f"{server.base_url}/oauth2/authorize",
        params={
            "client_id": server.config.client_id,
            "response_type": "code",
            "scope": "sleep",
            "redirect_uri": "http://127.0.0.1:9/callback",
            "login_hint": "nobody",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert page.status_code == 400 and "No account nobody" in page.text
    bad = requests.post(
        f"{server.base_url}/_sandbox/accounts", json={"account": "p9", "state": "revoked"}, timeout=5
    )
    assert bad.status_code == 400 and "no sandbox account 'p9'" in bad.json()["error"]


def test_account_faults_from_config_and_names_from_a_count(sandbox_factory: Any) -> None:
    assert account_names("3") == ("p001", "p002", "p003")
    assert account_names("a, b") == ("a", "b")
    assert parse_account_faults("p2=revoked,p3=slow:1.5") == {"p2": ("revoked", 0.0), "p3": ("slow", 1.5)}
    with pytest.raises(ValueError, match="bad account fault"):
        parse_account_faults("p2=sleepy")
    server = sandbox_factory(days=10, accounts=account_names("2"), account_faults="p002=gone")
    states = {
        a["account"]: a["state"]
        for a in requests.get(f"{server.base_url}/_sandbox/accounts").json()["accounts"]
    }
    assert states == {"default": "ok", "p001": "ok", "p002": "gone"}
