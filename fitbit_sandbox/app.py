"""Starlette app of the sandbox: the paths of www.fitbit.com and api.fitbit.com on one host.

Fitbit endpoints (same paths, parameters, status codes and bodies as v1.2):

- ``GET /oauth2/authorize`` (consent page, or a redirect with ``code``, ``state`` and ``#_=_`` when
  auto-approving), ``POST /oauth2/authorize`` (the consent form), ``POST /oauth2/token``, ``POST /oauth2/revoke``,
  ``POST /1.1/oauth2/introspect``;
- ``GET /1/user/-/profile.json``, ``GET /1.2/user/-/sleep/date/{date}.json``,
  ``GET /1.2/user/-/sleep/date/{start}/{end}.json``, ``GET /1.2/user/-/sleep/list.json``;
- heart rate, HRV, SpO2, breathing rate and skin temperature: ``fitbit_sandbox/physio_api.py`` lists them.

Control endpoints, for tests and benchmarks only (never used by the pipeline; JSON in, JSON out):

- ``GET /_sandbox/stats``: ``{"requests": {"<METHOD> <path template>": {"<status>": count}}}``;
  ``POST /_sandbox/reset-stats`` zeroes it.
- ``GET /_sandbox/info``: user id, time zone, first and last date, client id.
- ``GET /_sandbox/clock`` -> ``{"now": epoch_s, "iso": …}``; ``POST /_sandbox/clock`` with ``{"advance": seconds}``
  or ``{"set": epoch_s | ISO-8601}`` moves the clock used for token expiry, code expiry, quota windows, late sync.
- ``GET /_sandbox/faults``; ``POST /_sandbox/faults`` with ``{"spec": "5xx=0.1,…"}`` replaces the faults (RNG
  reseeded from the seed) and/or ``{"storm": N}`` makes the next N API requests answer 429.
- ``POST /_sandbox/sync`` with ``{"state": "unsynced"|"pending"|"synced"|"auto"}``: the last night's main sleep
  is absent / processing (``meta.state: "pending"``) / there; ``auto`` follows the ``latesync`` fault.
- ``POST /_sandbox/edit`` with ``{"kind": "change"|"split"|"delete", "date": "YYYY-MM-DD"?}``: edits after the
  fact (default date: the latest with a main sleep); answers the affected log ids and dates.
- ``POST /_sandbox/gone`` with ``{"gone": true|false}``: every Fitbit endpoint answers 410 Gone.
- ``POST /_sandbox/google``: the v4 side's switches (``fitbit_sandbox/google_api.py``, which also lists the Google
  OAuth and ``health:v4`` endpoints served on the same host from the same history).
- ``GET|POST /_sandbox/access`` with ``{"intraday": bool, "withhold_scopes": [scope, …]}``: intraday access
  (False: heart-rate intraday answers lack ``activities-heart-intraday``, as for an app without Fitbit's approval) and
  the scopes the simulated user unticks on the consent page (auto-approval does not grant them either).
- ``POST /_sandbox/quota`` with ``{"quota": N?, "window": S?}`` changes the quota and clears the counters.
- ``GET /_sandbox/accounts``: every account (name, user id, state, API calls, most calls in one quota window);
  ``POST /_sandbox/accounts`` with ``{"account": NAME, "state": "ok"|"slow"|"revoked"|"gone", "delay": S?}``
  switches one (``fitbit_sandbox/accounts.py``). Sync and edit controls act on the primary account.
"""

from __future__ import annotations

import asyncio
import html
import json
import math
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from fitbit_sandbox.accounts import Account, Accounts, parse_account_faults
from fitbit_sandbox.clock import Clock
from fitbit_sandbox.config import SandboxConfig
from fitbit_sandbox.consent import authorize_request, consent_page
from fitbit_sandbox.faults import BAD_ENVELOPES, Faults
from fitbit_sandbox.generator import Log, resolve_today
from fitbit_sandbox.google_api import GoogleSide
from fitbit_sandbox.oauth import AccessToken, OAuthError, OAuthState
from fitbit_sandbox.physio_api import PhysioRoutes
from fitbit_sandbox.physiology import Physiology
from fitbit_sandbox.responses import JSON_TYPE, fitbit_error
from fitbit_sandbox.responses import json_response as _json
from fitbit_sandbox.responses import parse_day as _parse_day
from fitbit_sandbox.store import PENDING_META, SleepStore

