"""The v1.2 client against the real sandbox: chunking, quota waits, retries, typed errors, redaction."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from fitbit_sandbox.config import SandboxConfig
from pipeline.client import FitbitClient, chunk_range
from pipeline.config import ConfigError, Settings
from pipeline.errors import (
    ApiUnreachable,
    FitbitApiGone,
    FitbitUnavailable,
    FitbitValidationError,
    InsufficientScope,
    WrongApiUrl,
)
from pipeline.login import login
from pipeline.oauth import make_session
from pipeline.paths import StoragePaths
from pipeline.tokens import TokenStore
from tests.clock import TEST_TODAY, latest_day

RANGE = "GET /1.2/user/-/sleep/date/{start}/{end}.json"


def _logged_in_client(**kwargs: Any) -> FitbitClient:
    settings = Settings.from_env()
    paths = StoragePaths(settings.home)
    result = login(settings, paths, port=0, auto=True, timeout=20)
    return FitbitClient(settings, TokenStore(settings, paths, result.user_id), paths=paths, **kwargs)


def _stats(server: Any) -> dict[str, dict[str, int]]:
    return requests.get(f"{server.base_url}/_sandbox/stats", timeout=5).json()["requests"]


def _control(server: Any, name: str, **body: Any) -> None:
    requests.post(f"{server.base_url}/_sandbox/{name}", json=body, timeout=5).raise_for_status()


def _reset_stats(server: Any) -> None:
    requests.post(f"{server.base_url}/_sandbox/reset-stats", timeout=5).raise_for_status()


@pytest.mark.parametrize("days", [1, 99, 100, 101, 200, 201, 730, 3650])
def test_a_range_of_n_days_is_split_into_ceil_n_over_100_inclusive_chunks(days: int) -> None:
    start = date(2020, 1, 1)
    end = start + timedelta(days=days - 1)
    chunks = chunk_range(start, end)
    assert len(chunks) == math.ceil(days / 100)
    assert chunks[0][0] == start and chunks[-1][1] == end
    assert all((b - a).days + 1 <= 100 for a, b in chunks)
    assert all(nxt[0] == prev[1] + timedelta(days=1) for prev, nxt in zip(chunks, chunks[1:], strict=False))


def test_730_day_fetch_makes_exactly_8_range_calls(
    sandbox_factory: Any, data_home: Path, use_sandbox: Callable[[Any], Any]
) -> None:
    server = sandbox_factory(days=730)
    use_sandbox(server)
    client = _logged_in_client()
    _reset_stats(server)
    today = TEST_TODAY
    fetch = client.sleep(today - timedelta(days=729), today)
    assert _stats(server) == {RANGE: {"200": 8}}
    assert fetch.calls == 8 and len(fetch.api_paths) == 8
    days = {log["dateOfSleep"] for log in fetch.logs}
    assert len(days) > 600  # most nights have sleep
    assert all(fetch.start.isoformat() <= d <= fetch.end.isoformat() for d in days)
    assert fetch.fetched_at.tzinfo is not None
    quota = client.last_quota
    assert (
        quota is not None
        and quota.limit == 150
        and quota.remaining is not None
        and quota.remaining <= 150 - 8
    )


def test_429_waits_for_the_reset_not_retry_after_and_then_succeeds(
    sandbox_factory: Any, data_home: Path, use_sandbox: Callable[[Any], Any]
) -> None:
    server = sandbox_factory(quota=3, quota_window=4)
    use_sandbox(server)
    waits: list[tuple[float, str]] = []
    client = _logged_in_client(on_wait=lambda s, why: waits.append((s, why)), reset_margin=0.3)
    # spend the window with a second client that the first knows nothing about
    other = FitbitClient(client.settings, client.store, paths=client.paths, reset_margin=0.3)
    for _ in range(3):
        try:
            other.profile()
        except FitbitUnavailable:
            break
    _reset_stats(server)
    today = TEST_TODAY
    fetch = client.sleep(today - timedelta(days=399), today)  # 4 calls through a 3-per-3-s quota
    assert fetch.calls >= 4 and len(fetch.api_paths) == 4
    stats = _stats(server)[RANGE]
    assert stats["200"] == 4
    # -Reset is honoured: retrying after Retry-After (half of it here, like the real API's drift) would 429 again
    assert stats.get("429", 0) <= 1
    assert waits, "the client never reported a wait"
    assert all(0 < seconds <= 4 + 0.3 * 2**5 for seconds, _ in waits)  # bounded by -Reset + margin, not 3600
    assert any("quota" in why for _, why in waits)


def test_transient_faults_are_retried_and_the_data_is_complete(
    sandbox_factory: Any, data_home: Path, use_sandbox: Callable[[Any], Any]
) -> None:
    clean = sandbox_factory(days=400)
    use_sandbox(clean)
    today = TEST_TODAY
    start = today - timedelta(days=399)
    expected = sorted(log["logId"] for log in _logged_in_client().sleep(start, today).logs)

    faulty = sandbox_factory(days=400, faults="5xx=0.3,truncate=0.2,timeout=0.1,timeout_seconds=1.5")
    use_sandbox(faulty)
    client = _logged_in_client(timeout=(2.0, 0.5), backoff_initial=0.05, backoff_max=0.3, attempts=10)
    fetch = client.sleep(start, today)
    assert sorted(log["logId"] for log in fetch.logs) == expected
    stats = _stats(faulty)[RANGE]
    assert stats["200"] >= 4 and sum(v for k, v in stats.items() if k != "200") >= 1


def test_persistent_failure_names_the_date_range(sandbox_env: Any) -> None:
    client = _logged_in_client(backoff_initial=0.01, backoff_max=0.02, attempts=3)
    _control(sandbox_env, "faults", spec="5xx=1.0")
    with pytest.raises(FitbitUnavailable, match="sleep 2024-01-01..2024-01-31"):
        client.sleep(date(2024, 1, 1), date(2024, 1, 31))
    assert client.calls_made == 3  # bounded: three tries, then the error


def test_pending_last_night_is_reported_as_not_final(
    sandbox_factory: Any, data_home: Path, use_sandbox: Any
) -> None:
    # "today" must be a date with a main sleep (the one that waits for the sync): the last such day up to TEST_TODAY
    today = latest_day(SandboxConfig(days=120, today=TEST_TODAY), before=TEST_TODAY)
    sandbox = use_sandbox(sandbox_factory(today=today))
    client = _logged_in_client()
    _control(sandbox, "sync", state="pending")
    fetch = client.sleep(today - timedelta(days=150), today)
    assert fetch.pending_dates == {today}
    assert not any(log["dateOfSleep"] == today.isoformat() and log["isMainSleep"] for log in fetch.logs)
    _control(sandbox, "sync", state="synced")
    assert client.sleep(today - timedelta(days=150), today).pending_dates == set()


def test_400_is_a_validation_error_with_fitbits_message(sandbox_env: Any) -> None:
    client = _logged_in_client()
    with pytest.raises(FitbitValidationError, match="400") as info:
        client._get("/1.2/user/-/sleep/date/2024-01-01/2024-12-31.json", what="sleep 2024-01-01..2024-12-31")
    assert "2024-01-01..2024-12-31" in str(info.value)
    assert client.calls_made == 1


def test_410_gone_is_one_clear_error_after_one_request(sandbox_env: Any) -> None:
    client = _logged_in_client()
    _control(sandbox_env, "gone", gone=True)  # 2 Nov 2026 arrives after the login
    _reset_stats(sandbox_env)
    calls_before = client.calls_made
    with pytest.raises(FitbitApiGone, match="2 Nov 2026") as info:
        client.sleep(date(2024, 1, 1), date(2024, 12, 31))
    assert "import" in str(info.value)
    assert client.calls_made - calls_before == 1
    assert sum(n for per_status in _stats(sandbox_env).values() for n in per_status.values()) == 1


def test_logs_and_output_never_contain_a_token(
    sandbox_env: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)  # requests-oauthlib logs whole token responses at DEBUG
    logging.getLogger("requests_oauthlib").setLevel(logging.DEBUG)
    client = _logged_in_client()
    first = client.store.load()
    data = client.store.load()
    data["expires_at"] = time.time() - 1
    client.store.path.write_text(json.dumps(data))
    client.sleep(TEST_TODAY - timedelta(days=30), TEST_TODAY)
    second = client.store.load()
    secrets = {first["access_token"], first["refresh_token"], second["access_token"], second["refresh_token"]}
    secrets.add(sandbox_env.config.client_secret)
    assert second["refresh_token"] != first["refresh_token"]  # a refresh happened while capturing
    out, err = capsys.readouterr()
    text = caplog.text + out + err + "\n".join(r.getMessage() for r in caplog.records)
    # the capture really saw the token traffic (requests-oauthlib logs the token request and response at DEBUG)
    assert any(r.name.startswith("requests_oauthlib") and "token" in r.getMessage() for r in caplog.records)
    assert "[REDACTED]" in text
    for secret in secrets:
        assert secret not in text


def test_403_without_the_sleep_scope_is_insufficient_scope_after_one_request(sandbox_env: Any) -> None:
    client = _logged_in_client()
    # the user logs in again and unticks `sleep` on the consent page: the saved grant has only `profile`
    settings = client.settings
    client_id, client_secret = settings.require_client()
    session = make_session(
        client_id, redirect_uri="http://127.0.0.1:9/callback", scope=["profile"], pkce="S256"
    )
    url, _state = session.authorization_url(f"{settings.auth_url}/oauth2/authorize")
    callback = requests.get(url, allow_redirects=False, timeout=5).headers["Location"]
    token = session.fetch_token(
        f"{settings.api_url}/oauth2/token",
        authorization_response=callback.removesuffix("#_=_"),
        auth=(client_id, client_secret),
    )
    client.store.save_login(dict(token))
    calls_before = client.calls_made
    with pytest.raises(InsufficientScope, match="fitbit-sleep login"):
        client.sleep(date(2024, 1, 1), date(2024, 1, 31))
    assert client.calls_made - calls_before == 1


# --- a wrong FITBIT_API_URL: refused before any request, or one short error naming the setting -----------------------


def _client_at(url: str, **kwargs: Any) -> FitbitClient:
    """A client logged in at the sandbox whose FITBIT_API_URL then points at ``url``."""
    logged_in = _logged_in_client()
    settings = dataclasses.replace(logged_in.settings, api_url=url)
    return FitbitClient(
        settings, TokenStore(settings, logged_in.paths or StoragePaths(settings.home)), **kwargs
    )


def test_a_malformed_api_url_is_refused_before_any_request(sandbox_env: Any) -> None:
    _logged_in_client()
    _reset_stats(sandbox_env)
    settings = dataclasses.replace(Settings.from_env(), api_url="not-a-url")
    with pytest.raises(ConfigError, match=r"^FITBIT_API_URL='not-a-url' is not a usable base URL"):
        FitbitClient.from_settings(settings)
    assert _stats(sandbox_env) == {}


def test_a_refused_connection_is_one_error_naming_fitbit_api_url_after_one_quick_retry(
    sandbox_env: Any, refused_url: str
) -> None:
    slept: list[float] = []
    client = _client_at(refused_url, sleep=slept.append)
    with pytest.raises(ApiUnreachable) as info:
        client.sleep(date(2024, 1, 1), date(2024, 1, 31))
    message = str(info.value)
    assert message.startswith(f"Cannot reach {refused_url} (connection refused). Check FITBIT_API_URL")
    assert "\n" not in message
    assert client.calls_made == 2 and len(slept) == 1 and slept[0] < 2  # not six tries of growing backoff


def test_a_404_on_the_api_base_says_fitbit_api_url_looks_wrong(sandbox_env: Any) -> None:
    client = _client_at(sandbox_env.base_url + "/wrong")
    with pytest.raises(WrongApiUrl) as info:
        client.profile()
    assert f"FITBIT_API_URL={sandbox_env.base_url}/wrong looks wrong" in str(info.value)
    assert "no message" not in str(info.value) and client.calls_made == 1


def test_a_token_refresh_against_a_refused_port_names_the_setting_and_keeps_the_login(
    sandbox_env: Any, refused_url: str
) -> None:
    client = _client_at(refused_url)
    before = client.store.load()
    with pytest.raises(ApiUnreachable, match="connection refused.*FITBIT_API_URL"):
        client.store.refresh(rejected_access_token=before["access_token"])
    after = client.store.load()
    assert after["refresh_token"] == before["refresh_token"]
    assert after["last_refresh_error"] == "unreachable: connection refused"


def test_a_token_refresh_that_gets_404_says_fitbit_api_url_looks_wrong(sandbox_env: Any) -> None:
    client = _client_at(sandbox_env.base_url + "/wrong")
    before = client.store.load()
    with pytest.raises(WrongApiUrl, match="token endpoint: .*FITBIT_API_URL=.*/wrong looks wrong"):
        client.store.refresh(rejected_access_token=before["access_token"])
    assert client.store.load()["refresh_token"] == before["refresh_token"]
