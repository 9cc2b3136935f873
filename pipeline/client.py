"""A quota-aware client for the parts of the Fitbit Web API v1.2 this product uses.

Why it looks like this:
- the sleep range endpoint allows 100 days inclusive, so N days cost ceil(N/100) calls and no more;
- every response's ``Fitbit-Rate-Limit-*`` headers feed a budget (pipeline/quota.py); a spent budget or a 429 means
  waiting until ``-Reset`` plus a margin, reported through ``on_wait`` and a log line so CLI and Dagster can show it;
- 5xx, timeouts, connection resets and truncated bodies are retried with bounded exponential backoff and jitter
  (tenacity); the final error names the date range;
- a malformed ``FITBIT_API_URL`` is refused before any request, and a server nobody answers at (refused, unknown
  host) gets one quick retry, then one error naming the setting (pipeline/endpoints.py), not minutes of backoff;
- 404 on these endpoints, which always exist, means the base URL is wrong, and says so;
- 401 refreshes the token once (single-flight, pipeline/tokens.py) and retries; 403/400/410 become typed errors
  and are never retried;
- a ``meta.state == "pending"`` answer marks data as not final, never as "no sleep";
- a 200 is believed only when it is the envelope asked for (``sleep_envelope_problem``): a body without a ``sleep``
  list, with ``"sleep": null``, with an ``errors[]`` list or with logs dated outside the requested range is retried
  like a 5xx and then fails naming the range, because landing it would turn every day of the range empty;
- a body is read as a stream and refused past ``MAX_BODY_BYTES`` (a 100-day answer is a few MB), and it must be
  UTF-8: a padded or corrupt answer is retried, never parsed into memory or landed with replaced characters.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Self

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential_jitter

from pipeline.config import Settings
from pipeline.endpoints import check_base_url, connect_failure, stop_trying, unreachable
from pipeline.errors import (
    FitbitApiGone,
    FitbitSleepError,
    FitbitUnavailable,
    FitbitValidationError,
    InsufficientScope,
    ReauthRequired,
    WrongApiUrl,
)
from pipeline.oauth import fitbit_errors
from pipeline.paths import StoragePaths
from pipeline.quota import QuotaBudget, QuotaSnapshot
from pipeline.redact import install as install_redaction
from pipeline.redact import redact
from pipeline.text import plural
from pipeline.tokens import TokenStore

log = logging.getLogger("pipeline.client")

MAX_DAYS_PER_CALL = 100
MAX_429_WAITS = 8
# (connect, read) seconds. A 100-day answer streams in ~1-3 s; a server silent for 10 s is stalled, and a retry is
# cheaper than waiting (the sandbox's default ``timeout`` fault stalls 12 s, past this on purpose).
HTTP_TIMEOUT = (5.0, 10.0)
# A 100-day answer of dense stages logs is ~3 MB; 64 MB is far past any honest answer and still cheap to hold.
MAX_BODY_BYTES = 64 * 1024 * 1024
WaitCallback = Callable[[float, str], None]
Validator = Callable[[dict[str, Any]], str | None]


@dataclass
class SleepFetch:
    """The result of one ``sleep(start, end)``; ``logs`` are exactly as the API returned them."""

    start: date
    end: date
    logs: list[dict[str, Any]] = field(default_factory=list)
    pending_dates: set[date] = field(default_factory=set)
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    api_paths: list[str] = field(default_factory=list)
    calls: int = 0
    source: str = "api"  # the landing's provenance: "api" (v1.2) or "google-health"
    raw_pages: list[bytes] = field(
        default_factory=list
    )  # the source's own answers when logs are mapped from them


class _Transient(Exception):
    """A failure worth retrying (server error, timeout, reset, truncated body)."""


def sleep_envelope_problem(body: dict[str, Any], start: date, end: date) -> str | None:
    """Why a 200 from the sleep range endpoint is not the answer to ``start..end`` (None: it is).

    Only a ``pending`` answer may omit ``sleep`` (the API then sends only ``meta``). A log whose readable
    ``dateOfSleep`` lies outside the range means the answer belongs to another request. Malformed logs inside a good
    envelope are not the envelope's problem: they are landed for the quarantine (pipeline/landing.py)."""
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0] if isinstance(errors[0], dict) else {}
        return f"a 200 answer with an errors[] body ({first.get('errorType', '?')}: {redact(str(first.get('message')))})"
    if "sleep" not in body:
        meta = body.get("meta")
        if isinstance(meta, dict) and meta.get("state") == "pending":
            return None
        return "a 200 answer without a `sleep` list"
    logs = body["sleep"]
    if not isinstance(logs, list):
        return f"a 200 answer whose `sleep` is {'null' if logs is None else type(logs).__name__}, not a list"
    for log in logs:
        raw = log.get("dateOfSleep") if isinstance(log, dict) else None
        try:
            day = date.fromisoformat(raw) if isinstance(raw, str) and len(raw) == 10 else None
        except ValueError:
            day = None
        if day is not None and not start <= day <= end:
            return f"a 200 answer holding a log dated {day}, outside the requested range"
    return None