MAX_RANGE_DAYS = 100
GONE_MESSAGE = "The legacy Fitbit Web API has been turned off. Use the Google Health API."
Handler = Callable[[Request, AccessToken], Awaitable[Response]]


def _edge_error(status: int) -> Response:
    """502/503 come from the edge as HTML, not as Fitbit JSON."""
    reason = {502: "Bad Gateway", 503: "Service Temporarily Unavailable"}[status]
    return HTMLResponse(f"<html><head><title>{status} {reason}</title></head><body><h1>{reason}</h1></body></html>",
                        status)  # fmt: skip


def _bad_envelope(kind: str, request: Request, today: date) -> Response:
    """A 200 that is not the sleep envelope asked for (the ``badenvelope`` fault)."""
    if kind == "missing":
        return _json({"summary": {"totalMinutesAsleep": 0, "totalSleepRecords": 0, "totalTimeInBed": 0}})
    if kind == "null":
        return _json({"sleep": None})
    if kind == "errors":
        return _json(
            {"errors": [{"errorType": "system", "message": "Internal processing error"}], "success": False}
        )
    first = (
        _parse_day(request.path_params.get("start", request.path_params.get("date", "today")), today) or today
    )
    stray = {
        "logId": 1,
        "dateOfSleep": (first - timedelta(days=1)).isoformat(),
        "startTime": "",
        "endTime": "",
    }
    return _json({"sleep": [stray]})


