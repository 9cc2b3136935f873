"""`fitbit-sleep login`: the authorization-code flow with PKCE (S256) and a one-shot loopback listener.

Why this shape: Fitbit server apps redirect the browser to a registered URI; a listener on 127.0.0.1 that accepts
exactly one ``/callback`` and then stops is the smallest thing that can receive the code without exposing a port to
the network. ``state`` is random and checked; the PKCE verifier never leaves this process except to the token
endpoint. ``auto=True`` makes this process act as the browser (it follows the redirects itself and approves the
consent page) and is refused unless ``FITBIT_AUTH_URL`` is a loopback address: it exists for the sandbox, the demo
and the tests, never for a real account.
"""

from __future__ import annotations

import base64
import errno
import html
import http.server
import logging
import threading
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urldefrag, urljoin, urlparse

import requests
from oauthlib.oauth2 import InvalidClientError, InvalidGrantError, OAuth2Error
from requests.auth import HTTPBasicAuth
from tenacity import Retrying, retry_if_exception_type, wait_exponential_jitter

from pipeline.config import Settings
from pipeline.endpoints import check_base_url, connect_failure, stop_trying, unreachable
from pipeline.errors import FitbitApiGone, FitbitSleepError, InsufficientScope, ReauthRequired
from pipeline.oauth import (
    TransientTokenError,
    allow_http_if_loopback,
    is_loopback_url,
    make_session,
)
from pipeline.paths import StoragePaths
from pipeline.physiology_fetch import PHYSIOLOGY_SCOPES
from pipeline.providers import Provider, provider_for
from pipeline.redact import install as install_redaction
from pipeline.redact import register_secret
from pipeline.tokens import TokenStore, write_private_json

log = logging.getLogger("pipeline.login")

DEFAULT_PORT = 8189  # register http://127.0.0.1:8189/callback as the redirect URI of your Fitbit app
CALLBACK_PATH = "/callback"


class LoginError(FitbitSleepError):
    """The login did not complete; the message says what to change."""


@dataclass(frozen=True)
class LoginResult:
    user_id: str
    scope: str
    token_file: Path
    timezone: str | None


# --- the loopback listener ----------------------------------------------------------------------------------------


class _CallbackServer(http.server.HTTPServer):
    result: dict[str, str] | None = None
    expected_state: str | None = None  # callbacks with another `state` are answered and ignored
    ignored: int = 0


class _CallbackHandler(http.server.BaseHTTPRequestHandler):
    server: _CallbackServer

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        url = urlparse(urldefrag(self.path)[0])
        if url.path != CALLBACK_PATH or self.server.result is not None:
            self._reply(404, "Not the Fitbit login callback.")
            return
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        expected = self.server.expected_state
        if expected is not None and params.get("state") != expected:
            # checked before anything else (`error` included): a stale tab or another site cannot end this login
            self.server.ignored += 1
            self._reply(
                400, "This callback does not belong to the login in progress (its state differs); ignored."
            )
            return
        self.server.result = params
        if "error" in params:
            self._reply(200, "Fitbit login was not completed. You can close this tab and check the terminal.")
        else:
            self._reply(200, "Fitbit login complete. You can close this tab.")

    def _reply(self, status: int, text: str) -> None:
        body = f"<!doctype html><title>fitbit-sleep</title><p>{html.escape(text)}</p>".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # the query string carries the code: never log it
        pass


