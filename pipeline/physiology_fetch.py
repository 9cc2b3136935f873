"""The v1.2 physiology endpoints: which call covers which dates, which scope each needs, and how an answer splits
into the one-date documents ``pipeline.physiology_landing`` lands.

Why a table of endpoints: the client, the planner (``fitbit-sleep plan``), the Dagster asset and the tests must agree
on the calls exactly (the call count of a backfill equals the plan's, and a test checks it), so the ranges live in
one place. The fewest calls that cover a range: each kind's range endpoint in chunks of its maximum range
(``chunk_range``); intraday heart rate has no multi-day form (24 h at most), so it is one call per date.

Ranges (``../shared/reference/fitbit-web-api-v1.2.md`` §4): heart-rate time series 1 year (365 days used);
HRV, breathing rate (the ``all.json`` form, per sleep stage) and skin temperature 30 days; the SpO2 summary has
"no maximum date range" per one client library, unconfirmed officially: capped at 365 days here so an answer stays
bounded. Scopes: ``heartrate`` (heart rate, HRV), ``oxygen_saturation``, ``respiratory_rate``, ``temperature``.
Intraday heart rate is fetched at ``1min`` (what a schedule needs; ``1sec`` is what archives carry).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pipeline.errors import InsufficientScope
from pipeline.physiology_landing import (
    BREATHING_RATE,
    HEART_RATE_DAILY,
    HEART_RATE_INTRADAY,
    HRV,
    KINDS,
    SKIN_TEMP,
    SPO2,
)

if TYPE_CHECKING:
    from pipeline.client import FitbitClient
    from pipeline.paths import StoragePaths

log = logging.getLogger("pipeline.physiology_fetch")

LIST_ANSWER = "__list__"  # the client wraps a bare JSON list answer (SpO2 ranges) under this key
INTRADAY_DETAIL = "1min"


@dataclass(frozen=True)
class Endpoint:
    """One kind's range endpoint: its path for ``start..end``, its maximum range in days and its scope."""

    kind: str
    scope: str
    max_days: int
    template: str  # with {start} and {end} (equal for a per-date endpoint)
    list_key: str | None  # the answer's list of per-date entries; None: the answer is a bare list (SpO2)

    def path(self, start: date, end: date) -> str:
        return self.template.format(start=start.isoformat(), end=end.isoformat(), detail=INTRADAY_DETAIL)


ENDPOINTS: dict[str, Endpoint] = {
    e.kind: e
    for e in (
        Endpoint(HEART_RATE_DAILY, "heartrate", 365, "/1/user/-/activities/heart/date/{start}/{end}.json", "activities-heart"),
        Endpoint(HEART_RATE_INTRADAY, "heartrate", 1, "/1/user/-/activities/heart/date/{start}/1d/{detail}.json", "activities-heart"),
        Endpoint(HRV, "heartrate", 30, "/1/user/-/hrv/date/{start}/{end}.json", "hrv"),
        Endpoint(SPO2, "oxygen_saturation", 365, "/1/user/-/spo2/date/{start}/{end}.json", None),
        Endpoint(BREATHING_RATE, "respiratory_rate", 30, "/1/user/-/br/date/{start}/{end}/all.json", "br"),
        Endpoint(SKIN_TEMP, "temperature", 30, "/1/user/-/temp/skin/date/{start}/{end}.json", "tempSkin"),
    )
}  # fmt: skip
assert set(ENDPOINTS) == set(KINDS)
PHYSIOLOGY_SCOPES: tuple[str, ...] = tuple(dict.fromkeys(e.scope for e in ENDPOINTS.values()))


def chunk_range(start: date, end: date, max_days: int) -> list[tuple[date, date]]:
    """The fewest inclusive chunks of at most ``max_days`` days covering ``start..end``."""
    from pipeline.client import chunk_range as chunks

    return chunks(start, end, max_days)


def allowed_kinds(granted: Iterable[str] | None, kinds: Iterable[str] = KINDS) -> list[str]:
    """The kinds whose scope the login was granted (``granted`` None: no scope recorded, so none: a run never
    calls an endpoint the grant may lack, and the plan counts the same calls)."""
    have = set(granted or ())
    return [k for k in kinds if ENDPOINTS[k].scope in have]


def login_kinds(paths: StoragePaths) -> list[str]:
    """The kinds the saved login's scopes allow, read from the token file (no API call); [] without a login."""
    from pipeline.errors import FitbitSleepError
    from pipeline.tokens import token_health

    try:
        health = token_health(paths)
    except (FitbitSleepError, OSError, KeyError, ValueError):
        return []
    if health.get("provider", "fitbit") != "fitbit":
        return []  # the Google Health API source has no physiology yet
    return allowed_kinds(str(health.get("scope") or "").split())


def planned_calls(start: date, end: date, kinds: Iterable[str] = KINDS) -> dict[str, list[str]]:
    """kind -> the API paths a fetch of ``start..end`` calls, in order (what ``fetch_physiology`` does)."""
    return {
        kind: [ENDPOINTS[kind].path(a, b) for a, b in chunk_range(start, end, ENDPOINTS[kind].max_days)]
        for kind in kinds
    }


class PhysiologyAnswerError(Exception):
    """A 200 answer that is not the one asked for (wrong shape, a date outside the range): retried like a 5xx."""