def _day_summary(logs: list[Log]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    stages = [log for log in logs if log["type"] == "stages"]
    if stages:
        summary["stages"] = {
            k: sum(log["levels"]["summary"][k]["minutes"] for log in stages)
            for k in ("deep", "light", "rem", "wake")
        }
    summary["totalMinutesAsleep"] = sum(log["minutesAsleep"] for log in logs)
    summary["totalSleepRecords"] = len(logs)
    summary["totalTimeInBed"] = sum(log["timeInBed"] for log in logs)
    return summary


class Sandbox:
    """All mutable state of one sandbox server; every handler runs on the server's single event loop."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock = Clock()
        self.today = resolve_today(config.today, config.timezone)
        self.store = SleepStore(config.seed, config.days, self.today, config.timezone)
        self.accounts = Accounts(
            config.seed, config.days, self.today, config.timezone, self.store, tuple(config.accounts)
        )
        self.user_id = self.accounts.primary.user_id
        self.oauth = OAuthState(config.client_id, config.client_secret, self.user_id, config.access_token_ttl)
        if config.state_file is not None:
            self.oauth.attach(config.state_file)
        for name, (state, delay) in parse_account_faults(config.account_faults).items():
            self.set_account_state(name, state, delay)
        self.faults = Faults.parse(config.faults, seed=config.seed, timeout_seconds=config.timeout_seconds)
        self.gone = config.gone
        self.quota = config.quota
        self.quota_window = config.quota_window
        self.usage: dict[tuple[str, str], tuple[int, int]] = {}
        self.sync_override: str | None = None
        self.stats: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.google = GoogleSide(self)
        self.intraday = config.intraday
        self.withheld_scopes = tuple(config.withheld_scopes)
        snapshot = [log for day in sorted(self.store.by_date) for log, _ in self.store.by_date[day]]
        self.physiology = Physiology(config.seed, snapshot, self.store.first, self.today, tz=config.timezone)

    def set_account_state(self, name: str, state: str, delay_s: float | None = None) -> Account:
        """Switch one account; ``revoked`` also revokes its tokens in the OAuth state (other processes see it)."""
        account = self.accounts.set_state(name, state, delay_s)
        if state == "revoked":
            self.oauth.revoke_user(account.user_id)
        return account

    def account_of(self, token: AccessToken) -> Account:
        return self.accounts.of_user(token.user_id)

    # --- shared pieces ---------------------------------------------------------------------------------------
    def sync_state(self) -> str:
        if self.sync_override is not None:
            return self.sync_override
        lag = self.faults.latesync
        if lag <= 0:
            return "synced"
        elapsed = self.clock.now() - self.clock.started
        return "unsynced" if elapsed < lag else "pending" if elapsed < 2 * lag else "synced"

    def rate_headers(self, key: tuple[str, str] | None) -> dict[str, str]:
        now = self.clock.now()
        window = int(now // self.quota_window)
        reset = max(1, math.ceil((window + 1) * self.quota_window - now))
        used = 0
        if key is not None:
            start, count = self.usage.get(key, (window, 0))
            used = count if start == window else 0
        return {
            "Fitbit-Rate-Limit-Limit": str(self.quota),
            "Fitbit-Rate-Limit-Remaining": str(max(0, self.quota - used)),
            "Fitbit-Rate-Limit-Reset": str(reset),
        }

    def take_quota(self, key: tuple[str, str]) -> bool:
        """Count one call in the fixed window aligned to the server clock; False when the quota is spent."""
        window = int(self.clock.now() // self.quota_window)
        start, count = self.usage.get(key, (window, 0))
        if start != window:
            count = 0
        if count >= self.quota:
            return False
        self.usage[key] = (window, count + 1)
        return True

    def too_many(self, headers: dict[str, str]) -> Response:
        # Like the real one, Retry-After disagrees with Fitbit-Rate-Limit-Reset; clients should trust -Reset.
        headers = dict(headers, **{"Retry-After": str(max(1, int(headers["Fitbit-Rate-Limit-Reset"]) // 2))})
        return fitbit_error(429, "system", "Too Many Requests", "n/a", headers)

    def gone_response(self, as_html: bool = False) -> Response:
        if as_html:
            return HTMLResponse(f"<html><body><h1>410 Gone</h1><p>{GONE_MESSAGE}</p></body></html>", 410)
        return fitbit_error(410, "request", GONE_MESSAGE, "n/a")

    def record(self, method: str, template: str, status: int) -> None:
        self.stats[f"{method} {template}"][str(status)] += 1

    # --- wrappers --------------------------------------------------------------------------------------------
    def api_route(self, template: str, scope: str | None, handler: Handler) -> Route:
        """An API endpoint with 410, faults, bearer checks, quota and rate-limit headers around ``handler``."""

        async def endpoint(request: Request) -> Response:
            response = await self._api(request, scope, handler)
            # Every API answer carries the rate-limit headers, 4xx/5xx/410 included (the 429 sets its own).
            owner = self.oauth.owner_of(request.headers.get("authorization"))
            for name, value in self.rate_headers(owner).items():
                response.headers.setdefault(name, value)
            self.record(request.method, template, response.status_code)
            return response

        path = template.replace("/user/-/", "/user/{user_id}/")
        return Route(path, endpoint, methods=["GET"])

    async def _api(self, request: Request, scope: str | None, handler: Handler) -> Response:
        if self.gone:
            return self.gone_response()
        faults = self.faults
        if faults.storm_left == 0 and faults.hit("storm"):
            faults.storm_left = faults.storm_length
        if faults.storm_left > 0:
            # a 429 although the user's count looks fine, as with Fitbit's lagging headers
            faults.storm_left -= 1
            return self.too_many(self.rate_headers(self.oauth.owner_of(request.headers.get("authorization"))))
        if faults.hit("5xx"):
            status = faults.choice((500, 502, 503))
            if status == 500:
                return fitbit_error(500, "request", "An error occurred with the Fitbit Web API while processing "
                                    f"the request. Error id: {faults.rng.getrandbits(64):016x}", "500")  # fmt: skip
            return _edge_error(status)
        stall = faults.hit("timeout")
        truncate = faults.hit("truncate")
        bad_envelope = faults.hit("badenvelope")
        try:
            token = self.oauth.check_bearer(request.headers.get("authorization"), scope, self.clock.now())
        except OAuthError as err:
            return fitbit_error(err.status, err.error_type, err.message)
        key = (token.client_id, token.user_id)
        account = self.accounts.of_user(token.user_id)
        if account.state == "revoked":
            return fitbit_error(401, "invalid_token", "Access token invalid: the user revoked the access.")
        if account.state == "gone":
            return fitbit_error(410, "request", "This account no longer exists.", "n/a")
        user = request.path_params.get("user_id", "-")
        if user not in ("-", token.user_id):
            return fitbit_error(403, "insufficient_permissions", "API client is not authorized by the resource owner "
                                "to access the resource requested.")  # fmt: skip
        if not self.take_quota(key):
            return self.too_many(self.rate_headers(key))
        account.count_call(int(self.clock.now() // self.quota_window))
        if account.delay_s > 0:
            await asyncio.sleep(account.delay_s)
        response = await handler(request, token)
        if stall:
            await asyncio.sleep(faults.timeout_seconds)
        if bad_envelope and response.status_code == 200 and "/sleep/date/" in request.url.path:
            response = _bad_envelope(faults.choice_of(BAD_ENVELOPES), request, self.today)
        if truncate and response.status_code == 200:
            cut = bytes(response.body)[: len(response.body) // 2]
            response.body = cut
            response.headers["content-length"] = str(len(cut))
        return response

    def plain_route(
        self, template: str, methods: list[str], endpoint: Callable[[Request], Awaitable[Response]]
    ) -> Route:
        async def counted(request: Request) -> Response:
            response = await endpoint(request)
            self.record(request.method, template, response.status_code)
            return response

        return Route(template, counted, methods=methods)

    # --- OAuth -----------------------------------------------------------------------------------------------
    async def authorize(self, request: Request) -> Response:
        if self.gone:
            return self.gone_response(as_html=True)
        params, granted, action = await authorize_request(request)
        try:
            redirect, scopes = self.oauth.check_authorize(params)
        except OAuthError as err:
            return HTMLResponse(
                "<!doctype html><html><head><title>Fitbit sandbox: authorization error</title></head><body>"
                f"<h1>Authorization error</h1><p class=error>{html.escape(err.error_type)} - "
                f"{html.escape(err.message)}</p></body></html>",
                err.status,
            )
        state = params.get("state")
        account = self.accounts.named(params.get("login_hint"))
        if account is None:
            return HTMLResponse(
                "<!doctype html><html><head><title>Fitbit sandbox: sign-in error</title></head><body>"
                f"<h1>Sign-in error</h1><p class=error>No account {html.escape(params['login_hint'])!s} here; "
                f"accounts: {html.escape(', '.join(self.accounts.by_name))}</p></body></html>",
                400,
            )
        if request.method == "GET" and not self.config.auto_approve:
            return HTMLResponse(self._consent_page(params, scopes))
        if request.method == "POST" and action != "allow":
            query = {"error": "access_denied", "error_description": "The user denied the request."}
        else:
            if request.method == "POST":
                scopes = tuple(s for s in scopes if s in granted)
            else:  # auto-approval grants what the simulated user would have left ticked
                scopes = tuple(s for s in scopes if s not in self.withheld_scopes)
            code = self.oauth.issue_code(params, scopes, self.clock.now(), account.user_id)
            query = {"code": code}
        if state is not None:
            query["state"] = state
        sep = "&" if "?" in redirect else "?"
        return RedirectResponse(f"{redirect}{sep}{urlencode(query)}#_=_", 302)

    def _consent_page(self, params: dict[str, str], scopes: tuple[str, ...]) -> str:
        return consent_page(
            title="Fitbit sandbox: allow access", heading=f"{params['client_id']} would like to access your Fitbit data",
            action="/oauth2/authorize", params=params, scopes=scopes, approve="Allow", deny="Deny",
            unticked=self.withheld_scopes,
        )  # fmt: skip

    async def _form(self, request: Request) -> dict[str, str]:
        return dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))

    @staticmethod
    def _oauth_error(err: OAuthError) -> Response:
        headers = {"WWW-Authenticate": 'Basic realm="api.fitbit.com"'} if err.basic_challenge else None
        return fitbit_error(err.status, err.error_type, err.message, headers=headers)

    async def token(self, request: Request) -> Response:
        if self.gone:
            return self.gone_response()
        if self.faults.hit("token5xx"):
            return _edge_error(self.faults.choice((502, 503)))
        form = await self._form(request)
        now = self.clock.now()
        try:
            confidential = self.oauth.authenticate_client(request.headers.get("authorization"), form)
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                pair = self.oauth.exchange_code(form, confidential, now)
            elif grant_type == "refresh_token":
                self._refuse_revoked(form.get("refresh_token"))
                if self.faults.hit("token409"):
                    return fitbit_error(409, "request", "Request conflict due to multiple clients attempting to "
                                        "refresh the same access token.")  # fmt: skip
                pair = self.oauth.refresh(form, now)
            elif not grant_type:
                raise OAuthError(400, "invalid_request", "Missing parameters: grant_type")
            else:
                raise OAuthError(
                    400, "unsupported_grant_type", f"The grant type {grant_type} is not supported"
                )
        except OAuthError as err:
            return self._oauth_error(err)
        return _json(pair, headers={"Cache-Control": "no-cache, private"})

    def _refuse_revoked(self, refresh_token: str | None) -> None:
        """A refresh for an account switched to ``revoked`` is ``invalid_grant``, as after a real withdrawal."""
        owner = self.oauth.refresh_owner.get(refresh_token or "")
        if owner is not None and self.accounts.of_user(owner[1]).state == "revoked":
            raise OAuthError(400, "invalid_grant", f"Refresh token invalid: {refresh_token}.")

    async def revoke(self, request: Request) -> Response:
        if self.gone:
            return self.gone_response()
        form = await self._form(request)
        try:
            self.oauth.authenticate_client(request.headers.get("authorization"), form)
        except OAuthError as err:
            return self._oauth_error(err)
        if not form.get("token"):
            return fitbit_error(400, "invalid_request", "Missing parameters: token")
        self.oauth.revoke(form["token"])
        return _json({})

    async def introspect(self, request: Request) -> Response:
        if self.gone:
            return self.gone_response()
        now = self.clock.now()
        try:
            self.oauth.check_bearer(request.headers.get("authorization"), None, now)
        except OAuthError as err:
            return fitbit_error(err.status, err.error_type, err.message)
        form = await self._form(request)
        if not form.get("token"):
            return fitbit_error(400, "invalid_request", "Missing parameters: token")
        return _json(self.oauth.introspect(form["token"], now))

    # --- API -------------------------------------------------------------------------------------------------
    async def profile(self, request: Request, token: AccessToken) -> Response:
        account = self.account_of(token)
        tz = ZoneInfo(self.config.timezone)
        offset = datetime.fromtimestamp(self.clock.now(), tz).utcoffset() or timedelta(0)
        user = {
            "age": 38, "avatar": "https://static0.fitbit.com/images/profile/defaultProfile_100.png",
            "dateOfBirth": "1988-04-02", "displayName": "Sandbox S.", "distanceUnit": "METRIC",
            "encodedId": account.user_id, "firstName": "Sandbox", "fullName": "Sandbox Sleeper", "gender": "NA",
            "glucoseUnit": "METRIC", "height": 172.0, "heightUnit": "METRIC", "lastName": "Sleeper",
            "locale": "en_US", "memberSince": (account.store.first - timedelta(days=30)).isoformat(),
            "offsetFromUTCMillis": int(offset.total_seconds() * 1000), "startDayOfWeek": "MONDAY",
            "strideLengthRunning": 105.4, "strideLengthWalking": 71.5, "timezone": self.config.timezone,
            "waterUnit": "METRIC", "weight": 70.0, "weightUnit": "METRIC",
        }  # fmt: skip
        return _json({"user": user})

    async def sleep_date(self, request: Request, token: AccessToken) -> Response:
        day = _parse_day(request.path_params["date"], self.today)
        if day is None:
            return fitbit_error(400, "validation", f"Invalid date:{request.path_params['date']}", "date")
        items, pending = self.account_of(token).store.day(day, self.sync_state())
        items = sorted(items, key=lambda item: item[0]["startTime"], reverse=True)
        if pending and not items:
            return _json({"meta": PENDING_META})
        head = b'{"meta":' + json.dumps(PENDING_META).encode() + b"," if pending else b"{"
        summary = json.dumps(_day_summary([log for log, _ in items]), separators=(",", ":")).encode()
        body = head + b'"sleep":[' + b",".join(raw for _, raw in items) + b'],"summary":' + summary + b"}"
        return Response(body, 200, media_type=JSON_TYPE)

    async def sleep_range(self, request: Request, token: AccessToken) -> Response:
        start = _parse_day(request.path_params["start"], self.today)
        end = _parse_day(request.path_params["end"], self.today)
        if start is None:
            return fitbit_error(
                400, "validation", f"Invalid date:{request.path_params['start']}", "startDate"
            )
        if end is None:
            return fitbit_error(400, "validation", f"Invalid date:{request.path_params['end']}", "endDate")
        if end < start:
            return fitbit_error(
                400, "validation", "The end date must not be before the start date.", "endDate"
            )
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            return fitbit_error(400, "validation", f"The date range must not exceed {MAX_RANGE_DAYS} days.",
                                "endDate")  # fmt: skip
        state = self.sync_state()
        store = self.account_of(token).store
        chunks: list[bytes] = []
        any_pending = False
        day = end
        while day >= start:
            items, pending = store.day(day, state)
            any_pending = any_pending or pending
            chunks.extend(
                raw for _, raw in sorted(items, key=lambda item: item[0]["startTime"], reverse=True)
            )
            day -= timedelta(days=1)
        head = b'{"meta":' + json.dumps(PENDING_META).encode() + b"," if any_pending else b"{"
        return Response(head + b'"sleep":[' + b",".join(chunks) + b"]}", 200, media_type=JSON_TYPE)

    async def sleep_list(self, request: Request, token: AccessToken) -> Response:
        q = request.query_params
        before, after = q.get("beforeDate"), q.get("afterDate")
        if (before is None) == (after is None):
            return fitbit_error(400, "validation", "Either beforeDate or afterDate must be specified, but not both.",
                                "beforeDate")  # fmt: skip
        sort = q.get("sort")
        if sort not in ("asc", "desc"):
            return fitbit_error(400, "validation", "Invalid sort parameter: must be asc or desc.", "sort")
        if (before is not None and sort != "desc") or (after is not None and sort != "asc"):
            return fitbit_error(400, "validation", "Use sort=desc with beforeDate and sort=asc with afterDate.",
                                "sort")  # fmt: skip
        try:
            limit = int(q.get("limit", ""))
            offset = int(q.get("offset", ""))
        except ValueError:
            return fitbit_error(400, "validation", "limit and offset are required integers.", "limit")
        if not 1 <= limit <= 100:
            return fitbit_error(400, "validation", "The limit must be between 1 and 100.", "limit")
        if offset < 0:
            return fitbit_error(400, "validation", "The offset must not be negative.", "offset")
        bound = before if before is not None else after
        assert bound is not None
        try:
            bound_dt = datetime.fromisoformat(bound)
        except ValueError:
            return fitbit_error(
                400, "validation", f"Invalid date:{bound}", "beforeDate" if before else "afterDate"
            )
        date_only = len(bound) == 10
        logs = self.account_of(token).store.all_logs(self.sync_state())

        def keep(log: Log) -> bool:
            if date_only:  # a date bound includes that dateOfSleep
                d = log["dateOfSleep"]
                return d <= bound if before is not None else d >= bound
            started = datetime.fromisoformat(log["startTime"])
            return started < bound_dt if before is not None else started > bound_dt

        chosen = sorted(
            (log for log in logs if keep(log)), key=lambda log: log["startTime"], reverse=sort == "desc"
        )
        page = chosen[offset : offset + limit]
        base = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
        bound_key = "beforeDate" if before is not None else "afterDate"

        def link(new_offset: int) -> str:
            return (
                f"{base}?{urlencode({'offset': new_offset, 'limit': limit, 'sort': sort, bound_key: bound})}"
            )

        pagination = {
            bound_key: bound,
            "limit": limit,
            "next": link(offset + limit) if offset + limit < len(chosen) else "",
            "offset": offset,
            "previous": link(max(0, offset - limit)) if offset > 0 else "",
            "sort": sort,
        }
        return _json({"pagination": pagination, "sleep": page})

    # --- control ---------------------------------------------------------------------------------------------
    async def _body(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("body must be a JSON object")
        return data

    async def control(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            body = await self._body(request) if request.method == "POST" else {}
            return JSONResponse(self._control(request.method, name, body))
        except KeyError:
            return JSONResponse({"error": f"unknown control endpoint {request.method} /_sandbox/{name}"}, 404)
        except (ValueError, TypeError) as err:
            return JSONResponse({"error": str(err)}, 400)

    def _control(self, method: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        if (method, name) == ("GET", "stats"):
            return {"requests": {k: dict(v) for k, v in self.stats.items()}}
        if (method, name) == ("POST", "reset-stats"):
            self.stats.clear()
            return {"requests": {}}
        if name == "clock":
            if method == "POST":
                if "advance" in body:
                    self.clock.advance(float(body["advance"]))
                elif "set" in body:
                    value = body["set"]
                    ts = (
                        float(value)
                        if isinstance(value, int | float)
                        else datetime.fromisoformat(value).timestamp()
                    )
                    self.clock.set(ts)
                else:
                    raise ValueError("give advance (seconds) or set (epoch seconds or ISO-8601)")
            now = self.clock.now()
            return {"now": now, "iso": datetime.fromtimestamp(now).astimezone().isoformat()}
        if name == "faults":
            if method == "POST":
                if "spec" in body:
                    self.faults = Faults.parse(str(body["spec"]), seed=self.config.seed,
                                               timeout_seconds=self.config.timeout_seconds)  # fmt: skip
                if "storm" in body:
                    self.faults.storm_left = int(body["storm"])
            return self.faults.describe()
        if (method, name) == ("POST", "sync"):
            state = body.get("state")
            if state not in ("synced", "pending", "unsynced", "auto"):
                raise ValueError("state must be synced, pending, unsynced or auto")
            self.sync_override = None if state == "auto" else state
            return {"state": self.sync_state(), "date": self.today.isoformat()}
        if (method, name) == ("POST", "edit"):
            day = date.fromisoformat(body["date"]) if body.get("date") else None
            return self.store.edit(str(body.get("kind", "")), day)
        if (method, name) == ("POST", "gone"):
            self.gone = bool(body.get("gone", True))
            return {"gone": self.gone}
        if (method, name) == ("POST", "quota"):
            self.quota = int(body.get("quota", self.quota))
            self.quota_window = int(body.get("window", self.quota_window))
            self.usage.clear()
            return {"quota": self.quota, "window": self.quota_window}
        if name == "google":
            return self.google.control(body)
        if name == "accounts":
            if method == "POST":
                delay = body.get("delay")
                self.set_account_state(
                    str(body.get("account", "")),
                    str(body.get("state", "")),
                    None if delay is None else float(delay),
                )
            return {"accounts": self.accounts.describe()}
        if name == "access":
            if method == "POST":
                if "intraday" in body:
                    self.intraday = bool(body["intraday"])
                if "withhold_scopes" in body:
                    withheld = body["withhold_scopes"]
                    if not isinstance(withheld, list) or not all(isinstance(s, str) for s in withheld):
                        raise ValueError("withhold_scopes must be a list of scope names")
                    self.withheld_scopes = tuple(withheld)
            return {"intraday": self.intraday, "withhold_scopes": list(self.withheld_scopes)}
        if (method, name) == ("GET", "info"):
            return {
                "user_id": self.user_id, "timezone": self.config.timezone, "client_id": self.config.client_id,
                "first_date": self.store.first.isoformat(), "last_date": self.today.isoformat(),
                "seed": self.config.seed, "days": self.config.days, "accounts": list(self.accounts.by_name),
            }  # fmt: skip
        raise KeyError(name)


def create_app(config: SandboxConfig) -> Starlette:
    """The ASGI app; ``app.state.sandbox`` holds the state (used by ``SandboxServer``)."""
    sb = Sandbox(config)
    routes = [
        sb.plain_route("/oauth2/authorize", ["GET", "POST"], sb.authorize),
        sb.plain_route("/oauth2/token", ["POST"], sb.token),
        sb.plain_route("/oauth2/revoke", ["POST"], sb.revoke),
        sb.plain_route("/1.1/oauth2/introspect", ["POST"], sb.introspect),
        sb.api_route("/1/user/-/profile.json", "profile", sb.profile),
        sb.api_route("/1.2/user/-/sleep/list.json", "sleep", sb.sleep_list),
        sb.api_route("/1.2/user/-/sleep/date/{start}/{end}.json", "sleep", sb.sleep_range),
        sb.api_route("/1.2/user/-/sleep/date/{date}.json", "sleep", sb.sleep_date),
        *PhysioRoutes(sb, sb.physiology).routes(),
        *sb.google.routes(),
        Route("/_sandbox/{name}", sb.control, methods=["GET", "POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = sb
    return app
