"""The token store: one 0600 JSON file per user and a refresh that is single-flight across processes.

One store serves both sources (``pipeline/providers.py``): a token file records its ``provider`` ("fitbit" when
absent, as in files written before the Google source). Google refresh tokens are reusable and a refresh answers none,
so the old one is kept; Google's ``refresh_token_expires_in`` (an app in "Testing") becomes
``refresh_token_expires_at``, which :func:`token_health` reports so the check can warn before the 7 days end.

Why so careful: Fitbit refresh tokens are single-use and there is one active per user. A second process refreshing
with the same token, or a crash between the refresh and the save, locks the user out (``invalid_grant``). So:

- every write goes to a temp file (0600), is fsynced and ``os.replace``d over the old one: a reader sees the old or
  the new pair, never half a file;
- a refresh takes a per-user file lock, re-reads the file and refreshes only if the token is still expiring (or
  still the one the API rejected), then persists the new pair *before* returning the new access token;
- before the token request the file is marked ``refresh_in_flight`` (a journal). If the process dies after
  Fitbit consumed the refresh token but before the save, the next process sees the mark and immediately replays
  the same refresh token: Fitbit answers an identical replay with the same new pair as long as that pair has not
  been used, and we never use a pair before it is saved;
- 5xx, 409 (a concurrent refresh elsewhere) and unreadable bodies are retried with backoff (tenacity); a replay
  with the same refresh token is harmless;
- ``invalid_grant`` becomes :class:`ReauthRequired`; the outcome of every refresh is recorded in the file so the
  token-health check can read it without secrets (:func:`token_health`).

Test hook: with ``FITBIT_SLEEP_TEST_CRASH_AFTER_REFRESH=1`` the process SIGKILLs itself right after a successful
token response and before saving it. Only the crash-recovery test sets it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import filelock
import requests
from oauthlib.oauth2 import InvalidClientError, InvalidGrantError, OAuth2Error
from requests.auth import HTTPBasicAuth
from tenacity import Retrying, retry_if_exception_type, wait_exponential_jitter

from pipeline.atomic import atomic_write_bytes
from pipeline.config import Settings
from pipeline.endpoints import connect_failure, stop_trying, unreachable
from pipeline.errors import (
    FitbitApiGone,
    FitbitSleepError,
    FitbitUnavailable,
    GrantRevoked,
    NotLoggedIn,
    ReauthRequired,
    RefreshEndedInTesting,
    TokenFileCorrupt,
    WrongApiUrl,
)
from pipeline.oauth import TransientTokenError, allow_http_if_loopback, make_session
from pipeline.paths import StoragePaths
from pipeline.providers import Provider, provider_for
from pipeline.redact import register_secret

log = logging.getLogger("pipeline.tokens")

CRASH_HOOK_ENV = "FITBIT_SLEEP_TEST_CRASH_AFTER_REFRESH"
REQUIRED_KEYS = ("user_id", "access_token", "refresh_token", "expires_at")
USER_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
LOCK_TIMEOUT_S = 120.0
REFRESH_ATTEMPTS = 6
TOKEN_TIMEOUT_S = (5.0, 20.0)


def _now() -> float:
    return time.time()


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def expiry_margin(expires_in: float) -> float:
    """Refresh this many seconds before expiry: 5 min for Fitbit's 8 h tokens, proportionally less for short ones."""
    return min(300.0, max(0.0, expires_in) * 0.1)


# --- file I/O ---------------------------------------------------------------------------------------------------