def answer_problem(kind: str, body: dict[str, Any], start: date, end: date) -> str | None:
    """Why a 200 is not the answer of ``kind`` for ``start..end`` (None: it is)."""
    endpoint = ENDPOINTS[kind]
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        return "a 200 answer with an errors[] body"
    key = endpoint.list_key or LIST_ANSWER
    if kind == SPO2 and start == end and LIST_ANSWER not in body:
        entries: Any = [body] if body else []  # the single-date form: an object, {} when nothing was measured
    else:
        entries = body.get(key)
    if not isinstance(entries, list):
        return f"a 200 answer without a `{key}` list"
    for entry in entries:
        if not isinstance(entry, dict):
            return f"a 200 answer whose `{key}` holds a {type(entry).__name__}"
        stated = entry.get("dateTime")
        try:
            day = date.fromisoformat(stated) if isinstance(stated, str) else None
        except ValueError:
            return f"a 200 answer with an unreadable dateTime {stated!r}"
        if day is None or not start <= day <= end:
            return f"a 200 answer holding a value dated {stated!r}, outside {start}..{end}"
    return None


def split_answer(kind: str, body: dict[str, Any], start: date, end: date) -> dict[date, dict[str, Any]]:
    """One document per date of ``start..end`` in the one-date shape of ``kind`` (``{}``-like when the answer lists
    nothing for a date: asked, nothing measured)."""
    endpoint = ENDPOINTS[kind]
    if kind == HEART_RATE_INTRADAY:
        return {start: body}
    if kind == SPO2 and LIST_ANSWER not in body:
        entries = [body] if body else []
    else:
        entries = body.get(endpoint.list_key or LIST_ANSWER) or []
    by_day: dict[date, list[dict[str, Any]]] = {}
    for entry in entries:
        by_day.setdefault(date.fromisoformat(entry["dateTime"]), []).append(entry)
    out: dict[date, dict[str, Any]] = {}
    day = start
    while day <= end:
        found = by_day.get(day, [])
        if kind == SPO2:
            out[day] = found[0] if found else {}
        else:
            out[day] = {str(endpoint.list_key): found}
        day += timedelta(days=1)
    return out


@dataclass
class PhysiologyFetch:
    """What ``fetch_physiology`` got: per kind, one document per date, the paths called and the kinds skipped."""

    start: date
    end: date
    documents: dict[str, dict[date, dict[str, Any]]] = field(default_factory=dict)
    api_paths: dict[str, list[str]] = field(default_factory=dict)
    source_refs: dict[str, dict[date, str]] = field(
        default_factory=dict
    )  # kind -> date -> the path that covered it
    skipped: dict[str, str] = field(default_factory=dict)  # kind -> why (scope not granted, 403)
    calls: int = 0
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    intraday_unavailable: bool = False  # answers without `activities-heart-intraday` (no intraday access)


def fetch_physiology(
    client: FitbitClient,
    start: date,
    end: date,
    kinds: Iterable[str] = KINDS,
    *,
    warn: Callable[[str], None] | None = None,
) -> PhysiologyFetch:
    """Fetch ``kinds`` for ``start..end`` in the planned calls. A kind the grant lacks (by the saved scopes) is not
    called; a 403 on one (scope or app not authorised) skips that kind with one warning and the others go on."""
    warn = warn or log.warning
    result = PhysiologyFetch(start=start, end=end)
    calls_before = client.calls_made
    granted = client.granted_scopes()
    wanted = list(kinds)
    allowed = allowed_kinds(granted, wanted)
    for kind in wanted:
        if kind not in allowed:
            result.skipped[kind] = f"the login does not grant the `{ENDPOINTS[kind].scope}` scope"
    denied_scopes: dict[str, str] = {}
    for kind in allowed:
        scope = ENDPOINTS[kind].scope
        if scope in denied_scopes:
            result.skipped[kind] = denied_scopes[scope]
            continue
        try:
            result.documents[kind], result.api_paths[kind] = client.physiology(kind, start, end)
            chunks = chunk_range(start, end, ENDPOINTS[kind].max_days)
            result.source_refs[kind] = {
                first + timedelta(days=i): path
                for (first, last), path in zip(chunks, result.api_paths[kind], strict=True)
                for i in range((last - first).days + 1)
            }
        except InsufficientScope as exc:
            reason = f"403 on the `{scope}` endpoints ({exc.detail})"
            denied_scopes[scope] = reason
            result.skipped[kind] = reason
            result.documents.pop(kind, None)
            continue
        if kind == HEART_RATE_INTRADAY:
            result.intraday_unavailable = any(
                "activities-heart-intraday" not in doc for doc in result.documents[kind].values()
            )
    for kind, why in result.skipped.items():
        warn(f"{kind} skipped for {start}..{end}: {why}; run `fitbit-sleep login` again to grant it.")
    if result.intraday_unavailable:
        warn(
            f"heart_rate_intraday {start}..{end}: the API sent no intraday samples (a Personal app has them; a "
            "Server or Client app needs Fitbit's intraday approval); heart rate while asleep stays empty."
        )
    result.calls = client.calls_made - calls_before
    result.fetched_at = datetime.now(UTC)
    return result
