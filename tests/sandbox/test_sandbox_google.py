"""The sandbox's Google Health API v4 side over real HTTP: Google's OAuth rules, the sleep list's live quirks, the
``google.rpc.Status`` errors and the quota. Answers are parsed with the official ``google-devicesandservices-health``
types with unknown fields refused, so a misspelt field or enum fails here."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from google.devicesandservices import health_v4

from tests.clock import TEST_TODAY

SLEEP = "/v4/users/me/dataTypes/sleep/dataPoints"
SCOPE = "https://www.googleapis.com/auth/googlehealth."
REDIRECT = "http://127.0.0.1:9/callback"


@pytest.fixture
def server(sandbox_factory: Any) -> Any:
    return sandbox_factory(days=120)


def _authorize(server: Any, **extra: str) -> tuple[str, dict[str, list[str]]]:
    params = {
        "client_id": server.config.google_client_id, "redirect_uri": REDIRECT, "response_type": "code",
        "scope": f"{SCOPE}sleep.readonly {SCOPE}settings.readonly", "state": "st", **extra,
    }  # fmt: skip
    response = requests.get(
        f"{server.base_url}/o/oauth2/v2/auth", params=params, allow_redirects=False, timeout=5
    )
    assert response.status_code == 302, response.text
    query = parse_qs(urlparse(response.headers["location"]).query)
    return query["code"][0], query


def _token(server: Any, **form: str) -> requests.Response:
    body = {
        "client_id": server.config.google_client_id,
        "client_secret": server.config.google_client_secret,
        **form,
    }
    return requests.post(f"{server.base_url}/token", data=body, timeout=5)


def _login(server: Any, **extra: str) -> dict[str, Any]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    code, _ = _authorize(
        server, access_type="offline", code_challenge=challenge, code_challenge_method="S256", **extra
    )
    answer = _token(
        server, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier
    )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _get(server: Any, token: str | None, path: str = SLEEP, **params: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{server.base_url}{path}", headers=headers, params=params, timeout=10)


def _window(days: int = 120) -> str:
    first, after = TEST_TODAY - timedelta(days=days - 1), TEST_TODAY + timedelta(days=1)
    return f'sleep.interval.civil_end_time >= "{first}" AND sleep.interval.civil_end_time < "{after}"'


def test_google_oauth_rules(server: Any) -> None:
    first = _login(server)
    assert (first["expires_in"], first["token_type"], first["refresh_token_expires_in"]) == (
        3599,
        "Bearer",
        604799,
    )
    assert first["scope"].split() == [f"{SCOPE}sleep.readonly", f"{SCOPE}settings.readonly"]
    # a repeat consent gives no refresh token unless prompt=consent
    assert "refresh_token" not in _login(server)
    assert "refresh_token" in _login(server, prompt="consent")
    # refresh: reusable, and the answer has no new refresh token
    for _ in range(2):
        again = _token(server, grant_type="refresh_token", refresh_token=first["refresh_token"])
        assert again.status_code == 200 and "refresh_token" not in again.json()
    unknown = _token(server, grant_type="refresh_token", refresh_token="bogus")
    assert (unknown.status_code, unknown.json()) == (
        400,
        {"error": "invalid_grant", "error_description": "Bad Request"},
    )
    wrong_secret = requests.post(
        f"{server.base_url}/token",
        data={
            "client_id": server.config.google_client_id,
            "client_secret": "x",
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
        },  # fmt: skip
        timeout=5,
    )
    assert (wrong_secret.status_code, wrong_secret.json()["error"]) == (401, "invalid_client")
    # PKCE is enforced once a challenge was sent
    code, _ = _authorize(server, code_challenge="x" * 43, code_challenge_method="S256")
    refused = _token(
        server, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier="y" * 43
    )
    assert refused.json()["error"] == "invalid_grant"
    # revoking the refresh token ends the grant: refresh and its access tokens
    assert requests.post(f"{server.base_url}/revoke", data={"token": first["refresh_token"]}, timeout=5).ok
    revoked = _token(server, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert revoked.json() == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }
    assert _get(server, first["access_token"], filter=_window()).status_code == 401


def test_the_7_day_end_of_a_testing_refresh_token_and_none_when_published(server: Any) -> None:
    testing = _login(server)
    requests.post(f"{server.base_url}/_sandbox/google", json={"testing": False}, timeout=5).raise_for_status()
    published = _login(server, prompt="consent")
    assert "refresh_token_expires_in" not in published
    requests.post(f"{server.base_url}/_sandbox/clock", json={"advance": 7 * 86400 + 1}, timeout=5)
    ended = _token(server, grant_type="refresh_token", refresh_token=testing["refresh_token"])
    assert ended.json()["error_description"] == "Token has been expired or revoked."
    assert _token(server, grant_type="refresh_token", refresh_token=published["refresh_token"]).ok


def test_the_sleep_list_has_the_live_shape(server: Any) -> None:
    token = _login(server)["access_token"]
    pages: list[dict[str, Any]] = []
    params: dict[str, Any] = {"filter": _window(), "pageSize": 100}  # above the cap: clamped to 25
    while True:
        response = _get(server, token, **params)
        assert response.status_code == 200
        health_v4.ListDataPointsResponse.from_json(response.text, ignore_unknown_fields=False)
        pages.append(response.json())
        if not pages[-1].get("nextPageToken"):
            break
        params["pageToken"] = pages[-1]["nextPageToken"]
    points = [p for page in pages for p in page.get("dataPoints", [])]
    assert all(len(page.get("dataPoints", [])) == 25 for page in pages[:-1]) and len(points) > 100
    assert pages[-1]["nextPageToken"] == ""
    sleep = points[0]["sleep"]
    assert (
        isinstance(sleep["summary"]["minutesAsleep"], str)
        and sleep["summary"]["minutesAfterWakeUp"].isdigit()
    )
    assert sleep["interval"]["startUtcOffset"] in ("-28800s", "-25200s")
    assert sleep["interval"]["startTime"].endswith("Z") and "civilStartTime" not in sleep["interval"]
    assert points[0]["name"].startswith("users/") and points[0]["name"].rsplit("/", 1)[1].isdigit()
    assert any(p["sleep"]["metadata"]["stagesStatus"] == "REJECTED_NAP" for p in points)
    assert {p["sleep"]["metadata"].get("mainSleep") for p in points} == {True, None}  # false is omitted
    starts = [p["sleep"]["interval"]["startTime"] for p in points]
    assert starts == sorted(starts, reverse=True)
    reconciled = _get(server, token, path=SLEEP + ":reconcile", filter=_window(3)).json()["dataPoints"][0]
    health_v4.ReconciledDataPoint.from_json(json.dumps(reconciled), ignore_unknown_fields=False)
    assert "dataSource" not in reconciled and reconciled["dataPointName"].startswith("users/")
    kinds = [entry["type"] for entry in reconciled["sleep"]["summary"]["stagesSummary"]]
    assert kinds[0] == kinds[1]  # the live duplication


def test_filters_tokens_and_errors_are_googles(server: Any) -> None:
    token = _login(server)["access_token"]
    bad = _get(
        server,
        token,
        filter='sleep.interval.civil_start_time >= "2026-01-01" AND sleep.interval.start_time < "2026-02-01T00:00:00Z"',
    )
    error = bad.json()["error"]
    assert (bad.status_code, error["status"]) == (400, "INVALID_ARGUMENT")
    assert error["details"][0]["reason"] == "INVALID_DATA_POINT_FILTER"
    violations = error["details"][1]["fieldViolations"]
    assert [v["description"].split("(")[1] for v in violations] == [
        "at line 1, column 1)",
        "at line 1, column 53)",
    ]
    assert _get(server, token, filter='sleep.interval.civil_end_time <= "2026-01-01"').status_code == 400
    assert (
        _get(server, token, filter='sleep.interval.civil_end_time >= "2026-01-01T00:00:00Z"').status_code
        == 400
    )
    since = f"{TEST_TODAY - timedelta(days=10)}T00:00:00Z"
    physical = _get(server, token, filter=f'sleep.interval.end_time >= "{since}"')
    ends = [p["sleep"]["interval"]["endTime"] for p in physical.json()["dataPoints"]]
    assert physical.status_code == 200 and ends and min(ends) >= since
    first = _get(server, token, filter=_window()).json()
    other = _get(server, token, filter=_window(30), pageToken=first["nextPageToken"])
    assert (other.status_code, other.json()["error"]["message"]) == (400, "Invalid page token.")
    missing = _get(server, None, filter=_window()).json()["error"]
    assert (missing["code"], missing["details"][0]["reason"]) == (401, "CREDENTIALS_MISSING")
    assert _get(server, "ya29.nope").json()["error"]["status"] == "UNAUTHENTICATED"
    assert (
        _get(server, token, path="/v4/users/me/dataTypes/heart-beat/dataPoints").json()["error"]["details"][
            0
        ]["reason"]
        == "INVALID_PARENT_DATA_TYPE_COLLECTION"
    )
    identity = _get(server, token, path="/v4/users/me/identity").json()
    health_v4.Identity.from_json(json.dumps(identity), ignore_unknown_fields=False)
    settings = _get(server, token, path="/v4/users/me/settings").json()
    health_v4.Settings.from_json(json.dumps(settings), ignore_unknown_fields=False)
    assert settings["timeZone"] == "America/Los_Angeles"


def test_the_quota_is_300_a_minute_per_user(server: Any) -> None:
    token = _login(server)["access_token"]
    statuses = [_get(server, token, path="/v4/users/me/identity").status_code for _ in range(301)]
    assert statuses[:300] == [200] * 300 and statuses[300] == 429
    body = _get(server, token, path="/v4/users/me/identity").json()["error"]
    assert (body["status"], body["details"][0]["reason"]) == ("RESOURCE_EXHAUSTED", "RATE_LIMIT_EXCEEDED")
    requests.post(f"{server.base_url}/_sandbox/clock", json={"advance": 60}, timeout=5)
    assert _get(server, token, path="/v4/users/me/identity").status_code == 200
