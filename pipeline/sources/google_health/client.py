"""A thin ``requests`` client for the sleep part of the Google Health API v4, on the v1.2 client's request loop.

Why a subclass of ``FitbitClient``: the token refresh on 401 (single-flight), the retries of 5xx, timeouts, resets
and truncated bodies, the quota waits and the base-URL checks are the same; only the paths, the paging and the
error bodies differ. What this client adds (reference google-health-api-v4.md §2.3, §5; real-fitbit-data.md §4):

- sleep is listed by **wake time** (``sleep.interval.civil_end_time``, the only members that work for sleep; a
  civil date is the local wake date, i.e. v1.2's ``dateOfSleep``): one filter for the whole range, ``pageSize``
  25 (the maximum for sleep), ``pageToken`` until a page has no token, an empty one or is ``{}``;
- a session without ``summary`` is not finished: the in-progress session the API lists first while the user
  sleeps, or one not yet ``processed``. It is not landed; its wake date (the range's last date while it has no end)
  is marked pending, so the daily run asks again;
- ``google.rpc.Status`` errors become the same typed errors as v1.2's (``pipeline/errors.py``): 401 refresh once
  then ``ReauthRequired``, ``ACCESS_TOKEN_SCOPE_INSUFFICIENT`` ``InsufficientScope``, ``ACCOUNT_NOT_LINKED``
  ``AccountNotLinked``, ``SERVICE_DISABLED`` ``ServiceDisabled``, other 400 ``FitbitValidationError``, 404
  ``WrongApiUrl``; 429 ``RESOURCE_EXHAUSTED`` waits for the next minute (300 requests per minute per user, no rate
  headers); 5xx and timeouts are retried;
- a 200 that is not a list answer (an ``error`` body, ``dataPoints`` not a list) is retried like a 5xx, as the
  v1.2 client does with a wrong envelope;
- each answer is kept byte for byte in ``SleepFetch.raw_pages``, which the landing stores next to the mapped logs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import requests

from pipeline.client import FitbitClient, SleepFetch, Validator
from pipeline.errors import (
    AccountNotLinked,
    FitbitSleepError,
    FitbitValidationError,
    InsufficientScope,
    ReauthRequired,
    ServiceDisabled,
    WrongApiUrl,
)
from pipeline.redact import redact
from pipeline.sources.google_health.mapping import MappingError, is_finished, seconds, to_log, wake_date

SOURCE = "google-health"
SLEEP_PATH = "/v4/users/me/dataTypes/sleep/dataPoints"
PAGE_SIZE = 25  # the maximum for sleep
MAX_PAGES = 2000  # a token that never ends is a server bug, not a reason to loop forever


def page_problem(body: dict[str, Any]) -> str | None:
    """Why a 200 answer is not a ``ListDataPointsResponse`` (retried like a 5xx, then an error), or None."""
    if "error" in body:
        return "a 200 answer carrying an `error`"
    if not isinstance(body.get("dataPoints", []), list):
        return "a 200 answer whose `dataPoints` is not a list"
    if not isinstance(body.get("nextPageToken", ""), str):
        return "a 200 answer whose `nextPageToken` is not a string"
    return None


class GoogleHealthClient(FitbitClient):
    base_var = "GOOGLE_HEALTH_API_URL"
    label = "Google Health API"
    quota_window_s = 60.0

    def __init__(self, *args: Any, reset_margin: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, reset_margin=reset_margin, **kwargs)
        self._http.headers.pop("Accept-Language", None)
        self._pages: list[bytes] = []

    @property
    def base_url(self) -> str:
        return self.settings.google_api_url

    # --- endpoints ----------------------------------------------------------------------------------------------
    def account(self) -> dict[str, Any]:
        """The profile facts login saves: ``user_id`` (healthUserId), ``timezone``, ``offset_from_utc_millis``.
        The time zone needs ``settings.readonly``; without it (unticked on the consent page) it is None."""
        identity = self._get("/v4/users/me/identity", what="identity")
        user_id = identity.get("healthUserId")
        if not isinstance(user_id, str) or not user_id:
            raise FitbitSleepError("The identity response has no healthUserId.")
        try:
            settings = self._get("/v4/users/me/settings", what="settings")
        except InsufficientScope:
            settings = {}
        offset = settings.get("utcOffset")
        return {
            "user_id": user_id,
            "legacy_user_id": identity.get("legacyUserId"),
            "timezone": settings.get("timeZone"),
            "offset_from_utc_millis": None if offset is None else seconds(offset) * 1000,
        }

    def profile(self) -> dict[str, Any]:
        """v1.2-shaped profile facts (``encodedId``, ``timezone``, ``offsetFromUTCMillis``) for callers of either
        client, e.g. ``fitbit-sleep status``."""
        facts = self.account()
        legacy = facts.get("legacy_user_id")
        return {
            "displayName": f"Fitbit user {legacy}" if legacy else "Google Health user",
            "encodedId": facts["user_id"],
            "timezone": facts["timezone"],
            "offsetFromUTCMillis": facts["offset_from_utc_millis"],
        }

    def list_sleep(self, start: date, end: date) -> list[dict[str, Any]]:
        """Every data point whose local wake date is in ``[start, end]``, page by page, as the API sent them."""
        params: dict[str, Any] = {
            "filter": (
                f'sleep.interval.civil_end_time >= "{start.isoformat()}" AND '
                f'sleep.interval.civil_end_time < "{(end + timedelta(days=1)).isoformat()}"'
            ),
            "pageSize": PAGE_SIZE,
        }
        points: list[dict[str, Any]] = []
        for page_number in range(1, MAX_PAGES + 1):
            body = self._get(
                SLEEP_PATH,
                what=f"sleep {start}..{end} page {page_number}",
                params=params,
                validate=page_problem,
            )
            points.extend(body.get("dataPoints") or [])
            token = body.get("nextPageToken")
            if not token:  # "" or missing (a final `{}` page has neither)
                return points
            params = {**params, "pageToken": token}
        raise FitbitSleepError(f"sleep {start}..{end}: still paging after {MAX_PAGES} pages; giving up.")

    def sleep(self, start: date, end: date) -> SleepFetch:
        """The finished sessions waking in ``[start, end]`` as canonical v1.2 logs; unfinished ones leave their
        date pending."""
        result = SleepFetch(start=start, end=end, source=SOURCE)
        calls_before = self.calls_made
        self._pages = []
        points = self.list_sleep(start, end)
        for point in points:
            if not isinstance(point, dict):
                raise FitbitSleepError(f"sleep {start}..{end}: a data point is not an object.")
            if not is_finished(point):
                day = wake_date(point) or end
                if start <= day <= end:
                    result.pending_dates.add(day)
                continue
            try:
                result.logs.append(to_log(point))
            except (MappingError, KeyError, ValueError, TypeError) as exc:
                raise FitbitSleepError(
                    f"sleep {start}..{end}: a data point cannot be read ({type(exc).__name__}: {exc}); its answer is "
                    "kept in the raw landing."
                ) from None
        result.api_paths.append(SLEEP_PATH)
        result.raw_pages = list(self._pages)
        result.calls = self.calls_made - calls_before
        result.fetched_at = datetime.now(UTC)
        return result

    # --- hooks of the request loop ------------------------------------------------------------------------------
    def _send_once(
        self, path: str, what: str, validate: Validator | None = None, params: dict[str, Any] | None = None
    ) -> tuple[requests.Response, dict[str, Any]]:
        response, body = super()._send_once(path, what, validate, params)
        if response.status_code == 200 and path == SLEEP_PATH:
            self._pages.append(response.content)
        return response, body

    def _error_of(self, response: requests.Response) -> tuple[str, str]:
        """(reason of the ErrorInfo detail, else the canonical status; message) of a ``google.rpc.Status``."""
        try:
            error = response.json().get("error")
        except (ValueError, AttributeError):
            return "", ""
        if not isinstance(error, dict):
            return "", ""
        reason = ""
        for detail in error.get("details") or []:
            if isinstance(detail, dict) and detail.get("reason"):
                reason = str(detail["reason"])
                break
        return reason or str(error.get("status", "")), redact(str(error.get("message", "")))

    def _typed_error(self, status: int, error_type: str, message: str, path: str, what: str) -> Exception:
        if status == 401:
            return ReauthRequired(
                f"the API rejected a freshly refreshed access token ({error_type or 'UNAUTHENTICATED'})",
                provider="Google",
            )
        if error_type == "ACCESS_TOKEN_SCOPE_INSUFFICIENT":
            return InsufficientScope(message)
        if error_type == "ACCOUNT_NOT_LINKED":
            return AccountNotLinked()
        if error_type == "SERVICE_DISABLED":
            return ServiceDisabled(message)
        if status == 404:
            return WrongApiUrl(what, self.base_url + path, self.base_url, self.base_var)
        if status == 400:
            return FitbitValidationError(f"{what}: Google said 400 {error_type}: {message or 'no message'}")
        return FitbitSleepError(f"{what}: unexpected HTTP {status} {error_type}: {message}")
