"""OAuth contract of the sandbox (reference §3): authorize, token, PKCE, refresh replay, revoke, introspect."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests_oauthlib import OAuth2Session
from sandbox_helpers import REDIRECT, authorize, code_from, control, issue_tokens, pkce_pair, token_request


def test_rule_standard_client_runs_pkce_flow_range_fetch_and_refresh(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """requests-oauthlib OAuth2Session: authorization code + PKCE, a 100-day range and a refresh; only URLs changed."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the sandbox is plain http on loopback
    www = api = sandbox.base_url  # the only change against https://www.fitbit.com / https://api.fitbit.com
    client_id, secret = sandbox.config.client_id, sandbox.config.client_secret
    session = OAuth2Session(client_id, redirect_uri=REDIRECT, scope=["sleep", "profile"], pkce="S256")
    url, state = session.authorization_url(f"{www}/oauth2/authorize")
    browser = requests.get(url, allow_redirects=False, timeout=10)  # the test acts as the browser
    assert browser.status_code == 302
    callback = browser.headers["location"]
    assert callback.endswith("#_=_") and parse_qs(urlsplit(callback).query)["state"] == [state]
    token = session.fetch_token(f"{api}/oauth2/token", authorization_response=callback, client_secret=secret)
    assert token["token_type"] == "Bearer" and token["expires_in"] == 28800 and token["user_id"]
    info = control(sandbox, "info")
    start, end = info["last_date"][:8] + "01", info["last_date"]
    from datetime import date, timedelta

    end_day = date.fromisoformat(end)
    start = (end_day - timedelta(days=99)).isoformat()
    response = session.get(f"{api}/1.2/user/-/sleep/date/{start}/{end}.json")
    assert response.status_code == 200
    logs = response.json()["sleep"]
    assert len({log["dateOfSleep"] for log in logs}) >= 95
    refreshed = session.refresh_token(f"{api}/oauth2/token", auth=(client_id, secret))
    assert refreshed["access_token"] != token["access_token"]
    assert session.get(f"{api}/1/user/-/profile.json").json()["user"]["encodedId"] == token["user_id"]


def test_rule_authorize_shows_consent_page_unless_auto_approve(sandbox_factory: Any) -> None:
    """Without --auto-approve the authorize URL shows an HTML consent page; allowing redirects with code+state+#_=_."""
    server = sandbox_factory(auto_approve=False)
    page = authorize(server)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"] and "<form" in page.text
    fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
    allowed = requests.post(
        f"{server.base_url}/oauth2/authorize", data={**fields, "granted": "sleep", "action": "allow"},
        allow_redirects=False, timeout=10,
    )  # fmt: skip
    assert allowed.status_code == 302 and allowed.headers["location"].endswith("#_=_")
    query = parse_qs(urlsplit(allowed.headers["location"]).query)
    assert query["state"] == ["st4te"] and re.fullmatch(r"[0-9a-f]{40}", query["code"][0])
    grant = token_request(
        server, {"grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": REDIRECT}
    )
    assert grant.json()["scope"] == "sleep"  # the user unticked profile
    denied = requests.post(f"{server.base_url}/oauth2/authorize", data={**fields, "action": "deny"},
                           allow_redirects=False, timeout=10)  # fmt: skip
    assert "error=access_denied" in denied.headers["location"]


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"client_id": "someone-else"}, "Invalid client_id"),
        ({"redirect_uri": "https://evil.example/cb"}, "Invalid redirect_uri"),
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "between 43 and 128"),
        ({"code_challenge": "x" * 43, "code_challenge_method": "plain"}, "Unsupported code_challenge_method"),
    ],
)
def test_rule_bad_authorize_request_gives_error_page_not_redirect(
    sandbox: Any, override: dict[str, str], fragment: str
) -> None:
    """A wrong client or redirect URI (or bad PKCE parameters) shows an error page; it never redirects."""
    response = authorize(sandbox, **override)
    assert response.status_code == 400 and "location" not in response.headers
    assert fragment in response.text


def test_rule_pkce_verifier_must_match_and_code_is_one_time(sandbox: Any) -> None:
    """Token exchange checks the S256 verifier, the redirect URI and single use of the code."""
    verifier, challenge = pkce_pair()
    code = code_from(authorize(sandbox, code_challenge=challenge, code_challenge_method="S256"))
    base = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    wrong = token_request(sandbox, {**base, "code_verifier": pkce_pair()[0]})
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["errorType"] == "invalid_grant"
    assert wrong.json()["success"] is False
    other_redirect = token_request(
        sandbox, {**base, "code_verifier": verifier, "redirect_uri": "http://127.0.0.1:1/x"}
    )
    assert other_redirect.status_code == 400
    ok = token_request(sandbox, {**base, "code_verifier": verifier})
    assert ok.status_code == 200
    assert set(ok.json()) == {"access_token", "expires_in", "refresh_token", "scope", "token_type", "user_id"}
    again = token_request(sandbox, {**base, "code_verifier": verifier})
    assert again.status_code == 400 and again.json()["errors"][0]["errorType"] == "invalid_grant"


def test_rule_server_app_may_omit_pkce_public_client_may_not(sandbox: Any) -> None:
    """With Basic auth (secret) PKCE is optional; a public client (client_id in the body) must use it."""
    code = code_from(authorize(sandbox))
    public = token_request(
        sandbox, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                  "client_id": sandbox.config.client_id}, auth=None,
    )  # fmt: skip
    assert public.status_code == 400
    code = code_from(authorize(sandbox))
    server_app = token_request(
        sandbox, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    )
    assert server_app.status_code == 200


