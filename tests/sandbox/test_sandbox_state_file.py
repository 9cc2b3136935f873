"""The sandbox's OAuth state file: a login outlives the sandbox process, and two sandboxes sharing the file agree.

Why it matters: `make demo` logs in once; `fitbit-sleep status`, `backfill` and `make dev` start their own sandbox
later on the same data root and must keep using that login (a fresh in-memory sandbox refused it with
invalid_token / invalid_grant).
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import requests
from sandbox_helpers import issue_tokens, token_request


def _profile(server: Any, access_token: str) -> requests.Response:
    return requests.get(
        f"{server.base_url}/1/user/-/profile.json",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=10,
    )


def _refresh(server: Any, refresh_token: str) -> requests.Response:
    return token_request(server, {"grant_type": "refresh_token", "refresh_token": refresh_token})


def test_tokens_issued_by_one_sandbox_work_in_the_next(sandbox_factory: Any, tmp_path: Path) -> None:
    state = tmp_path / "sandbox" / "oauth.json"
    first = sandbox_factory(state_file=state)
    pair = issue_tokens(first)
    first.stop()
    assert stat.S_IMODE(state.stat().st_mode) == 0o600  # it holds tokens

    second = sandbox_factory(state_file=state)
    assert _profile(second, pair["access_token"]).status_code == 200
    refreshed = _refresh(second, pair["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    # single use survives the restart too: the first pair's refresh token replays only until the new pair is used
    assert _profile(second, refreshed.json()["access_token"]).status_code == 200
    second.stop()
    third = sandbox_factory(state_file=state)
    assert _refresh(third, pair["refresh_token"]).json()["errors"][0]["errorType"] == "invalid_grant"
    assert _refresh(third, refreshed.json()["refresh_token"]).status_code == 200


def test_two_running_sandboxes_on_one_state_file_share_the_refresh_chain(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    state = tmp_path / "oauth.json"
    a = sandbox_factory(state_file=state)
    b = sandbox_factory(state_file=state)
    pair = issue_tokens(a)
    assert _profile(b, pair["access_token"]).status_code == 200  # b reloads what a wrote
    new = _refresh(b, pair["refresh_token"]).json()
    assert _profile(a, new["access_token"]).status_code == 200  # the pair b issued is valid at a
    assert _refresh(a, pair["refresh_token"]).json()["errors"][0]["errorType"] == "invalid_grant"


def test_without_a_state_file_a_new_sandbox_knows_no_token(sandbox_factory: Any) -> None:
    pair = issue_tokens(sandbox_factory())
    other = sandbox_factory()
    assert _profile(other, pair["access_token"]).status_code == 401