def write_private_json(path: Path, data: dict[str, Any]) -> None:
    """Atomically replace ``path`` with ``data`` as a 0600 file (see :mod:`pipeline.atomic`)."""
    atomic_write_bytes(path, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"), private=True)


def read_token_file(path: Path) -> dict[str, Any]:
    """Read and validate a token file; never lets a JSON traceback reach the user."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotLoggedIn(f"no token file at {path}") from None
    except OSError as exc:
        raise TokenFileCorrupt(path, exc.strerror or "cannot be read") from None
    if not raw.strip():
        raise TokenFileCorrupt(path, "the file is empty")
    try:
        data = json.loads(raw)
    except ValueError:
        raise TokenFileCorrupt(path, "not valid JSON") from None
    if not isinstance(data, dict):
        raise TokenFileCorrupt(path, "not a JSON object")
    missing = [k for k in REQUIRED_KEYS if data.get(k) in (None, "")]
    if not missing and not isinstance(data["expires_at"], int | float):
        raise TokenFileCorrupt(path, "expires_at is not a number")
    if missing:
        raise TokenFileCorrupt(path, f"missing {', '.join(missing)}")
    register_secret(str(data["access_token"]), str(data["refresh_token"]))
    return data


def _file_provider(path: Path) -> str | None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        return str(json.loads(path.read_text(encoding="utf-8")).get("provider") or "fitbit")
    return None


def resolve_user_id(paths: StoragePaths, source: str | None = None) -> str:
    """The signed-in user: the profile saved at login, else the only token file (of ``source``, when given);
    explains what to do otherwise."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        user_id = json.loads(paths.profile_file.read_text(encoding="utf-8")).get("user_id")
        path = paths.tokens_dir / f"{user_id}.json"
        if user_id and path.exists() and (source is None or _file_provider(path) == source):
            return str(user_id)
    files = sorted(paths.tokens_dir.glob("*.json")) if paths.tokens_dir.is_dir() else []
    if source is not None:
        files = [f for f in files if _file_provider(f) == source]
    if len(files) == 1:
        return files[0].stem
    label = "Google" if source == "google-health" else "Fitbit"
    if not files:
        raise NotLoggedIn(f"no token file under {paths.tokens_dir}", provider=label)
    raise NotLoggedIn(
        f"several token files under {paths.tokens_dir} and no profile saying which user is current",
        provider=label,
    )


# --- the store --------------------------------------------------------------------------------------------------


class TokenStore:
    """Tokens of one user. Cheap to create; every call re-reads the file so several processes stay consistent."""

    def __init__(self, settings: Settings, paths: StoragePaths, user_id: str | None = None) -> None:
        self.settings = settings
        self.paths = paths
        self.provider: Provider = provider_for(settings)
        self._user_id = user_id
        self.refreshes = 0  # refresh requests this object completed (for tests and benches)

    @property
    def user_id(self) -> str:
        if self._user_id is None:
            self._user_id = resolve_user_id(self.paths, self.provider.source)
        return self._user_id

    @property
    def path(self) -> Path:
        if not USER_ID_RE.fullmatch(self.user_id):  # from profile.json, which anyone may have edited
            raise FitbitSleepError(
                f"{self.user_id!r} cannot name a token file. Run `fitbit-sleep login` again."
            )
        return self.paths.tokens_dir / f"{self.user_id}.json"

    @property
    def token_url(self) -> str:
        return self.provider.token_url

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.paths.tokens_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = filelock.FileLock(str(self.paths.tokens_dir / f"{self.user_id}.lock"), timeout=LOCK_TIMEOUT_S)
        try:
            with lock:
                yield
        except filelock.Timeout:
            raise FitbitUnavailable(
                f"Another fitbit-sleep process has held the token lock for {LOCK_TIMEOUT_S:.0f} s; "
                "wait for it to finish and try again."
            ) from None

    def load(self) -> dict[str, Any]:
        return read_token_file(self.path)

    # -- called by login ------------------------------------------------------------------------------------------
    def save_login(self, token: dict[str, Any]) -> Path:
        """Store the pair obtained at login (replacing any previous login of this user)."""
        now = _now()
        record = _record_from_response(token, now, provider=self.provider.source)
        record.update(refresh_token_issued_at=now, last_refresh_at=None, last_refresh_error=None)
        self._user_id = record["user_id"]
        with self._locked():
            write_private_json(self.path, record)
        return self.path

    # -- called by the client -------------------------------------------------------------------------------------
    def access_token(self) -> str:
        """A usable access token, refreshed first (single-flight) when it is about to expire."""
        data = self.load()
        if not data.get("refresh_in_flight") and not _expiring(data):
            return str(data["access_token"])
        return self.refresh()

    def refresh(self, rejected_access_token: str | None = None) -> str:
        """Refresh under the lock unless another process already did; return the (persisted) access token.

        ``rejected_access_token`` is the token the API just answered 401 for: refresh even if our clock says it is
        still valid, unless the file already holds a different (newer) one.
        """
        with self._locked():
            data = self.load()
            if data.get("refresh_in_flight"):
                log.warning("A previous refresh was interrupted before its result was saved; replaying it.")
            else:
                someone_else_refreshed = (
                    rejected_access_token is not None and data["access_token"] != rejected_access_token
                )
                still_fresh = rejected_access_token is None and not _expiring(data)
                if someone_else_refreshed or still_fresh:
                    return str(data["access_token"])
            return self._refresh_locked(data)

    def _refresh_locked(self, data: dict[str, Any]) -> str:
        client_id, client_secret = self.settings.require_client()
        register_secret(client_secret)
        data["refresh_in_flight"] = {"started_at": _now(), "pid": os.getpid()}
        write_private_json(
            self.path, data
        )  # journal first: a crash after this replays the same refresh token
        try:
            token = self._request_refresh(client_id, client_secret, str(data["refresh_token"]))
        except FitbitApiGone:
            self._record_failure(data, "gone (HTTP 410)", clear_journal=True)
            raise
        except WrongApiUrl:
            self._record_failure(
                data, f"not found (HTTP 404): check {self.provider.token_var}", clear_journal=True
            )
            raise
        except InvalidGrantError:
            self._record_failure(data, "invalid_grant", clear_journal=True)
            raise self._reauth_error(data) from None
        except InvalidClientError:
            self._record_failure(data, "invalid_client", clear_journal=True)
            id_var, secret_var = self.settings.client_vars
            raise FitbitSleepError(
                f"{self.provider.label} rejected the client credentials while refreshing the token: check {id_var} "
                f"and {secret_var} (they must belong to the app you logged in with)."
            ) from None
        except OAuth2Error as exc:
            self._record_failure(data, exc.error or "oauth_error", clear_journal=True)
            raise FitbitSleepError(
                f"{self.provider.label} refused the token refresh ({exc.error}: {exc.description}). "
                "If this persists, re-run `fitbit-sleep login`."
            ) from None
        except (TransientTokenError, requests.RequestException) as exc:
            # keep the journal: the next process replays this refresh token promptly
            reason = connect_failure(exc)
            self._record_failure(
                data,
                f"{'unreachable' if reason else 'transient'}: {reason or type(exc).__name__}",
                clear_journal=False,
            )
            if reason is not None:
                raise unreachable(self.provider.token_var, self.provider.token_base, reason) from None
            raise FitbitUnavailable(
                f"The {self.provider.label} token endpoint kept failing after {REFRESH_ATTEMPTS} tries ({exc}). "
                "Try again later; the saved login is intact."
            ) from None
        if os.environ.get(CRASH_HOOK_ENV) == "1":  # test hook, see module docstring
            os.kill(os.getpid(), signal.SIGKILL)
        now = _now()
        record = _record_from_response(
            token, now, fallback_user=self.user_id, previous=data, provider=self.provider.source
        )
        # Google keeps the refresh token (requests-oauthlib copies it into the answer): its age runs on from login
        rotated = record["refresh_token"] != data.get("refresh_token")
        record.update(
            refresh_token_issued_at=now if rotated else data.get("refresh_token_issued_at", now),
            last_refresh_at=now,
            last_refresh_error=None,
            refresh_count=int(data.get("refresh_count", 0)) + 1,
        )
        write_private_json(self.path, record)  # persisted BEFORE anyone uses the new access token
        self.refreshes += 1
        log.info(
            "Refreshed the %s access token for user %s (valid %ss).",
            self.provider.label,
            record["user_id"],
            token.get("expires_in"),
        )
        return str(record["access_token"])

    def _reauth_error(self, data: dict[str, Any]) -> ReauthRequired:
        """invalid_grant: Google's "Testing" expiry and a revoked grant each get their own message."""
        if self.provider.source != "google-health":
            return ReauthRequired()
        ends = data.get("refresh_token_expires_at")
        if isinstance(ends, int | float) and _now() >= float(ends) - 60:
            return RefreshEndedInTesting(self.provider.publish_hint)
        return GrantRevoked()

    def _request_refresh(self, client_id: str, client_secret: str, refresh_token: str) -> dict[str, Any]:
        allow_http_if_loopback(self.token_url)
        session = make_session(client_id, token_var=self.provider.token_var)
        auth = HTTPBasicAuth(client_id, client_secret)
        for attempt in Retrying(
            retry=retry_if_exception_type((TransientTokenError, requests.ConnectionError, requests.Timeout)),
            stop=stop_trying(REFRESH_ATTEMPTS),
            wait=wait_exponential_jitter(multiplier=0.2, max=5.0, jitter=0.3),
            before_sleep=lambda rs: log.warning(
                "Token refresh failed (%s); retrying.", rs.outcome.exception() if rs.outcome else "?"
            ),
            reraise=True,
        ):
            with attempt:
                token = session.refresh_token(
                    self.token_url, refresh_token=refresh_token, auth=auth, timeout=TOKEN_TIMEOUT_S
                )
        token = dict(token)
        register_secret(token.get("access_token"), token.get("refresh_token"))
        return token

    def _record_failure(self, data: dict[str, Any], error: str, *, clear_journal: bool) -> None:
        data["last_refresh_error"] = error
        data["last_refresh_error_at"] = _now()
        if clear_journal:
            data.pop("refresh_in_flight", None)
        write_private_json(self.path, data)

    def delete(self) -> None:
        with self._locked():
            self.path.unlink(missing_ok=True)


def _expiring(data: dict[str, Any]) -> bool:
    expires_in = float(data.get("expires_in") or 28800)
    return float(data["expires_at"]) - _now() <= expiry_margin(expires_in)


def _record_from_response(
    token: dict[str, Any],
    now: float,
    fallback_user: str | None = None,
    *,
    previous: dict[str, Any] | None = None,
    provider: str = "fitbit",
) -> dict[str, Any]:
    """The token file's record. A refresh answer without a refresh token (Google) keeps ``previous``'s, and its
    end (``refresh_token_expires_at``) with it."""
    previous = previous or {}
    user_id = token.get("user_id") or fallback_user
    refresh_token = token.get("refresh_token") or previous.get("refresh_token")
    if not user_id or not token.get("access_token") or not refresh_token:
        raise FitbitSleepError(
            "The token response lacked user_id, access_token or refresh_token. For Google, log in again: a repeat "
            "consent gives a refresh token only with prompt=consent, which `fitbit-sleep login` sends."
        )
    if not USER_ID_RE.fullmatch(str(user_id)):
        # it names the token file: `../../x` would write outside tokens/
        raise FitbitSleepError(
            f"The token endpoint sent a user_id that cannot name a token file ({str(user_id)[:40]!r}: letters, "
            "digits, '.', '_' and '-' only). Check FITBIT_AUTH_URL points at Fitbit (or the sandbox), then log in again."
        )
    expires_in = float(token.get("expires_in") or 28800)
    scope = token.get("scope", "") or previous.get("scope", "")
    record = {
        "version": 1,
        "provider": provider,
        "user_id": str(user_id),
        "access_token": token["access_token"],
        "refresh_token": refresh_token,
        "token_type": token.get("token_type", "Bearer"),
        "scope": " ".join(scope) if isinstance(scope, list | tuple) else str(scope),
        "expires_in": expires_in,
        "expires_at": now + expires_in,
        "obtained_at": now,
    }
    if token.get("refresh_token_expires_in"):
        record["refresh_token_expires_at"] = now + float(token["refresh_token_expires_in"])
    elif refresh_token == previous.get("refresh_token") and previous.get("refresh_token_expires_at"):
        # the same (reusable) refresh token: requests-oauthlib copies the old one into an answer without one
        record["refresh_token_expires_at"] = previous["refresh_token_expires_at"]
    return record


def token_health(paths: StoragePaths, user_id: str | None = None) -> dict[str, Any]:
    """Secret-free facts about the saved login, for `status` and the Dagster token-health check."""
    uid = user_id or resolve_user_id(paths)
    data = read_token_file(paths.tokens_dir / f"{uid}.json")
    now = _now()
    issued = data.get("refresh_token_issued_at") or data.get("obtained_at")
    return {
        "user_id": data["user_id"],
        "scope": data.get("scope", ""),
        "access_expires_at": _iso(float(data["expires_at"])),
        "access_expires_in_s": round(float(data["expires_at"]) - now),
        "last_refresh_at": _iso(data.get("last_refresh_at")),
        "last_refresh_error": data.get("last_refresh_error"),
        "last_refresh_error_at": _iso(data.get("last_refresh_error_at")),
        "refresh_in_flight": bool(data.get("refresh_in_flight")),
        "refresh_token_age_days": None if issued is None else round((now - float(issued)) / 86400, 3),
        "refresh_count": int(data.get("refresh_count", 0)),
        "provider": data.get("provider", "fitbit"),
        "refresh_token_expires_at": _iso(data.get("refresh_token_expires_at")),
        "refresh_token_expires_in_days": (
            None
            if data.get("refresh_token_expires_at") is None
            else round((float(data["refresh_token_expires_at"]) - now) / 86400, 3)
        ),
    }
