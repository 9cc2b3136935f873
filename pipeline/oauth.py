"""requests-oauthlib plumbing shared by the login and the token refresh.

Why a module of its own: both flows need the same three adaptations of a standard OAuth2 library to Fitbit:
- Fitbit's token errors are ``{"errors":[{"errorType","message"}],"success":false}`` instead of RFC 6749's
  ``{"error": …}``; without a compliance hook oauthlib raises a misleading ``MissingTokenError``. The hook maps the
  body, scrubs the message (Fitbit echoes the rejected token in it) and turns 5xx/409/429 and unparsable bodies
  into :class:`TransientTokenError`, which the callers retry.
- oauthlib refuses plain HTTP; the sandbox is plain HTTP on loopback, so transport security is relaxed only when
  the URL is a loopback address.
- Fitbit lets a user grant a subset of the scopes, which oauthlib would treat as an error.
"""

from __future__ import annotations

import ipaddress
import json
import os
from typing import Any
from urllib.parse import urlparse

import requests
from requests_oauthlib import OAuth2Session

from pipeline.errors import FitbitApiGone, WrongApiUrl
from pipeline.redact import redact

SCOPES = ("sleep", "profile")
TOKEN_PATH = "/oauth2/token"  # under FITBIT_API_URL


class TransientTokenError(Exception):
    """The token endpoint failed in a way that a retry (with the same refresh token) can fix."""

    def __init__(self, status: int | None, why: str) -> None:
        super().__init__(f"token endpoint: {why}" + (f" (HTTP {status})" if status else ""))
        self.status = status


def is_loopback_url(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allow_http_if_loopback(*urls: str) -> None:
    """Let oauthlib talk plain HTTP, but only to a loopback server (the sandbox)."""
    if all(is_loopback_url(u) for u in urls):
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    # a user may untick scopes on the consent page; we check the granted scope ourselves.
    os.environ["OAUTHLIB_RELAX_TOKEN_SCOPE"] = "1"


def fitbit_errors(response: requests.Response) -> tuple[str, str]:
    """Return (errorType, message) of a Fitbit error body, scrubbed of tokens; ("", "") when there is none."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("errorType", "")), redact(str(errors[0].get("message", "")))
        if "error" in body:  # RFC 6749 / Google-style shapes
            err = body["error"]
            if isinstance(err, dict):
                return str(err.get("status", "")), redact(str(err.get("message", "")))
            return str(err), redact(str(body.get("error_description", "")))
    return "", ""


def token_response_hook(response: requests.Response, token_var: str = "FITBIT_API_URL") -> requests.Response:
    """Compliance hook: make Fitbit's token responses digestible for oauthlib (see module docstring). Google's are
    RFC 6749 already; the same hook gives them the same transient/404 handling."""
    status = response.status_code
    if status == 410:
        raise FitbitApiGone(TOKEN_PATH)
    if status == 404:  # the token endpoint always exists: the base URL is wrong
        base = (
            response.url.removesuffix(TOKEN_PATH)
            if response.url.endswith(TOKEN_PATH)
            else response.url.rsplit("/", 1)[0]
        )
        raise WrongApiUrl("token endpoint", response.url, base, token_var)
    if status >= 500 or status in (408, 409, 429):
        raise TransientTokenError(status, "temporarily unavailable or conflicting refresh")
    try:
        body = response.json()
    except ValueError:
        raise TransientTokenError(status, "unreadable (truncated?) response body") from None
    if status == 200:
        if not isinstance(body, dict) or "access_token" not in body:
            raise TransientTokenError(status, "response without access_token")
        return response
    error_type, message = fitbit_errors(response)
    mapped: dict[str, Any] = {"error": error_type or f"http_{status}", "error_description": message}
    response._content = json.dumps(mapped).encode()
    return response


def make_session(client_id: str, *, token_var: str = "FITBIT_API_URL", **kwargs: Any) -> OAuth2Session:
    session = OAuth2Session(client_id, **kwargs)

    def hook(response: requests.Response) -> requests.Response:
        return token_response_hook(response, token_var)

    session.register_compliance_hook("access_token_response", hook)
    session.register_compliance_hook("refresh_token_response", hook)
    return session
