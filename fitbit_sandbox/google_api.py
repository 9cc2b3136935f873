"""The Google Health API v4 side of the sandbox: Google's OAuth endpoints and the sleep surface of ``health:v4``.

Endpoints (paths as on accounts.google.com / oauth2.googleapis.com / health.googleapis.com, all on one host):

- ``GET|POST /o/oauth2/v2/auth`` (consent page, or a redirect with ``code``, ``scope`` and ``state`` when
  auto-approving), ``POST /token``, ``POST /revoke``;
- ``GET /v4/users/me/identity``, ``GET /v4/users/me/settings``;
- ``GET /v4/users/me/dataTypes/sleep/dataPoints`` and ``…/dataPoints:reconcile``: ``filter`` on
  ``sleep.interval.end_time`` / ``sleep.interval.civil_end_time`` only (``>=``, ``<``, ``AND``), ``pageSize`` ≤ 25,
  opaque ``pageToken`` bound to the filter, newest first, the in-progress session first.
- the physiology types of ``google_physio.py`` (``heart-rate``, ``daily-resting-heart-rate``, HRV, SpO2,
  respiratory rate, sleep temperature; ``list`` and ``:reconcile``; scope ``health_metrics_and_measurements``).

Live quirks served (reference §2-§5): int64 as strings, durations as ``"32400s"``, omitted defaults, the last page
ending with ``"nextPageToken": ""`` (``page_end="empty"``), no token (``"missing"``) or one more ``{}`` page
(``"object"``); the last night in progress (sync state ``unsynced``: no end, no summary) or not yet processed
(``pending``); ``google.rpc.Status`` errors (401 UNAUTHENTICATED, 403 ACCESS_TOKEN_SCOPE_INSUFFICIENT /
SERVICE_DISABLED, 400 ACCOUNT_NOT_LINKED / INVALID_DATA_POINT_FILTER, 429 RESOURCE_EXHAUSTED, 500 INTERNAL,
503 UNAVAILABLE). Quotas (300 per minute per user) and the fault switches (``5xx``, ``timeout``, ``truncate``,
``storm``, ``token5xx``, ``latesync``) are the Fitbit side's; ``gone`` only switches the Fitbit side off.

Control: ``POST /_sandbox/google`` with ``{"page_end": "empty"|"missing"|"object", "account_linked": bool,
"service_enabled": bool, "testing": bool, "revoke_all": true}``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from fitbit_sandbox.consent import authorize_request, consent_page
from fitbit_sandbox.google_oauth import SCOPE_PREFIX, GoogleAccess, GoogleOAuth, GoogleOAuthError
from fitbit_sandbox.google_physio import HEALTH_SCOPES, GooglePhysiology, decode_token, encode_token
from fitbit_sandbox.google_physio import TYPES as PHYSIO_TYPES
from fitbit_sandbox.google_points import (
    health_user_id,
    main_flags,
    reconciled,
    to_data_point,
    unfinished_point,
)

if TYPE_CHECKING:
    from fitbit_sandbox.app import Sandbox

JSON_TYPE = "application/json; charset=UTF-8"
SLEEP_PAGE_MAX = 25
QUOTA_PER_MINUTE = 300
DOMAIN = "health.googleapis.com"
UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid "
    "authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
CREDENTIALS_MISSING = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other "
    "valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
_TERM = re.compile(r'\s*([a-z_.]+)\s*(>=|<=|<|>|=|!=)\s*("([^"]*)"|[0-9T:\-Z.+]+)\s*')
_SLEEP_MEMBERS = ("sleep.interval.end_time", "sleep.interval.civil_end_time")
_SLEEP_SCOPES = tuple(SCOPE_PREFIX + "sleep" + s for s in ("", ".readonly", ".writeonly"))
_SETTINGS_SCOPES = tuple(SCOPE_PREFIX + "settings" + s for s in ("", ".readonly", ".writeonly"))


def rpc_error(code: int, status: str, message: str, details: list[dict[str, Any]] | None = None) -> Response:
    """A ``google.rpc.Status`` body: ``{"error": {"code", "message", "status", "details"?}}``."""
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = details
    return Response(json.dumps({"error": error}, indent=2).encode(), code, media_type=JSON_TYPE)


def error_info(reason: str, **metadata: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": DOMAIN,
    }
    if metadata:
        info["metadata"] = metadata
    return info


def _json(payload: Any, status: int = 200) -> Response:
    """Compact JSON (Google pretty-prints by default; the bytes differ, the JSON does not, and this is faster)."""
    return Response(json.dumps(payload, separators=(",", ":")).encode(), status, media_type=JSON_TYPE)


class FilterError(ValueError):
    def __init__(self, reason: str, violations: list[str]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.violations = violations


def parse_filter(
    text: str, members: tuple[str, ...] = _SLEEP_MEMBERS
) -> tuple[dict[str, str], dict[str, str]]:
    """The lower (``>=``) and upper (``<``) bounds per member of an AIP-160 ``filter`` on one data type.

    Only ``members`` work (for sleep the end-time ones, as observed live); anything else is a 400 with one field
    violation per offending term, as Google answers. Civil members and dates take no zone; physical ones need it."""
    lower: dict[str, str] = {}
    upper: dict[str, str] = {}
    reasons: list[str] = []
    violations: list[str] = []
    offset = 0  # of the term in ``text``; Google reports 1-based columns of the offending member
    for raw in re.split(r"\bAND\b", text) if text.strip() else []:
        column = offset + len(raw) - len(raw.lstrip()) + 1
        offset += len(raw) + len("AND")
        m = _TERM.fullmatch(raw)
        if m is None:
            raise FilterError(
                "INVALID_DATA_POINT_FILTER_SYNTAX", [f"Invalid filter syntax. (at line 1, column {column})"]
            )
        member, op, value = m.group(1), m.group(2), m.group(4) if m.group(4) is not None else m.group(3)
        if member not in members:
            reasons.append("INVALID_DATA_POINT_FILTER_DATA_TYPE_MEMBER")
            violations.append(
                f"Member '{member}' is not supported for filtering. (at line 1, column {column})"
            )
        elif op not in (">=", "<"):
            reasons.append("INVALID_DATA_POINT_FILTER_RESTRICTION_COMPARABLE")
            violations.append(f"Only >= and < are supported. (at line 1, column {column})")
        elif _is_civil(member) and (value.endswith("Z") or "+" in value):
            reasons.append("INVALID_DATA_POINT_FILTER_CIVIL_DATE_TIME_FORMAT")
            violations.append(f"Civil time must not carry a zone. (at line 1, column {column})")
        elif not _is_civil(member) and not _zoned(value):
            reasons.append("INVALID_DATA_POINT_FILTER_SYNTAX")
            violations.append(f"Physical time must be RFC 3339 with a zone. (at line 1, column {column})")
        else:
            (lower if op == ">=" else upper)[member] = value
    if violations:
        raise FilterError(", ".join(reasons), violations)
    return lower, upper


def _is_civil(member: str) -> bool:
    return "civil" in member or member.endswith(".date")


def _zoned(value: str) -> bool:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False


def _civil(value: str) -> datetime:
    return datetime.fromisoformat(value if "T" in value else value + "T00:00:00")


def _physical(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _ends(point: dict[str, Any]) -> tuple[datetime, datetime] | None:
    """(UTC end, local end) of a data point; None while in progress (no end yet)."""
    interval = point["sleep"]["interval"]
    if "endTime" not in interval:
        return None
    end = _physical(interval["endTime"])
    offset = int(interval["endUtcOffset"].removesuffix("s"))
    return end, (end + timedelta(seconds=offset)).replace(tzinfo=None)


Ends = tuple[datetime, datetime] | None


Bound = tuple[bool, bool, datetime]  # (civil member, lower bound, value)


def _bounds(lower: dict[str, str], upper: dict[str, str]) -> list[Bound]:
    parse = {True: _civil, False: _physical}
    return [
        (civil, is_lower, parse[civil](value))
        for is_lower, terms in ((True, lower), (False, upper))
        for member, value in terms.items()
        for civil in (_is_civil(member),)
    ]


def _matches(ends: tuple[datetime, datetime], bounds: list[Bound]) -> bool:
    end_utc, end_local = ends
    for civil, is_lower, value in bounds:
        end = end_local if civil else end_utc
        if (end < value) if is_lower else (end >= value):
            return False
    return True


def _page_token(offset: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([offset, fingerprint]).encode()).decode().rstrip("=")


def _read_token(token: str, fingerprint: str) -> int | None:
    try:
        offset, seen = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError):
        return None
    return int(offset) if seen == fingerprint and isinstance(offset, int) and offset >= 0 else None


def _filter_error(err: FilterError) -> Response:
    details = [error_info("INVALID_DATA_POINT_FILTER", detailedReasons=err.reason),
               {"@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": "filter", "description": v} for v in err.violations]}]  # fmt: skip
    return rpc_error(400, "INVALID_ARGUMENT", f"Invalid data point filter: {err.reason}.", details)


def _page_size(query: Any, default: int, cap: int) -> int | None:
    """``pageSize`` (or ``page_size``) clamped to 1..``cap``; None when it is not a number."""
    try:
        size = int(query.get("pageSize") or query.get("page_size") or default)
    except ValueError:
        return None
    return max(1, min(size, cap))


def _epoch_bounds(lower: dict[str, str], upper: dict[str, str]) -> list[tuple[bool, bool, int]]:
    """The bounds as (civil, lower, seconds since 1970 of the civil time or of the UTC instant)."""
    out = []
    for civil, is_lower, moment in _bounds(lower, upper):
        naive = moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
        out.append((civil, is_lower, int((naive - datetime(1970, 1, 1)).total_seconds())))
    return out


class GoogleSide:
    """The v4 endpoints of one sandbox; shares the history, clock, faults, sync state and stats of ``Sandbox``."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.zone = ZoneInfo(sb.config.timezone)
        self.oauth = GoogleOAuth(sb.config.google_client_id, sb.config.google_client_secret)
        self.page_end = "empty"
        self.account_linked = True
        self.service_enabled = True
        self.usage: dict[str, tuple[int, int]] = {}
        self._cache: dict[int, tuple[int, bool, dict[str, Any], tuple[datetime, datetime]]] = {}
        self.physio = GooglePhysiology(sb)

    # --- plumbing --------------------------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        sb = self.sb
        return [
            sb.plain_route("/o/oauth2/v2/auth", ["GET", "POST"], self.authorize),
            sb.plain_route("/token", ["POST"], self.token),
            sb.plain_route("/revoke", ["POST"], self.revoke),
            self._api_route("/v4/users/{user}/identity", None, self.identity),
            self._api_route("/v4/users/{user}/settings", _SETTINGS_SCOPES, self.settings),
            *(
                self._api_route(
                    f"/v4/users/{{user}}/dataTypes/{type_id}/{{method}}",
                    HEALTH_SCOPES,
                    self._physio_points(type_id),
                )
                for type_id in PHYSIO_TYPES
            ),  # fmt: skip
            self._api_route(
                "/v4/users/{user}/dataTypes/{data_type}/{method}", _SLEEP_SCOPES, self.data_points
            ),
        ]

    def _api_route(
        self,
        template: str,
        scopes: tuple[str, ...] | None,
        handler: Callable[[Request, GoogleAccess], Awaitable[Response]],
    ) -> Route:
        async def endpoint(request: Request) -> Response:
            response = await self._api(request, scopes, handler)
            self.sb.record(request.method, template, response.status_code)
            return response

        return Route(template, endpoint, methods=["GET"])

    def _take_quota(self, key: str) -> bool:
        window = int(self.sb.clock.now() // 60)
        start, count = self.usage.get(key, (window, 0))
        count = count if start == window else 0
        if count >= QUOTA_PER_MINUTE:
            return False
        self.usage[key] = (window, count + 1)
        return True

    @staticmethod
    def _too_many() -> Response:
        return rpc_error(
            429, "RESOURCE_EXHAUSTED",
            "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service "
            "'health.googleapis.com' for consumer 'project_number:123456789'.",
            [error_info("RATE_LIMIT_EXCEEDED"),
             {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
              "violations": [{"subject": "project:123456789", "description": "Quota exceeded"}]}],
        )  # fmt: skip

    async def _api(
        self,
        request: Request,
        scopes: tuple[str, ...] | None,
        handler: Callable[[Request, GoogleAccess], Awaitable[Response]],
    ) -> Response:
        faults = self.sb.faults
        if faults.storm_left == 0 and faults.hit("storm"):
            faults.storm_left = faults.storm_length
        if faults.storm_left > 0:
            faults.storm_left -= 1
            return self._too_many()
        if faults.hit("5xx"):
            if faults.choice((500, 503)) == 500:
                return rpc_error(500, "INTERNAL", "Internal error encountered.")
            return rpc_error(503, "UNAVAILABLE", "The service is currently unavailable.")
        stall = faults.hit("timeout")
        truncate = faults.hit("truncate")
        authorization = request.headers.get("authorization")
        if not authorization:
            return rpc_error(401, "UNAUTHENTICATED", CREDENTIALS_MISSING, [error_info("CREDENTIALS_MISSING")])
        token = self.oauth.bearer(authorization, self.sb.clock.now())
        if token is None:
            return rpc_error(401, "UNAUTHENTICATED", UNAUTHENTICATED)
        if request.path_params.get("user") not in ("me", health_user_id(self.sb.config.seed)):
            return rpc_error(403, "PERMISSION_DENIED", "The caller does not have permission")
        if not self.service_enabled:
            return rpc_error(
                403, "PERMISSION_DENIED",
                "Google Health API has not been used in project 123456789 before or it is disabled. Enable it by "
                "visiting https://console.developers.google.com/apis/api/health.googleapis.com/overview?project="
                "123456789 then retry.",
                [error_info("SERVICE_DISABLED", consumer="projects/123456789", service=DOMAIN)],
            )  # fmt: skip
        if scopes is not None and not set(scopes) & set(token.scopes):
            return rpc_error(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.",
                             [error_info("ACCESS_TOKEN_SCOPE_INSUFFICIENT")])  # fmt: skip
        if not self.account_linked:
            return rpc_error(400, "FAILED_PRECONDITION", "The account is not linked to Google Health.",
                             [error_info("ACCOUNT_NOT_LINKED", redirect_uri="https://fitbit.google.com/auth/signup")])  # fmt: skip
        if not self._take_quota(token.client_id):
            return self._too_many()
        response = await handler(request, token)
        if stall:
            await asyncio.sleep(faults.timeout_seconds)
        if truncate and response.status_code == 200:
            cut = bytes(response.body)[: len(response.body) // 2]
            response.body = cut
            response.headers["content-length"] = str(len(cut))
        return response

    # --- OAuth -----------------------------------------------------------------------------------------------
    async def authorize(self, request: Request) -> Response:
        params, granted, action = await authorize_request(request)
        try:
            redirect, scopes = self.oauth.check_authorize(params)
        except GoogleOAuthError as err:
            return HTMLResponse(
                "<!doctype html><html><head><title>Sign in - Google Accounts</title></head><body>"
                f"<h1>Access blocked: authorization error</h1><p class=error>{html.escape(err.description)}</p>"
                f"<p>Error {err.status}: {html.escape(err.error)}</p></body></html>",
                err.status,
            )
        if request.method == "GET" and not self.sb.config.auto_approve:
            return HTMLResponse(self._consent_page(params, scopes))
        query: dict[str, str]
        if request.method == "POST" and action != "allow":
            query = {"error": "access_denied"}
        else:
            if request.method == "POST":  # granular consent: the user may untick scopes
                scopes = tuple(s for s in scopes if s in granted)
            query = {
                "code": self.oauth.issue_code(params, scopes, self.sb.clock.now()),
                "scope": " ".join(scopes),
            }
        if "state" in params:
            query["state"] = params["state"]
        return RedirectResponse(f"{redirect}?{urlencode(query)}", 302)

    def _consent_page(self, params: dict[str, str], scopes: tuple[str, ...]) -> str:
        return consent_page(
            title="Sign in - Google Accounts", heading=f"{params['client_id']} wants access to your Google Account",
            action="/o/oauth2/v2/auth", params=params, scopes=scopes, approve="Continue", deny="Cancel",
            notice="<p>Google hasn't verified this app</p>",
        )  # fmt: skip

    async def token(self, request: Request) -> Response:
        if self.sb.faults.hit("token5xx"):
            return rpc_error(503, "UNAVAILABLE", "The service is currently unavailable.")
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        now = self.sb.clock.now()
        try:
            self.oauth.authenticate(request.headers.get("authorization"), form)
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                body = self.oauth.exchange(form, now)
            elif grant_type == "refresh_token":
                body = self.oauth.refresh(form, now)
            else:
                raise GoogleOAuthError(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        except GoogleOAuthError as err:
            return _json({"error": err.error, "error_description": err.description}, err.status)
        return _json(body)

    async def revoke(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        token = form.get("token") or request.query_params.get("token", "")
        if not self.oauth.revoke(token):
            return _json({"error": "invalid_token", "error_description": "Token expired or revoked"}, 400)
        return _json({})

    # --- API -------------------------------------------------------------------------------------------------
    async def identity(self, request: Request, token: GoogleAccess) -> Response:
        return _json({"name": "users/me/identity", "healthUserId": health_user_id(self.sb.config.seed),
                      "legacyUserId": self.sb.user_id})  # fmt: skip

    async def settings(self, request: Request, token: GoogleAccess) -> Response:
        offset = datetime.fromtimestamp(self.sb.clock.now(), self.zone).utcoffset() or timedelta(0)
        return _json({
            "name": "users/me/settings", "timeZone": self.sb.config.timezone,
            "utcOffset": f"{int(offset.total_seconds())}s", "languageLocale": "en-US", "distanceUnit": "DISTANCE_UNIT_KILOMETERS",
            "weightUnit": "WEIGHT_UNIT_KILOGRAMS", "heightUnit": "HEIGHT_UNIT_CENTIMETERS", "temperatureUnit": "TEMPERATURE_UNIT_CELSIUS",
            "waterUnit": "WATER_UNIT_ML", "swimUnit": "SWIM_UNIT_METERS", "glucoseUnit": "GLUCOSE_UNIT_MG_DL",
        })  # fmt: skip

    def points(self) -> list[tuple[dict[str, Any], tuple[datetime, datetime]]]:
        """Every session visible now, newest first by start; the last night per the sync state."""
        state = self.sb.sync_state()
        store = self.sb.store
        finished = store.all_logs(state)
        flags = main_flags(finished)
        out: list[tuple[dict[str, Any], tuple[datetime, datetime]]] = []
        for log in finished:
            key = int(log["logId"])
            cached = self._cache.get(key)
            if cached is None or cached[0] != id(log) or cached[1] != flags[key]:
                point = to_data_point(log, zone=self.zone, seed=self.sb.config.seed, main_sleep=flags[key])
                ends = _ends(point)
                assert ends is not None
                cached = (id(log), flags[key], point, ends)
                self._cache[key] = cached
            out.append((cached[2], cached[3]))
        if state != "synced":
            seen = {int(log["logId"]) for log in finished}
            for log, _raw in store.by_date.get(store.today, []):
                if int(log["logId"]) not in seen:
                    point = unfinished_point(log, zone=self.zone, seed=self.sb.config.seed,
                                             in_progress=state == "unsynced")  # fmt: skip
                    # filters see the in-progress session at its (future) wake time, which the history knows
                    end_local = datetime.fromisoformat(log["endTime"])
                    end_utc = end_local.replace(tzinfo=self.zone).astimezone(UTC)
                    out.append((point, _ends(point) or (end_utc, end_local)))
        # newest first; the unfinished last night leads (the user is asleep now, or it was just detected)
        out.sort(key=lambda item: ("summary" not in item[0]["sleep"], item[0]["sleep"]["interval"]["startTime"]),
                 reverse=True)  # fmt: skip
        return out

    async def data_points(self, request: Request, token: GoogleAccess) -> Response:
        data_type, method = request.path_params["data_type"], request.path_params["method"]
        if method not in ("dataPoints", "dataPoints:reconcile"):
            return HTMLResponse(
                f"<p>The requested URL {html.escape(request.url.path)} was not found on this server.</p>", 404
            )
        if data_type != "sleep":
            return rpc_error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.",
                             [error_info("INVALID_PARENT_DATA_TYPE_COLLECTION")])  # fmt: skip
        q = request.query_params
        if "dataSourceFamily" in q and method == "dataPoints":
            return rpc_error(
                400,
                "INVALID_ARGUMENT",
                "Data source family is not supported for sleep; use ReconcileDataPoints.",
            )
        try:
            lower, upper = parse_filter(q.get("filter", ""))
        except FilterError as err:
            return _filter_error(err)
        size = _page_size(q, SLEEP_PAGE_MAX, SLEEP_PAGE_MAX)
        if size is None:
            return rpc_error(400, "INVALID_ARGUMENT", "Invalid value for pageSize.")
        fingerprint = hashlib.sha1(f"{method}|{q.get('filter', '')}|{size}".encode()).hexdigest()[:12]
        offset = 0
        if q.get("pageToken"):
            found = _read_token(q["pageToken"], fingerprint)
            if found is None:
                return rpc_error(400, "INVALID_ARGUMENT", "Invalid page token.")
            offset = found
        bounds = _bounds(lower, upper)
        chosen = [p for p, ends in self.points() if _matches(ends, bounds)]
        page = chosen[offset : offset + size]
        if method == "dataPoints:reconcile":
            page = [reconciled(p) for p in page]
        body: dict[str, Any] = {}
        if page:
            body["dataPoints"] = page
        more = offset + size < len(chosen)
        if more or (self.page_end == "object" and page):
            body["nextPageToken"] = _page_token(offset + size, fingerprint)
        elif self.page_end == "empty":
            body["nextPageToken"] = ""
        return _json(body)

    def _physio_points(self, type_id: str) -> Callable[[Request, GoogleAccess], Awaitable[Response]]:
        """list / reconcile of one physiology type (``google_physio.py``): filter on its members, newest first."""
        kind = PHYSIO_TYPES[type_id]

        async def handler(request: Request, token: GoogleAccess) -> Response:
            method = request.path_params["method"]
            if method not in ("dataPoints", "dataPoints:reconcile"):
                return HTMLResponse(
                    f"<p>The requested URL {html.escape(request.url.path)} was not found on this server.</p>",
                    404,
                )
            q = request.query_params
            try:
                bounds = _epoch_bounds(*parse_filter(q.get("filter", ""), kind.members))
            except FilterError as err:
                return _filter_error(err)
            except ValueError:
                return _filter_error(
                    FilterError("INVALID_DATA_POINT_FILTER_SYNTAX", ["Invalid date or time."])
                )
            size = _page_size(q, kind.default_page, kind.max_page)
            if size is None:
                return rpc_error(400, "INVALID_ARGUMENT", "Invalid value for pageSize.")
            fingerprint = hashlib.sha1(
                f"{type_id}|{method}|{q.get('filter', '')}|{size}".encode()
            ).hexdigest()[:12]
            start = None
            if q.get("pageToken"):
                start = decode_token(q["pageToken"], fingerprint)
                if start is None:
                    return rpc_error(400, "INVALID_ARGUMENT", "Invalid page token.")
            points, after = self.physio.page(type_id, bounds, size, start)
            if method == "dataPoints:reconcile":
                points = [{k: v for k, v in p.items() if k != "dataSource"} for p in points]
            body: dict[str, Any] = {}
            if points:
                body["dataPoints"] = points
            if after is not None:
                body["nextPageToken"] = encode_token(after, fingerprint)
            elif self.page_end == "empty":
                body["nextPageToken"] = ""
            return _json(body)

        return handler

    # --- control ---------------------------------------------------------------------------------------------
    def control(self, body: dict[str, Any]) -> dict[str, Any]:
        if "page_end" in body:
            if body["page_end"] not in ("empty", "missing", "object"):
                raise ValueError("page_end must be empty, missing or object")
            self.page_end = str(body["page_end"])
        if "account_linked" in body:
            self.account_linked = bool(body["account_linked"])
        if "service_enabled" in body:
            self.service_enabled = bool(body["service_enabled"])
        if "testing" in body:
            self.oauth.testing = bool(body["testing"])
        if body.get("revoke_all"):
            self.oauth.revoke_all()
        return {
            "page_end": self.page_end, "account_linked": self.account_linked,
            "service_enabled": self.service_enabled, "testing": self.oauth.testing,
            "health_user_id": health_user_id(self.sb.config.seed), "client_id": self.oauth.client_id,
        }  # fmt: skip
