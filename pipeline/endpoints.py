"""The API's base URLs: reject a malformed one before any request, and say plainly when one cannot be reached.

Why a module of its own: the client, the token refresh, login and logout all talk to ``FITBIT_API_URL`` (and login
to ``FITBIT_AUTH_URL``). A typo there used to surface as a 63-line ``requests`` traceback (``not-a-url``), or as
minutes of retries ending in "Exceeded max_retries" (a refused port). Retrying makes sense for a server that answered
badly or stalled, not for one that nobody is listening on: so a failure to *connect* is told apart from the
transient failures the callers retry, and becomes one :class:`ApiUnreachable` naming the setting to check.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import requests
from tenacity import RetryCallState, stop_after_attempt, stop_any
from tenacity.stop import stop_base
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from pipeline.config import (
    DEFAULT_API_URL,
    DEFAULT_AUTH_URL,
    DEFAULT_GOOGLE_HEALTH_API_URL,
    DEFAULT_GOOGLE_OAUTH_URL,
    ConfigError,
)
from pipeline.errors import ApiUnreachable

# Tries before a connection failure is final: one quick retry absorbs a blip (a laptop waking up) at no real cost.
CONNECT_ATTEMPTS = 2
SANDBOX_URL = "the http://127.0.0.1:PORT that `fitbit-sleep sandbox` prints"


def _good_values(name: str) -> str:
    """What the variable should hold: Fitbit's own base URL for it, or the sandbox's."""
    real = {
        "FITBIT_AUTH_URL": DEFAULT_AUTH_URL,
        "GOOGLE_HEALTH_API_URL": DEFAULT_GOOGLE_HEALTH_API_URL,
        "GOOGLE_OAUTH_URL": DEFAULT_GOOGLE_OAUTH_URL,
    }.get(name, DEFAULT_API_URL)
    return f"{real}, or {SANDBOX_URL}"


def check_base_url(name: str, url: str) -> str:
    """Return ``url`` if it is an absolute http(s) URL with a host and nothing after the path; else raise
    :class:`ConfigError` naming the variable ``name``."""
    problem = _url_problem(url)
    if problem:
        raise ConfigError(
            f"{name}={url!r} is not a usable base URL ({problem}); set it to {_good_values(name)}."
        )
    return url


def _url_problem(url: str) -> str:
    if not url or url != url.strip():
        return "empty or padded with spaces"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number or out of range
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ("http", "https"):
        return "it must start with https:// or http://"
    if not parts.hostname:
        return "no host name"
    if parts.query or parts.fragment:
        return "no ?query or #fragment allowed"
    return ""


def connect_failure(exc: BaseException) -> str | None:
    """Why a request never reached a server ("connection refused", "host name not found", ...), or None when the
    failure happened after connecting (a reset, a read timeout, a truncated body), which is worth retrying."""
    if not isinstance(exc, requests.ConnectionError):
        return None
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    if isinstance(reason, NameResolutionError):
        return "host name not found"
    if isinstance(reason, NewConnectionError):
        return "connection refused" if "refused" in str(reason).lower() else "cannot open a connection"
    if isinstance(reason, ConnectTimeoutError) or isinstance(exc, requests.ConnectTimeout):
        return "no answer to the connection attempt"
    return None


def stop_trying(
    attempts: int, why_unreachable: Callable[[BaseException], str | None] = lambda exc: connect_failure(exc)
) -> stop_base:
    """A tenacity ``stop``: after ``attempts`` tries, or after ``CONNECT_ATTEMPTS`` when the last try could not even
    connect (``why_unreachable`` gives a reason): waiting minutes will not start a server."""
    return stop_any(stop_after_attempt(attempts), _NobodyAnswers(why_unreachable))


class _NobodyAnswers(stop_base):
    def __init__(self, why_unreachable: Callable[[BaseException], str | None]) -> None:
        self.why_unreachable = why_unreachable

    def __call__(self, state: RetryCallState) -> bool:
        failed = state.outcome.exception() if state.outcome is not None and state.outcome.failed else None
        return (
            failed is not None
            and self.why_unreachable(failed) is not None
            and state.attempt_number >= CONNECT_ATTEMPTS
        )


def unreachable(name: str, url: str, reason: str) -> ApiUnreachable:
    """The one error for a base URL nobody answers at."""
    return ApiUnreachable(
        f"Cannot reach {url} ({reason}). Check {name}: it should be {_good_values(name)} (is the sandbox running?)."
    )
