"""Google login, tokens and the v4 client against the real sandbox (its Google OAuth and ``health:v4`` endpoints).

Covers issue 15's client list: the same sessions as v1.2 over one history, the three ends of pagination, the
in-progress and unprocessed last night, every error class (revoked grant, Testing expiry, scope, not linked, API
disabled, bad filter, wrong URL, 429 storm, 5xx), the refresh that answers no refresh token, and the raw landing.
"""

from __future__ import annotations

import json
import math
import os
import stat
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from fitbit_sandbox.config import SandboxConfig
from pipeline.client import FitbitClient
from pipeline.config import Settings
from pipeline.errors import (
    AccountNotLinked,
    FitbitValidationError,
    GrantRevoked,
    InsufficientScope,
    RefreshEndedInTesting,
    ServiceDisabled,
    WrongApiUrl,
)
from pipeline.landing import land_fetch, read_day
from pipeline.login import login
from pipeline.paths import StoragePaths
from pipeline.sources.google_health.client import GoogleHealthClient
from pipeline.tokens import TokenStore, token_health
from tests.clock import TEST_TODAY, latest_day

SLEEP = "GET /v4/users/{user}/dataTypes/{data_type}/{method}"


@pytest.fixture
def google(sandbox_factory: Callable[..., Any], data_home: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A sandbox with 120 days, the environment pointing the pipeline at its v4 side."""
    server = sandbox_factory()
    for name, value in server.google_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FITBIT_SLEEP_TODAY", TEST_TODAY.isoformat())
    return server


def _control(server: Any, name: str, **body: Any) -> dict[str, Any]:
    response = requests.post(f"{server.base_url}/_sandbox/{name}", json=body, timeout=5)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def _sleep_calls(server: Any) -> dict[str, int]:
    return requests.get(f"{server.base_url}/_sandbox/stats", timeout=5).json()["requests"].get(SLEEP, {})


def _client(**kwargs: Any) -> GoogleHealthClient:
    settings = Settings.from_env()
    paths = StoragePaths(settings.home)
    login(settings, paths, port=0, auto=True, timeout=20)
    return GoogleHealthClient(settings, TokenStore(settings, paths), paths=paths, **kwargs)


def test_login_auto_saves_a_private_google_login_with_identity_and_time_zone(
    google: Any, data_home: Path
) -> None:
    settings = Settings.from_env()
    result = login(settings, StoragePaths(data_home), port=0, auto=True, timeout=20)
    info = _control(google, "google")
    assert result.user_id == info["health_user_id"]
    assert result.timezone == google.config.timezone
    assert stat.S_IMODE(os.stat(result.token_file).st_mode) == 0o600
    saved = json.loads(result.token_file.read_text())
    assert saved["provider"] == "google-health"
    assert saved["scope"].split() == [
        "https://www.googleapis.com/auth/googlehealth.sleep.readonly",
        "https://www.googleapis.com/auth/googlehealth.settings.readonly",
    ]
    assert saved["expires_in"] == 3599
    health = token_health(StoragePaths(data_home))
    assert health["provider"] == "google-health"
    assert 6.9 < health["refresh_token_expires_in_days"] <= 7.0  # the app is in Testing
    profile = json.loads(StoragePaths(data_home).profile_file.read_text())
    assert (profile["user_id"], profile["timezone"]) == (info["health_user_id"], google.config.timezone)


def test_v4_lands_the_same_sessions_as_v12_over_one_history(google: Any, data_home: Path) -> None:
    start, end = TEST_TODAY - timedelta(days=119), TEST_TODAY
    with _client() as client:
        v4 = client.sleep(start, end)
    fitbit_settings = Settings.from_env(
        {**os.environ, **google.client_env(), "FITBIT_SLEEP_SOURCE": "fitbit"}
    )
    fitbit_paths = StoragePaths(data_home / "v12")
    login(fitbit_settings, fitbit_paths, port=0, auto=True, timeout=20)
    with FitbitClient(
        fitbit_settings, TokenStore(fitbit_settings, fitbit_paths), paths=fitbit_paths
    ) as v12_client:
        v12 = v12_client.sleep(start, end)

    def facts(logs: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
        return {
            log["startTime"]: (
                log["dateOfSleep"], log["endTime"], log["type"], log.get("isMainSleep"), log["minutesAsleep"],
                log["timeInBed"], {k: v["minutes"] for k, v in log["levels"]["summary"].items()},
                len(log["levels"]["data"]), len(log["levels"].get("shortData", [])),
            )
            for log in logs
        }  # fmt: skip

    assert len(v4.logs) == len(v12.logs) > 100
    assert facts(v4.logs) == facts(v12.logs)  # 120 days are all in the stages era: every flag is there
    assert v4.pending_dates == v12.pending_dates == set()
    assert v4.source == "google-health" and v4.calls == math.ceil(len(v4.logs) / 25)
    assert len(v4.raw_pages) == v4.calls


@pytest.mark.parametrize("page_end", ["empty", "missing", "object"])
def test_paging_stops_at_an_empty_or_missing_token_and_at_an_empty_object(google: Any, page_end: str) -> None:
    _control(google, "google", page_end=page_end)
    with _client() as client:
        fetch = client.sleep(TEST_TODAY - timedelta(days=60), TEST_TODAY)
    pages = [json.loads(raw) for raw in fetch.raw_pages]
    full = math.ceil(len(fetch.logs) / 25)
    assert len(fetch.logs) > 50
    if page_end == "object":
        assert len(pages) == full + 1 and pages[-1] == {}
    else:
        assert len(pages) == full
        assert ("nextPageToken" in pages[-1]) == (page_end == "empty")
        assert pages[-1].get("nextPageToken", "") == ""
    assert all(page["nextPageToken"] for page in pages[:-1])
    starts = [p["sleep"]["interval"]["startTime"] for page in pages for p in page.get("dataPoints", [])]
    assert starts == sorted(starts, reverse=True)  # newest first, across pages


@pytest.mark.parametrize("state", ["unsynced", "pending"])
def test_the_last_night_waits_while_in_progress_or_unprocessed(
    sandbox_factory: Any, data_home: Path, monkeypatch: pytest.MonkeyPatch, state: str
) -> None:
    # the sandbox's "today" is its latest night up to TEST_TODAY: the sync state acts on that night
    night = latest_day(SandboxConfig(days=120, today=TEST_TODAY), before=TEST_TODAY)
    google = sandbox_factory(today=night)
    for name, value in google.google_env().items():
        monkeypatch.setenv(name, value)
    start = night - timedelta(days=3)
    with _client() as client:
        complete = client.sleep(start, night)
        last_main = [log for log in complete.logs if log["dateOfSleep"] == str(night) and log["isMainSleep"]]
        assert last_main
        _control(google, "sync", state=state)
        waiting = client.sleep(start, night)
        first = json.loads(waiting.raw_pages[0])["dataPoints"][0]["sleep"]
        assert "summary" not in first  # listed first, without a summary
        assert ("endTime" in first["interval"]) == (state == "pending")
        assert waiting.pending_dates == {night}
        assert last_main[0]["startTime"] not in {log["startTime"] for log in waiting.logs}
        landed = land_fetch(StoragePaths(data_home), waiting)
        assert landed.pending == 1
        assert read_day(StoragePaths(data_home), night)["state"] == "pending"  # type: ignore[index]
        _control(google, "sync", state="synced")  # the next daily run picks the night up
        again = land_fetch(StoragePaths(data_home), client.sleep(start, night))
    day = read_day(StoragePaths(data_home), night)
    assert day is not None and day["state"] == "final" and day["source"] == "google-health"
    assert last_main[0]["logId"] in {log["logId"] for log in day["payload"]["sleep"]}
    assert night in again.changed_dates
    assert day["source_ref"].startswith("raw/source_pages/google-health/")
    kept = json.loads((data_home / day["source_ref"]).read_text())
    assert kept["source"] == "google-health" and kept["pages"][0]["dataPoints"]


def test_an_expired_access_token_is_refreshed_and_the_reusable_refresh_token_kept(google: Any) -> None:
    with _client() as client:
        before = json.loads(client.store.path.read_text())
        _control(google, "clock", advance=3700)  # the sandbox's access token (3599 s) has expired
        fetch = client.sleep(TEST_TODAY - timedelta(days=5), TEST_TODAY)
        after = json.loads(client.store.path.read_text())
    assert fetch.logs
    assert client.store.refreshes == 1
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] == before["refresh_token"]  # Google answers no new one
    assert after["refresh_token_expires_at"] == before["refresh_token_expires_at"]
    assert after["refresh_token_issued_at"] == before["refresh_token_issued_at"]


def test_a_revoked_grant_says_so(google: Any) -> None:
    with _client() as client:
        _control(google, "google", revoke_all=True)
        with pytest.raises(GrantRevoked, match="revoked") as caught:
            client.sleep(TEST_TODAY - timedelta(days=2), TEST_TODAY)
    assert "fitbit-sleep login" in str(caught.value)
    assert json.loads(client.store.path.read_text())["last_refresh_error"] == "invalid_grant"


def test_a_testing_refresh_token_ends_after_7_days_with_the_publish_advice(
    google: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _client() as client:
        eight_days = 8 * 86400
        _control(google, "clock", advance=eight_days)
        monkeypatch.setattr("pipeline.tokens._now", lambda: time.time() + eight_days)
        with pytest.raises(RefreshEndedInTesting, match="7 days after consent") as caught:
            client.sleep(TEST_TODAY - timedelta(days=2), TEST_TODAY)
    assert "Publish app" in str(caught.value)


def test_google_rpc_errors_become_the_typed_errors(google: Any) -> None:
    window = (TEST_TODAY - timedelta(days=2), TEST_TODAY)
    with _client() as client:
        _control(google, "google", account_linked=False)
        with pytest.raises(AccountNotLinked, match="not linked"):
            client.sleep(*window)
        _control(google, "google", account_linked=True, service_enabled=False)
        with pytest.raises(ServiceDisabled, match="health.googleapis.com"):
            client.sleep(*window)
        _control(google, "google", service_enabled=True)
        with pytest.raises(FitbitValidationError, match="INVALID_DATA_POINT_FILTER"):
            client._get(
                "/v4/users/me/dataTypes/sleep/dataPoints",
                what="bad filter",
                params={"filter": 'sleep.interval.civil_start_time >= "2026-01-01"'},
            )
    settings = Settings.from_env({**os.environ, "GOOGLE_HEALTH_API_URL": google.base_url + "/nope"})
    with (
        GoogleHealthClient(settings, TokenStore(settings, StoragePaths(settings.home))) as wrong,
        pytest.raises(WrongApiUrl, match="GOOGLE_HEALTH_API_URL"),
    ):
        wrong.sleep(*window)


def test_a_login_without_the_sleep_scope_is_refused(google: Any, data_home: Path) -> None:
    """The consent page lets the user untick scopes; the API then answers ACCESS_TOKEN_SCOPE_INSUFFICIENT."""
    settings = Settings.from_env()
    with _client() as client:
        data = json.loads(client.store.path.read_text())
    location = requests.get(  # a second consent, where the user left only the settings scope ticked
        f"{google.base_url}/o/oauth2/v2/auth",
        params={
            "client_id": settings.client_id,
            "redirect_uri": "http://127.0.0.1:9/cb",
            "response_type": "code",
            "scope": "https://www.googleapis.com/auth/googlehealth.settings.readonly",
            "access_type": "offline",
        },  # fmt: skip
        allow_redirects=False,
        timeout=5,
    ).headers["location"]
    code = location.split("code=")[1].split("&")[0]
    answer = requests.post(
        f"{google.base_url}/token",
        data={
            "grant_type": "authorization_code",
            "code": requests.utils.unquote(code),
            "redirect_uri": "http://127.0.0.1:9/cb",
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
        },  # fmt: skip
        timeout=5,
    ).json()
    assert "refresh_token" not in answer  # a repeat consent without prompt=consent gives none
    data["access_token"] = answer["access_token"]
    client.store.path.write_text(json.dumps(data))
    with (
        GoogleHealthClient(settings, TokenStore(settings, StoragePaths(data_home))) as narrow,
        pytest.raises(InsufficientScope, match="insufficient authentication scopes"),
    ):
        narrow.sleep(TEST_TODAY - timedelta(days=2), TEST_TODAY)


def test_a_429_storm_waits_for_the_next_minute_and_5xx_are_retried(google: Any) -> None:
    waits: list[float] = []
    with _client(sleep=waits.append) as client:
        _control(google, "faults", storm=3)
        fetch = client.sleep(TEST_TODAY - timedelta(days=30), TEST_TODAY)
        assert fetch.logs and len(waits) == 3
        assert all(0 < w <= 60 + 1 * 2**5 for w in waits)  # the next minute plus a short, growing margin
        assert "429" in _sleep_calls(google)
        _control(google, "faults", spec="5xx=0.5")
        again = client.sleep(TEST_TODAY - timedelta(days=30), TEST_TODAY)
    assert [log["logId"] for log in again.logs] == [log["logId"] for log in fetch.logs]
    statuses = _sleep_calls(google)
    assert statuses.get("500", 0) + statuses.get("503", 0) > 0