class _CannotConnect(_Transient):
    """No server answered the connection (refused, unknown host): retried once, quickly, then final."""


def chunk_range(start: date, end: date, max_days: int = MAX_DAYS_PER_CALL) -> list[tuple[date, date]]:
    """Split an inclusive range into the fewest inclusive chunks of at most ``max_days`` days."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    chunks = []
    cursor = start
    while cursor <= end:
        chunk_end = min(end, cursor + timedelta(days=max_days - 1))
        chunks.append((cursor, chunk_end))
        cursor = chunk_end + timedelta(days=1)
    return chunks


class FitbitClient:
    """The v1.2 client; ``pipeline.sources.google_health.client`` reuses its request loop for v4."""

    base_var = "FITBIT_API_URL"  # the setting named in errors
    label = "Fitbit API"
    quota_window_s = 3600.0

    def __init__(
        self,
        settings: Settings,
        store: TokenStore,
        *,
        paths: StoragePaths | None = None,
        on_wait: WaitCallback | None = None,
        timeout: tuple[float, float] = HTTP_TIMEOUT,
        attempts: int = 6,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        reset_margin: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        install_redaction()
        self.settings = settings
        check_base_url(self.base_var, self.base_url)
        self.store = store
        self.paths = paths
        self.on_wait = on_wait
        self.timeout = timeout
        self.attempts = attempts
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.quota = QuotaBudget(reset_margin=reset_margin, window_s=self.quota_window_s)
        self.calls_made = 0
        self.waited_s = 0.0
        # why requests were retried ("HTTP 503", "a 200 answer without a `sleep` list", …) -> count, for the run
        self.retry_reasons: dict[str, int] = {}
        self._last_token: str | None = None
        self._sleep = sleep
        self._http = requests.Session()
        self._http.headers.update({"Accept": "application/json", "Accept-Language": "en_US"})

    @classmethod
    def from_settings(
        cls, settings: Settings, on_wait: WaitCallback | None = None, **kwargs: Any
    ) -> FitbitClient:
        paths = StoragePaths(settings.home)
        return cls(settings, TokenStore(settings, paths), paths=paths, on_wait=on_wait, **kwargs)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        return self.settings.api_url

    @property
    def last_quota(self) -> QuotaSnapshot | None:
        """Latest (limit, remaining, reset seconds) seen, or None before the first response."""
        return self.quota.last

    # --- endpoints ----------------------------------------------------------------------------------------------
    def profile(self) -> dict[str, Any]:
        body = self._get("/1/user/-/profile.json", what="profile")
        user = body.get("user")
        if not isinstance(user, dict):
            raise FitbitSleepError("The profile response has no `user` object.")
        return user

    def sleep(self, start: date, end: date) -> SleepFetch:
        """All sleep logs whose ``dateOfSleep`` is in ``[start, end]``, in ceil(days/100) range calls."""
        result = SleepFetch(start=start, end=end)
        calls_before = self.calls_made
        for chunk_start, chunk_end in chunk_range(start, end):
            path = f"/1.2/user/-/sleep/date/{chunk_start.isoformat()}/{chunk_end.isoformat()}.json"
            body = self._get(
                path,
                what=f"sleep {chunk_start}..{chunk_end}",
                validate=functools.partial(sleep_envelope_problem, start=chunk_start, end=chunk_end),
            )
            result.api_paths.append(path)
            result.logs.extend(body.get("sleep") or [])
            meta = body.get("meta")
            if isinstance(meta, dict) and meta.get("state") == "pending":
                result.pending_dates.add(chunk_end)
        result.calls = self.calls_made - calls_before
        result.fetched_at = datetime.now(UTC)
        return result

    def granted_scopes(self) -> set[str] | None:
        """The scopes the saved login was granted (the token answer's ``scope``), None when it recorded none."""
        scope = str(self.store.load().get("scope") or "")
        return set(scope.split()) if scope else None

    def physiology(self, kind: str, start: date, end: date) -> tuple[dict[date, dict[str, Any]], list[str]]:
        """One document per date of ``start..end`` for a physiology ``kind`` (``pipeline.physiology_fetch``), in the
        fewest calls its range limit allows, and the paths called. A 200 that is not the answer asked for is
        retried like a 5xx; a 403 raises ``InsufficientScope``."""
        from pipeline.physiology_fetch import ENDPOINTS, answer_problem, chunk_range, split_answer

        endpoint = ENDPOINTS[kind]
        documents: dict[date, dict[str, Any]] = {}
        called: list[str] = []
        for first, last in chunk_range(start, end, endpoint.max_days):
            path = endpoint.path(first, last)
            body = self._get(
                path,
                what=f"{kind} {first}..{last}",
                validate=functools.partial(answer_problem, kind, start=first, end=last),
            )
            called.append(path)
            documents.update(split_answer(kind, body, first, last))
        return documents, called

    def heart_rate_daily(self, start: date, end: date) -> dict[date, dict[str, Any]]:
        """Daily heart rate (resting HR, zones) per date; ranges of up to a year per call."""
        return self.physiology("heart_rate_daily", start, end)[0]

    def heart_rate_intraday(self, start: date, end: date) -> dict[date, dict[str, Any]]:
        """Intraday heart rate at 1 min, one call per date (the API's intraday range is 24 h)."""
        return self.physiology("heart_rate_intraday", start, end)[0]

    def hrv(self, start: date, end: date) -> dict[date, dict[str, Any]]:
        """Nightly HRV (``dailyRmssd``, ``deepRmssd``) per wake date; 30 days per call."""
        return self.physiology("hrv", start, end)[0]

    def spo2(self, start: date, end: date) -> dict[date, dict[str, Any]]:
        """Nightly SpO2 (avg, min, max) per wake date."""
        return self.physiology("spo2", start, end)[0]

    def breathing_rate(self, start: date, end: date) -> dict[date, dict[str, Any]]:
        """Nightly breathing rate per sleep stage per wake date; 30 days per call."""
        return self.physiology("breathing_rate", start, end)[0]

    def skin_temp(self, start: date, end: date) -> dict[date, dict[str, Any]]:
        """Nightly skin temperature relative to the baseline per wake date; 30 days per call."""
        return self.physiology("skin_temp", start, end)[0]

    # --- the request loop ----------------------------------------------------------------------------------------
    def _get(
        self, path: str, *, what: str, validate: Validator | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        refreshed = False
        waits_429 = 0
        try:
            while True:
                response, body = self._send_with_retries(path, what, validate, params)
                status = response.status_code
                if status == 200:
                    return body
                error_type, message = self._error_of(response)
                if status == 401 and not refreshed:
                    log.info("%s: access token rejected (%s); refreshing once.", what, error_type or "401")
                    self.store.refresh(rejected_access_token=self._last_token)
                    refreshed = True
                    continue
                if status == 429:
                    waits_429 += 1
                    if waits_429 > MAX_429_WAITS:
                        raise FitbitUnavailable(
                            f"{what}: still rate limited (429) after {MAX_429_WAITS} waits."
                        )
                    continue  # the budget now says 0 remaining; _send_with_retries waits for the reset
                raise self._typed_error(status, error_type, message, path, what)
        finally:
            if self.paths is not None and self.quota.last is not None:
                try:
                    self.quota.last.save(self.paths.quota_file)
                except OSError:
                    log.debug("could not save the quota snapshot", exc_info=True)

    def _error_of(self, response: requests.Response) -> tuple[str, str]:
        """(error type, message) of an error answer, scrubbed of tokens."""
        return fitbit_errors(response)

    def _typed_error(self, status: int, error_type: str, message: str, path: str, what: str) -> Exception:
        if status == 410:
            return FitbitApiGone(path)
        if status == 401:
            return ReauthRequired(
                f"the API rejected a freshly refreshed access token ({error_type or 'HTTP 401'})"
            )
        if status == 403:
            return InsufficientScope(message or error_type)
        if status == 404:
            return WrongApiUrl(what, self.settings.api_url + path, self.settings.api_url)
        if status in (400, 422):
            return FitbitValidationError(
                f"{what}: Fitbit said {status} {error_type}: {message or 'no message'}"
            )
        return FitbitSleepError(f"{what}: unexpected HTTP {status} {error_type}: {message}")

    def _send_with_retries(
        self, path: str, what: str, validate: Validator | None = None, params: dict[str, Any] | None = None
    ) -> tuple[requests.Response, dict[str, Any]]:
        retrying = Retrying(
            retry=retry_if_exception_type(_Transient),
            stop=stop_trying(
                self.attempts, lambda exc: str(exc) if isinstance(exc, _CannotConnect) else None
            ),
            wait=wait_exponential_jitter(
                multiplier=self.backoff_initial, max=self.backoff_max, jitter=self.backoff_initial
            ),
            sleep=self._sleep,
            before_sleep=lambda state: self._log_retry(what, state),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._send_once(path, what, validate, params)
        except _CannotConnect as exc:
            raise unreachable(self.base_var, self.base_url, str(exc)) from None
        except _Transient as exc:
            raise FitbitUnavailable(
                f"{what}: the {self.label} at {self.base_url} kept failing after "
                f"{plural(self.attempts, 'try', 'tries')} "
                f"(last: {exc}). Check {self.base_var}, or try again later."
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _log_retry(self, what: str, state: RetryCallState) -> None:
        failed = state.outcome.exception() if state.outcome else None
        if isinstance(failed, _CannotConnect):  # one quick retry; the final error says it all
            log.info("%s: %s; retrying once.", what, failed)
            return
        reason = str(failed or "?")
        self.retry_reasons[reason] = self.retry_reasons.get(reason, 0) + 1
        log.warning("%s: %s; retry %d of %d.", what, reason, state.attempt_number, self.attempts - 1)

    def _send_once(
        self, path: str, what: str, validate: Validator | None = None, params: dict[str, Any] | None = None
    ) -> tuple[requests.Response, dict[str, Any]]:
        self._wait_for_budget(what)
        token = self.store.access_token()
        self._last_token = token
        self.quota.reserve()
        self.calls_made += 1
        try:
            response = self._http.get(
                self.base_url + path,
                params=params,
                headers={"Authorization": f"Bearer {token}"},
                timeout=self.timeout,
                stream=True,
            )
            with response:
                self.quota.observe(response.headers, response.status_code)
                if response.status_code >= 500:
                    raise _Transient(f"HTTP {response.status_code}")
                content = _read_capped(response)
        except requests.ConnectionError as exc:
            reason = connect_failure(exc)
            raise (_CannotConnect(reason) if reason else _Transient(redact(type(exc).__name__))) from None
        except (
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            raise _Transient(redact(f"{type(exc).__name__}")) from None
        response._content = content  # so fitbit_errors() can read an error body
        if response.status_code != 200:
            return response, {}
        try:
            body = json.loads(content.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise _Transient(f"a body that is not UTF-8 (byte {exc.start})") from None
        except ValueError:
            raise _Transient("truncated or unreadable JSON body") from None
        if isinstance(
            body, list
        ):  # a bare list is an answer only for some endpoints: their validator decides
            from pipeline.physiology_fetch import LIST_ANSWER

            body = {LIST_ANSWER: body}
        if not isinstance(body, dict):
            raise _Transient("JSON body is not an object")
        problem = validate(body) if validate is not None else None
        if problem is not None:
            raise _Transient(problem)
        return response, body

    def _wait_for_budget(self, what: str) -> None:
        wait = self.quota.wait_needed()
        if wait <= 0:
            return
        window = "hourly" if self.quota_window_s >= 3600 else "per-minute"
        reason = (
            f"{what}: {window} quota spent (limit {self.quota.limit}); waiting {wait:.0f} s for the reset"
        )
        log.warning("%s.", reason)
        if self.on_wait is not None:
            self.on_wait(wait, reason)
        self._sleep(wait)
        self.waited_s += wait
        self.quota.after_wait()


def _read_capped(response: requests.Response) -> bytes:
    """The body, read in chunks and refused (as a transient failure) once it passes ``MAX_BODY_BYTES``."""
    limit = MAX_BODY_BYTES
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _Transient(f"a {int(declared) // 2**20} MB body, over the {limit // 2**20} MB cap")
    parts: list[bytes] = []
    size = 0
    for part in response.iter_content(chunk_size=256 * 1024):
        size += len(part)
        if size > limit:
            raise _Transient(f"a body over the {limit // 2**20} MB cap")
        parts.append(part)
    return b"".join(parts)
