"""Login against the real sandbox: headless PKCE flow, profile saved, and errors that say what to do."""

from __future__ import annotations

import json
import socket
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from pipeline.config import ConfigError, Settings
from pipeline.errors import ApiUnreachable, FitbitApiGone
from pipeline.login import CallbackListener, LoginError, _check_callback, login
from pipeline.paths import StoragePaths


def _login(**kwargs: Any) -> Any:
    settings = Settings.from_env()
    return login(settings, StoragePaths(settings.home), port=0, auto=True, timeout=20, **kwargs)


def test_headless_login_saves_tokens_0600_and_profile(sandbox_env: Any, data_home: Path) -> None:
    result = _login()
    assert "sleep" in result.scope.split()
    token_file = data_home / "tokens" / f"{result.user_id}.json"
    assert result.token_file == token_file
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    saved = json.loads(token_file.read_text())
    assert saved["user_id"] == result.user_id and saved["access_token"] and saved["refresh_token"]
    profile = json.loads((data_home / "state" / "profile.json").read_text())
    assert profile == {
        "user_id": result.user_id,
        "timezone": sandbox_env.config.timezone,
        "offset_from_utc_millis": profile["offset_from_utc_millis"],
    }
    assert isinstance(profile["offset_from_utc_millis"], int)
    # no temp files left behind by the atomic writes
    assert [p.name for p in (data_home / "tokens").iterdir() if p.suffix == ".tmp"] == []


def test_auto_refuses_a_non_loopback_auth_url(sandbox_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FITBIT_AUTH_URL", "https://www.fitbit.com")
    with pytest.raises(LoginError, match="loopback"):
        _login()


@pytest.mark.parametrize("name", ["FITBIT_AUTH_URL", "FITBIT_API_URL"])
def test_a_malformed_url_is_refused_before_any_request(
    sandbox_env: Any, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "127.0.0.1:8080")
    with pytest.raises(ConfigError, match=f"^{name}='127.0.0.1:8080' is not a usable base URL"):
        _login()
    stats = requests.get(f"{sandbox_env.base_url}/_sandbox/stats", timeout=5).json()["requests"]
    assert stats == {}


@pytest.mark.parametrize("name", ["FITBIT_AUTH_URL", "FITBIT_API_URL"])
def test_a_refused_url_names_its_setting(
    sandbox_env: Any, monkeypatch: pytest.MonkeyPatch, refused_url: str, name: str
) -> None:
    monkeypatch.setenv(name, refused_url)
    with pytest.raises(ApiUnreachable) as info:
        _login()
    real = {"FITBIT_AUTH_URL": "https://www.fitbit.com", "FITBIT_API_URL": "https://api.fitbit.com"}[name]
    assert str(info.value).startswith(
        f"Cannot reach {refused_url} (connection refused). Check {name}: it should be {real}, or the "
    )


def test_wrong_client_secret_says_to_check_it(sandbox_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FITBIT_CLIENT_SECRET", "not-the-secret")
    with pytest.raises(LoginError, match="FITBIT_CLIENT_SECRET"):
        _login()


def test_unknown_client_id_is_reported_from_the_authorize_page(
    sandbox_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FITBIT_CLIENT_ID", "nobody")
    with pytest.raises(LoginError, match="FITBIT_CLIENT_ID"):
        _login()


def test_gone_api_says_so_instead_of_blaming_the_client_id(
    sandbox_factory: Any, data_home: Path, use_sandbox: Callable[[Any], Any]
) -> None:
    use_sandbox(sandbox_factory(gone=True))
    with pytest.raises(FitbitApiGone, match="410 Gone") as caught:
        _login()
    assert "FITBIT_CLIENT_ID" not in str(caught.value) and "fitbit-sleep import" in str(caught.value)


def test_denied_consent_is_a_clear_error(
    sandbox_factory: Any, data_home: Path, use_sandbox: Callable[[Any], Any]
) -> None:
    use_sandbox(sandbox_factory(auto_approve=False))
    with pytest.raises(LoginError, match="denied"):
        _login(auto_approve=False)
    assert not (data_home / "tokens").exists() or not any((data_home / "tokens").glob("*.json"))
    # the consent page itself also works when the person approves
    assert "sleep" in _login(auto_approve=True).scope


def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        with pytest.raises(LoginError, match="already in use"):
            CallbackListener(busy.getsockname()[1])


def test_listener_accepts_exactly_one_callback_and_tolerates_the_fragment_suffix() -> None:
    listener = CallbackListener(0)
    listener.start(timeout=10)
    base = f"http://127.0.0.1:{listener.port}"
    assert requests.get(f"{base}/favicon.ico", timeout=5).status_code == 404  # not a callback: keep waiting
    requests.get(f"{base}/callback?code=abc%23_%3D_&state=s1", timeout=5)
    params = listener.wait()
    assert params == {"code": "abc#_=_", "state": "s1"}
    assert _check_callback(params, "s1", listener.redirect_uri, 10) == "abc"
    with pytest.raises(LoginError, match="state"):
        _check_callback(params, "another-state", listener.redirect_uri, 10)
    with pytest.raises(requests.ConnectionError):  # shut down after the one callback
        requests.get(f"{base}/callback?code=again&state=s1", timeout=2)


def test_a_callback_with_another_state_is_ignored_even_with_an_error_and_the_login_goes_on() -> None:
    listener = CallbackListener(0)
    listener.start(timeout=10, state="mine")
    base = f"http://127.0.0.1:{listener.port}"
    stale = requests.get(f"{base}/callback?error=access_denied&state=stale", timeout=5)
    forged = requests.get(f"{base}/callback?code=evil", timeout=5)
    assert stale.status_code == forged.status_code == 400 and "ignored" in stale.text
    requests.get(f"{base}/callback?code=good&state=mine", timeout=5)
    params = listener.wait()
    assert params == {"code": "good", "state": "mine"}
    assert _check_callback(params, "mine", listener.redirect_uri, 10) == "good"


def test_state_is_checked_before_error() -> None:
    with pytest.raises(LoginError, match="state"):
        _check_callback({"error": "access_denied", "state": "x"}, "mine", "http://127.0.0.1:1/callback", 10)
