"""The token store against the real sandbox: single-flight refresh across processes, crash recovery, 5xx, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from pipeline.client import FitbitClient
from pipeline.config import Settings
from pipeline.errors import NotLoggedIn, ReauthRequired, TokenFileCorrupt
from pipeline.login import login
from pipeline.paths import StoragePaths
from pipeline.tokens import CRASH_HOOK_ENV, TokenStore, token_health

REPO = Path(__file__).resolve().parents[2]
TOKEN_PATH = "/oauth2/token"


def _login() -> tuple[Settings, StoragePaths, TokenStore]:
    settings = Settings.from_env()
    paths = StoragePaths(settings.home)
    result = login(settings, paths, port=0, auto=True, timeout=20)
    return settings, paths, TokenStore(settings, paths, result.user_id)


def _expire_locally(store: TokenStore) -> None:
    """Make our copy look expired so the next call refreshes (the server-side token is still valid)."""
    data = store.load()
    data["expires_at"] = time.time() - 1
    store.path.write_text(json.dumps(data))


def _token_counts(server: Any) -> dict[str, int]:
    stats = requests.get(f"{server.base_url}/_sandbox/stats", timeout=5).json()["requests"]
    return stats.get(f"POST {TOKEN_PATH}", {})


def _run_child(
    code: str, extra_env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(extra_env or {})}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_corrupt_or_empty_token_file_gives_a_clear_error(data_home: Path, sandbox_env: Any) -> None:
    settings = Settings.from_env()
    paths = StoragePaths(settings.home)
    store = TokenStore(settings, paths, "ABC123")
    with pytest.raises(NotLoggedIn, match="fitbit-sleep login"):
        store.access_token()
    paths.tokens_dir.mkdir(parents=True)
    for content, why in (
        ("", "empty"),
        ("{not json", "not valid JSON"),
        ('{"user_id": "ABC123"}', "missing"),
    ):
        store.path.write_text(content)
        with pytest.raises(TokenFileCorrupt, match=why) as info:
            store.access_token()
        assert "fitbit-sleep login" in str(info.value)


def test_expiring_token_is_refreshed_persisted_and_health_recorded(sandbox_env: Any) -> None:
    settings, paths, store = _login()
    before = store.load()
    _expire_locally(store)
    with FitbitClient(settings, store, paths=paths) as client:
        assert client.profile()["encodedId"] == store.user_id
    after = store.load()
    assert after["refresh_token"] != before["refresh_token"]
    assert after["access_token"] != before["access_token"]
    assert "refresh_in_flight" not in after
    health = token_health(paths)
    assert health["user_id"] == store.user_id
    assert health["last_refresh_at"] is not None and health["last_refresh_error"] is None
    assert health["refresh_count"] == 1
    assert not any(str(v) in json.dumps(health) for v in (after["access_token"], after["refresh_token"]))


def test_four_processes_refreshing_concurrently_never_hit_invalid_grant(
    sandbox_factory: Any, data_home: Path, use_sandbox: Callable[[Any], Any]
) -> None:
    # a 2 s access token: every process keeps needing refreshes
    server = sandbox_factory(access_token_ttl=2, quota=100_000)
    use_sandbox(server)
    _, paths, store = _login()
    child = """
        import json, time
        from pipeline.client import FitbitClient
        from pipeline.config import Settings
        from pipeline.errors import ReauthRequired
        ok = reauth = 0
        with FitbitClient.from_settings(Settings.from_env(), backoff_initial=0.05, backoff_max=0.5) as client:
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline:
                try:
                    client.profile(); ok += 1
                except ReauthRequired:
                    reauth += 1
                time.sleep(0.05)
        print(json.dumps({"ok": ok, "reauth": reauth}))
    """
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(child)],
            cwd=REPO,
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    try:
        results = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert all(p.returncode == 0 for p in procs)
    assert sum(r["reauth"] for r in results) == 0
    assert all(r["ok"] > 0 for r in results)
    counts = _token_counts(server)
    assert counts.get("400", 0) == 0, counts  # no invalid_grant ever reached the server
    assert store.load()["refresh_count"] >= 2  # the test really exercised several rotations


def test_process_killed_between_refresh_and_save_is_recovered_by_the_next(sandbox_env: Any) -> None:
    settings, paths, store = _login()
    old = store.load()
    _expire_locally(store)
    crashed = _run_child(
        """
        from pipeline.client import FitbitClient
        from pipeline.config import Settings
        FitbitClient.from_settings(Settings.from_env()).profile()
        """,
        {CRASH_HOOK_ENV: "1"},
    )
    assert crashed.returncode == -9, crashed.stderr
    journal = store.load()
    assert journal["refresh_token"] == old["refresh_token"]  # the new pair was never saved ...
    assert journal["refresh_in_flight"]  # ... and the interrupted refresh is journaled
    assert _token_counts(sandbox_env) == {"200": 2}  # the code exchange + the refresh the server did perform

    with FitbitClient(settings, store, paths=paths) as client:  # the next process replays the refresh token
        assert client.profile()["encodedId"] == store.user_id
    recovered = store.load()
    assert "refresh_in_flight" not in recovered and recovered["refresh_token"] != old["refresh_token"]
    # the recovered pair is the live one: it refreshes again without invalid_grant
    _expire_locally(store)
    with FitbitClient(settings, store, paths=paths) as client:
        client.profile()
    assert store.load()["refresh_count"] == 2
    assert _token_counts(sandbox_env).get("400", 0) == 0


def test_token_endpoint_502s_are_survived(
    sandbox_factory: Any, data_home: Path, use_sandbox: Callable[[Any], Any]
) -> None:
    server = sandbox_factory(faults="token5xx=0.5")
    use_sandbox(server)
    settings, paths, store = _login()
    for _ in range(6):
        _expire_locally(store)
        with FitbitClient(settings, store, paths=paths) as client:
            client.profile()
    counts = _token_counts(server)
    assert counts.get("502", 0) + counts.get("503", 0) + counts.get("500", 0) > 0, (
        counts
    )  # faults really happened
    assert counts.get("400", 0) == 0
    assert store.load()["refresh_count"] == 6


def test_revoked_grant_raises_reauth_required_and_records_it(sandbox_env: Any) -> None:
    settings, paths, store = _login()
    data = store.load()
    revoked = requests.post(
        f"{settings.api_url}/oauth2/revoke",
        data={"token": data["refresh_token"]},
        auth=(settings.client_id or "", settings.client_secret or ""),
        timeout=5,
    )
    assert revoked.status_code == 200
    _expire_locally(store)
    with pytest.raises(ReauthRequired, match="fitbit-sleep login") as info:
        store.access_token()
    assert data["refresh_token"] not in str(info.value)
    assert token_health(paths)["last_refresh_error"] == "invalid_grant"


@pytest.mark.parametrize("user_id", ["../../x", "a/b", ".hidden", "", "x" * 200, "a b"])
def test_a_user_id_that_cannot_name_a_token_file_is_refused(tmp_path: Path, user_id: str) -> None:
    from pipeline.config import Settings
    from pipeline.errors import FitbitSleepError
    from pipeline.paths import StoragePaths
    from pipeline.tokens import TokenStore

    settings = Settings(client_id="id", client_secret="s", home=tmp_path)
    store = TokenStore(settings, StoragePaths(tmp_path))
    with pytest.raises(FitbitSleepError, match="user_id|token file"):
        store.save_login({"access_token": "a", "refresh_token": "r", "expires_in": 100, "user_id": user_id})
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_no_login_names_the_configured_provider(tmp_path: Path) -> None:
    """A Google Health user without a login is told about their Google login, not a Fitbit one."""
    paths = StoragePaths(tmp_path)
    for source, label in (("google-health", "Google"), ("fitbit", "Fitbit")):
        settings = Settings(client_id="id", client_secret="s", home=tmp_path, source=source)
        with pytest.raises(
            NotLoggedIn, match=f"^No saved {label} login: no token file under .*fitbit-sleep login"
        ):
            TokenStore(settings, paths).access_token()