def test_rule_bad_client_secret_is_401_invalid_client_with_basic_challenge(sandbox: Any) -> None:
    """Basic auth with a wrong secret: 401 invalid_client, Fitbit errors[] body, WWW-Authenticate Basic."""
    code = code_from(authorize(sandbox))
    response = token_request(
        sandbox, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        auth=(sandbox.config.client_id, "wrong"),
    )  # fmt: skip
    assert response.status_code == 401
    assert response.json()["errors"][0]["errorType"] == "invalid_client"
    assert response.headers["www-authenticate"] == 'Basic realm="api.fitbit.com"'


def test_rule_refresh_is_single_use_with_identical_replay_until_new_pair_used(sandbox: Any) -> None:
    """Replaying the last-used refresh token returns the identical pair until that pair is used, then invalid_grant."""
    first = issue_tokens(sandbox)
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    second = token_request(sandbox, refresh)
    assert second.status_code == 200
    replay = token_request(sandbox, refresh)
    assert replay.json() == second.json()
    new_access = second.json()["access_token"]
    used = requests.get(f"{sandbox.base_url}/1/user/-/profile.json",
                        headers={"Authorization": f"Bearer {new_access}"}, timeout=10)  # fmt: skip
    assert used.status_code == 200
    late = token_request(sandbox, refresh)
    assert late.status_code == 400 and late.json()["errors"][0]["errorType"] == "invalid_grant"
    # the old access token stays valid until it expires ("multiple active access tokens")
    old = requests.get(f"{sandbox.base_url}/1/user/-/profile.json",
                       headers={"Authorization": f"Bearer {first['access_token']}"}, timeout=10)  # fmt: skip
    assert old.status_code == 200


def test_rule_replay_ends_when_the_new_refresh_token_is_used(sandbox: Any) -> None:
    """Using the new refresh token also ends the replay window of the previous one."""
    first = issue_tokens(sandbox)
    second = token_request(
        sandbox, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    ).json()
    third = token_request(sandbox, {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]})
    assert third.status_code == 200
    stale = token_request(sandbox, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert stale.status_code == 400


def test_rule_revoke_kills_all_tokens_and_introspect_reports_it(sandbox: Any) -> None:
    """POST /oauth2/revoke revokes every token of the user+client; /1.1/oauth2/introspect shows active true/false."""
    watcher = issue_tokens(sandbox)["access_token"]
    pair = issue_tokens(sandbox)
    bearer = {"Authorization": f"Bearer {watcher}"}
    live = requests.post(f"{sandbox.base_url}/1.1/oauth2/introspect", data={"token": pair["access_token"]},
                         headers=bearer, timeout=10).json()  # fmt: skip
    assert live["active"] is True and live["user_id"] == pair["user_id"] and live["exp"] > live["iat"]
    revoked = requests.post(f"{sandbox.base_url}/oauth2/revoke", data={"token": pair["refresh_token"]},
                            auth=(sandbox.config.client_id, sandbox.config.client_secret), timeout=10)  # fmt: skip
    assert revoked.status_code == 200
    after = requests.get(f"{sandbox.base_url}/1/user/-/profile.json",
                         headers={"Authorization": f"Bearer {pair['access_token']}"}, timeout=10)  # fmt: skip
    assert after.status_code == 401 and after.json()["errors"][0]["errorType"] == "invalid_token"
    refresh = token_request(sandbox, {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]})
    assert refresh.status_code == 400
    fresh = issue_tokens(sandbox)["access_token"]
    gone = requests.post(f"{sandbox.base_url}/1.1/oauth2/introspect", data={"token": watcher},
                         headers={"Authorization": f"Bearer {fresh}"}, timeout=10).json()  # fmt: skip
    assert gone == {"active": False}


def test_rule_access_token_expires_after_ttl_on_the_server_clock(sandbox_factory: Any) -> None:
    """After --access-token-ttl seconds (clock advanced by a control endpoint) the API answers 401 expired_token."""
    server = sandbox_factory(access_token_ttl=600)
    pair = issue_tokens(server)
    assert pair["expires_in"] == 600
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    assert (
        requests.get(f"{server.base_url}/1/user/-/profile.json", headers=headers, timeout=10).status_code
        == 200
    )
    control(server, "clock", {"advance": 601})
    expired = requests.get(f"{server.base_url}/1/user/-/profile.json", headers=headers, timeout=10)
    assert expired.status_code == 401 and expired.json()["errors"][0]["errorType"] == "expired_token"
    renewed = token_request(server, {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]})
    assert renewed.status_code == 200


def test_rule_token_endpoint_faults_502_and_409(sandbox_factory: Any) -> None:
    """token5xx makes the token endpoint answer 502/503; token409 makes a refresh answer 409 without consuming it."""
    server = sandbox_factory()
    pair = issue_tokens(server)
    control(server, "faults", {"spec": "token409=1"})
    conflict = token_request(server, {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]})
    assert conflict.status_code == 409 and conflict.json()["success"] is False
    control(server, "faults", {"spec": "token5xx=1"})
    edge = token_request(server, {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]})
    assert edge.status_code in (502, 503)
    control(server, "faults", {"spec": ""})
    ok = token_request(server, {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]})
    assert ok.status_code == 200