class CallbackListener:
    """Binds 127.0.0.1:port, serves until exactly one /callback arrives (or the deadline), then closes."""

    def __init__(self, port: int) -> None:
        try:
            self._server = _CallbackServer(("127.0.0.1", port), _CallbackHandler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise LoginError(
                    f"Port {port} on 127.0.0.1 is already in use, so the login callback cannot be received. Stop "
                    "the program using it, or pass --port N and register http://127.0.0.1:N/callback as the "
                    "redirect URI of your Fitbit app."
                ) from None
            raise
        self._server.timeout = 0.2
        self.port = int(self._server.server_address[1])
        self._thread: threading.Thread | None = None
        self._deadline = 0.0

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{CALLBACK_PATH}"

    def start(self, timeout: float, state: str | None = None) -> None:
        """Serve until one callback carrying ``state`` arrives (any callback when None) or ``timeout`` passes."""
        self._server.expected_state = state
        self._deadline = time.monotonic() + timeout
        self._thread = threading.Thread(target=self._serve, name="fitbit-login-callback", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            while self._server.result is None and time.monotonic() < self._deadline:
                self._server.handle_request()
        finally:
            self._server.server_close()

    def wait(self) -> dict[str, str] | None:
        assert self._thread is not None
        self._thread.join()
        return self._server.result

    def close(self) -> None:
        self._deadline = 0.0
        if self._thread is not None:
            self._thread.join()
        else:
            self._server.server_close()


# --- the headless "browser" for the sandbox ------------------------------------------------------------------------


class _FormParser(HTMLParser):
    """Collects the first form's action, method, hidden inputs and submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.method = "post"
        self.fields: list[tuple[str, str]] = []  # repeated names (checkbox groups) are kept
        self.buttons: list[tuple[str, str]] = []
        self._in_form = False
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self._done:
            self._in_form, self.action, self.method = (
                True,
                a.get("action", ""),
                a.get("method", "post").lower(),
            )
        elif self._in_form and tag in ("input", "button"):
            kind = a.get("type", "submit" if tag == "button" else "text").lower()
            if kind == "submit":
                self.buttons.append((a.get("name", ""), a.get("value", "")))
            elif a.get("name") and (kind in ("hidden", "text") or kind == "checkbox" and "checked" in a):
                self.fields.append((a["name"], a.get("value") or ("on" if kind == "checkbox" else "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_form:
            self._in_form, self._done = False, True


def _page_text(response: requests.Response) -> str:
    class _Text(HTMLParser):
        parts: list[str] = []

        def handle_data(self, data: str) -> None:
            if data.strip():
                self.parts.append(data.strip())

    parser = _Text()
    parser.parts = []
    parser.feed(response.text)
    return " ".join(parser.parts)[:300] or f"HTTP {response.status_code}"


def auto_browse(
    authorize_url: str,
    redirect_uri: str,
    *,
    approve: bool = True,
    max_steps: int = 6,
    client_var: str = "FITBIT_CLIENT_ID",
) -> None:
    """Act as the user's browser: follow redirects, submit the consent form, stop at our own callback."""
    http_session = requests.Session()
    url, method = authorize_url, "GET"
    data: list[tuple[str, str]] | None = None
    for _ in range(max_steps):
        target = urldefrag(url)[0]  # a browser never sends the fragment (Fitbit appends #_=_)
        if target.startswith(redirect_uri):
            http_session.get(target, timeout=10)
            return
        if not is_loopback_url(target):
            raise LoginError(
                f"--auto stopped: it would leave the loopback sandbox ({urlparse(target).netloc})."
            )
        response = http_session.request(method, target, data=data, allow_redirects=False, timeout=10)
        if response.is_redirect:
            url, method, data = urljoin(target, response.headers["Location"]), "GET", None
            continue
        if response.status_code == 410:  # the legacy API is off: no client id or redirect URI would help
            raise FitbitApiGone(urlparse(target).path)
        if response.status_code != 200:
            raise LoginError(
                f"The authorization page refused the request: {_page_text(response)}. Check {client_var} "
                f"and that {redirect_uri} is a registered redirect URI of the app."
            )
        form = _FormParser()
        form.feed(response.text)
        if form.action is None:
            raise LoginError(f"The authorization page shows no consent form: {_page_text(response)}")
        fields = list(form.fields)
        wanted = ("allow", "approve", "accept", "yes") if approve else ("deny", "cancel", "no", "reject")
        for name, value in form.buttons:
            if any(w in f"{name} {value}".lower() for w in wanted):
                if name:
                    fields.append((name, value))
                break
        else:
            if not approve:
                raise LoginError("The consent page has no deny button.")
        url, method, data = urljoin(target, form.action or target), form.method.upper(), fields
    raise LoginError("--auto gave up: too many redirects on the authorization page.")


# --- the flow ---------------------------------------------------------------------------------------------------------


def login(
    settings: Settings,
    paths: StoragePaths,
    *,
    port: int = DEFAULT_PORT,
    open_browser: bool = True,
    auto: bool = False,
    auto_approve: bool = True,
    timeout: float = 300.0,
    show_url: Callable[[str], None] = print,
    login_hint: str | None = None,
    physiology: bool = False,
) -> LoginResult:
    """Run the whole login and save the tokens and the profile; raises :class:`LoginError` with advice.

    ``login_hint`` names the account to sign in as (OAuth's ``login_hint``: Google honours it, the sandbox picks that
    account of a multi-user sandbox); a participant's login passes its id.

    ``physiology`` (Fitbit v1.2 only) also asks for the heart rate, SpO2, breathing rate and temperature scopes;
    the runs then fetch the kinds whose scope was granted (``pipeline.physiology_fetch``). Opt-in because intraday
    heart rate costs one call per day: a 2-year backfill waits hours of the 150/h quota (`fitbit-sleep plan`)."""
    install_redaction()
    provider = provider_for(settings)
    auth_base = provider.auth_base
    check_base_url(provider.auth_var, auth_base)
    check_base_url(provider.token_var, provider.token_base)
    client_id, client_secret = settings.require_client()
    register_secret(client_secret, base64.b64encode(f"{client_id}:{client_secret}".encode()).decode())
    if auto and not is_loopback_url(provider.authorize_url):
        raise LoginError(
            f"--auto only works against a loopback sandbox, and {provider.auth_var} is {auth_base}. "
            "For a real account, run `fitbit-sleep login` and approve in the browser."
        )
    token_url = provider.token_url
    allow_http_if_loopback(token_url)
    listener = CallbackListener(port)
    session = make_session(
        client_id,
        token_var=provider.token_var,
        redirect_uri=listener.redirect_uri,
        scope=list(provider.scopes)
        + (list(PHYSIOLOGY_SCOPES) if physiology and provider.source == "fitbit" else []),
        pkce="S256",
    )
    hint = {"login_hint": login_hint} if login_hint else {}
    authorize_url, state = session.authorization_url(
        provider.authorize_url, **provider.authorize_params, **hint
    )
    listener.start(timeout, state)
    try:
        if auto:
            try:
                auto_browse(
                    authorize_url,
                    listener.redirect_uri,
                    approve=auto_approve,
                    client_var=settings.client_vars[0],
                )
            except requests.ConnectionError as exc:
                reason = connect_failure(exc)
                if reason is None:
                    raise LoginError(
                        f"The authorization page did not answer ({type(exc).__name__})."
                    ) from None
                raise unreachable(provider.auth_var, auth_base, reason) from None
        else:
            show_url(authorize_url)
            if open_browser:
                webbrowser.open(authorize_url)
        params = listener.wait()
    finally:
        listener.close()
    code = _check_callback(params, state, listener.redirect_uri, timeout, provider.label)
    register_secret(code)
    token = _exchange_code(session, provider, settings, code, HTTPBasicAuth(client_id, client_secret))
    scope = token.get("scope") or ""
    granted = set(scope.split() if isinstance(scope, str) else map(str, scope))  # oauthlib may give a list
    if not granted & set(provider.sleep_scopes):
        raise InsufficientScope(f"granted scopes: {' '.join(sorted(granted)) or 'none'}")
    store = TokenStore(settings, paths)
    if provider.source == "google-health":
        profile = _google_account(settings, paths, token)
        token["user_id"] = profile["user_id"]
        token_file = store.save_login(token)
    else:
        token_file = store.save_login(token)
        profile = _fitbit_profile(settings, paths, store, token)
    write_private_json(paths.profile_file, profile)
    log.info(
        "Logged in as %s user %s (scopes: %s).", provider.label, profile["user_id"], " ".join(sorted(granted))
    )
    return LoginResult(
        user_id=str(token["user_id"]),
        scope=" ".join(sorted(granted)),
        token_file=token_file,
        timezone=profile["timezone"],
    )


def _fitbit_profile(
    settings: Settings, paths: StoragePaths, store: TokenStore, token: dict[str, Any]
) -> dict[str, Any]:
    from pipeline.client import (
        FitbitClient,  # the client imports tokens; import here to keep the graph simple
    )

    with FitbitClient(settings, store, paths=paths) as client:
        user = client.profile()
    return {
        "user_id": str(user.get("encodedId") or token["user_id"]),
        "timezone": user.get("timezone"),
        "offset_from_utc_millis": user.get("offsetFromUTCMillis"),
    }


class _LoginTokens:
    """The fresh login's access token, before the store can hold it (Google's user id comes from the API)."""

    def __init__(self, access_token: str) -> None:
        self._token = access_token
        self.refreshes = 0

    def access_token(self) -> str:
        return self._token

    def refresh(self, rejected_access_token: str | None = None) -> str:
        raise ReauthRequired("the new access token was refused at once", provider="Google")


def _google_account(settings: Settings, paths: StoragePaths, token: dict[str, Any]) -> dict[str, Any]:
    """healthUserId (identity) and the time zone (settings) of the account that just consented."""
    from pipeline.sources.google_health.client import GoogleHealthClient

    tokens = cast(TokenStore, _LoginTokens(str(token["access_token"])))
    with GoogleHealthClient(settings, tokens, paths=paths) as client:
        facts = client.account()
    return {
        "user_id": facts["user_id"],
        "timezone": facts["timezone"],
        "offset_from_utc_millis": facts["offset_from_utc_millis"],
        "source": "google-health",
    }


def _check_callback(
    params: dict[str, str] | None, state: str, redirect_uri: str, timeout: float, label: str = "Fitbit"
) -> str:
    if params is None:
        where = "your Fitbit app settings" if label == "Fitbit" else "your Google OAuth client"
        raise LoginError(
            f"No login callback arrived within {timeout:.0f} s. If {label} showed 'Invalid redirect_uri', register "
            f"{redirect_uri} in {where} (or pass --port to match the registered one); then run "
            "`fitbit-sleep login` again."
        )
    if params.get("state") != state:
        raise LoginError(
            "The callback's `state` does not match this login (a stale or forged redirect). Run login again."
        )
    if params.get("error"):
        if params["error"] == "access_denied":
            raise LoginError(
                f"Access was denied on the {label} consent page. Run `fitbit-sleep login` again and allow it."
            )
        raise LoginError(
            f"{label} returned an error instead of a code: {params['error']} {params.get('error_description', '')}"
        )
    code = params.get("code", "").removesuffix("#_=_")
    if not code:
        raise LoginError("The callback carried no authorization code. Run `fitbit-sleep login` again.")
    return code


def _exchange_code(
    session: Any, provider: Provider, settings: Settings, code: str, auth: HTTPBasicAuth
) -> dict[str, Any]:
    token_url = provider.token_url
    label = provider.label
    id_var, secret_var = settings.client_vars
    where = (
        "your app at dev.fitbit.com" if label == "Fitbit" else "your OAuth client in the Google Cloud console"
    )
    try:
        for attempt in Retrying(
            retry=retry_if_exception_type((TransientTokenError, requests.ConnectionError, requests.Timeout)),
            stop=stop_trying(4),
            wait=wait_exponential_jitter(multiplier=0.2, max=3.0, jitter=0.2),
            reraise=True,
        ):
            with attempt:
                token = session.fetch_token(token_url, code=code, auth=auth, timeout=(5, 20))
    except InvalidClientError:
        raise LoginError(
            f"{label} rejected the client credentials (invalid_client): check {id_var} and {secret_var} "
            f"against {where} (or the sandbox's printed values)."
        ) from None
    except InvalidGrantError as exc:
        raise LoginError(
            f"{label} rejected the authorization code ({exc.description or 'invalid_grant'}): it expired, was used "
            "already, or the redirect URI / PKCE verifier did not match. Run `fitbit-sleep login` again."
        ) from None
    except OAuth2Error as exc:
        raise LoginError(f"The token exchange failed ({exc.error}: {exc.description}).") from None
    except (TransientTokenError, requests.RequestException) as exc:
        reason = connect_failure(exc)
        if reason is not None:
            raise unreachable(provider.token_var, provider.token_base, reason) from None
        raise LoginError(
            f"The {label} token endpoint is unavailable ({exc}). Try again in a few minutes."
        ) from None
    token = dict(token)
    register_secret(token.get("access_token"), token.get("refresh_token"))
    return token
