"""The v1.2 heart-rate and nightly-measure endpoints of the sandbox (reference ``fitbit-web-api-v1.2.md`` §4).

Endpoints (``-`` or the user's id; dates ``yyyy-MM-dd`` or ``today``; same auth, faults and 150/h quota as sleep):

- scope ``heartrate``:
  ``/1/user/-/activities/heart/date/{date}/{period}.json`` (period ``1d|7d|30d|1w|1m``),
  ``/1/user/-/activities/heart/date/{start}/{end}.json`` (at most ``HEART_RANGE_MAX_DAYS``),
  ``/1/user/-/activities/heart/date/{date}/1d/{detail}.json`` (detail ``1sec|1min|5min|15min``),
  ``/1/user/-/activities/heart/date/{start}/{end}/{detail}.json`` (at most 24 h),
  both intraday forms also with ``/time/{HH:mm}/{HH:mm}`` before ``.json``;
  ``/1/user/-/hrv/date/{date}.json``, ``/1/user/-/hrv/date/{start}/{end}.json``, and ``…/all.json`` (intraday);
- scope ``oxygen_saturation``: ``/1/user/-/spo2/date/{date}.json`` (an object, ``{}`` without data),
  ``/1/user/-/spo2/date/{start}/{end}.json`` (a list, no range limit), ``…/all.json`` (intraday, 30 days);
- scope ``respiratory_rate``: ``/1/user/-/br/date/{date}.json``, ``…/{start}/{end}.json``, ``…/all.json``;
- scope ``temperature``: ``/1/user/-/temp/skin/date/{date}.json``, ``…/{start}/{end}.json`` (dates with data only).

Ranges over ``NIGHTLY_RANGE_MAX_DAYS`` (HRV, BR, SpO2 intraday, skin temperature), a heart-rate range over a year
and an intraday interval over 24 hours answer 400 with the Fitbit error body. Without intraday access (the
``intraday`` setting, as for a server or client app without Fitbit's approval) the heart-rate intraday answers
lack ``activities-heart-intraday``. The nightly measures of ``today`` appear only once the last night is synced.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fitbit_sandbox.oauth import AccessToken
from fitbit_sandbox.physiology import HeartDay, Night, Physiology
from fitbit_sandbox.responses import fitbit_error, json_response, parse_day

if TYPE_CHECKING:
    from fitbit_sandbox.app import Sandbox

HEART_RANGE_MAX_DAYS = 366  # "Maximum range: 1 year" (a leap year's worth, both ends included)
NIGHTLY_RANGE_MAX_DAYS = 30
PERIODS = {"1d": 1, "7d": 7, "30d": 30, "1w": 7, "1m": 30}
DETAILS = {"1sec": (1, "second"), "1min": (1, "minute"), "5min": (5, "minute"), "15min": (15, "minute")}
SKIN_LOG_TYPE = "dedicated_temp_sensor"
Handler = Callable[[Request, AccessToken], Awaitable[Response]]


class BadRequest(Exception):
    """A request the real API answers with 400; carries the Fitbit error response."""

    def __init__(self, response: Response) -> None:
        super().__init__()
        self.response = response


def _fmt_local(moment: datetime, millis: bool = True) -> str:
    return moment.isoformat(timespec="milliseconds" if millis else "seconds")


def _hhmmss(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class PhysioRoutes:
    """Handlers of the physiology endpoints over one sandbox's ``Physiology``."""

    def __init__(self, sb: Sandbox, physiology: Physiology) -> None:
        self.sb = sb
        self.phys = physiology

    def routes(self) -> list[Route]:
        sb = self.sb
        heart = "/1/user/-/activities/heart/date"
        routes: list[tuple[str, str, Handler]] = [
            (f"{heart}/{{a}}/{{b}}/{{detail}}/time/{{t0}}/{{t1}}.json", "heartrate", self.heart_intraday),
            (f"{heart}/{{a}}/{{b}}/{{detail}}.json", "heartrate", self.heart_intraday),
            (f"{heart}/{{a}}/{{b}}.json", "heartrate", self.heart_series),
        ]
        for kind, scope in (("hrv", "heartrate"), ("spo2", "oxygen_saturation"), ("br", "respiratory_rate")):
            base = f"/1/user/-/{kind}/date"
            routes += [
                (f"{base}/{{start}}/{{end}}/all.json", scope, self._nightly(kind, intraday=True)),
                (f"{base}/{{start}}/all.json", scope, self._nightly(kind, intraday=True)),
                (f"{base}/{{start}}/{{end}}.json", scope, self._nightly(kind, intraday=False)),
                (f"{base}/{{start}}.json", scope, self._nightly(kind, intraday=False)),
            ]
        routes += [
            (
                "/1/user/-/temp/skin/date/{start}/{end}.json",
                "temperature",
                self._nightly("temp", intraday=False),
            ),
            ("/1/user/-/temp/skin/date/{start}.json", "temperature", self._nightly("temp", intraday=False)),
        ]
        return [sb.api_route(template, scope, self._guarded(handler)) for template, scope, handler in routes]

    @staticmethod
    def _guarded(handler: Handler) -> Handler:
        async def run(request: Request, token: AccessToken) -> Response:
            try:
                return await handler(request, token)
            except BadRequest as bad:
                return bad.response

        return run

    # --- parameters ----------------------------------------------------------------------------------------------
    def _day(self, value: str, field: str) -> date:
        day = parse_day(value, self.sb.today)
        if day is None:
            raise BadRequest(fitbit_error(400, "validation", f"Invalid date:{value}", field))
        return day

    def _range(self, start_value: str, end_value: str, max_days: int | None) -> tuple[date, date]:
        start, end = self._day(start_value, "startDate"), self._day(end_value, "endDate")
        if end < start:
            raise BadRequest(
                fitbit_error(400, "validation", "The end date must not be before the start date.", "endDate")
            )
        if max_days is not None and (end - start).days + 1 > max_days:
            raise BadRequest(
                fitbit_error(400, "validation", f"The date range must not exceed {max_days} days.", "endDate")
            )
        return start, end

    @staticmethod
    def _clock(value: str, field: str) -> int:
        """``HH:mm`` -> minutes after midnight."""
        try:
            hours, minutes = value.split(":")
            if len(hours) != 2 or len(minutes) != 2 or not 0 <= int(hours) < 24 or not 0 <= int(minutes) < 60:
                raise ValueError
            return int(hours) * 60 + int(minutes)
        except ValueError:
            raise BadRequest(fitbit_error(400, "validation", f"Invalid time:{value}", field)) from None

    def _measured(self, day: date) -> Night | None:
        """The nightly measures of ``day`` as visible now (the last night's wait for its sync)."""
        if day == self.sb.today and self.sb.sync_state() != "synced":
            return None
        return self.phys.night(day)

    # --- heart rate ----------------------------------------------------------------------------------------------
    def _heart_entry(self, day: date) -> dict[str, Any]:
        value: dict[str, Any] = {"customHeartRateZones": [], "heartRateZones": self.phys.zones(day)}
        resting = self.phys.resting_hr(day)
        if resting is not None:
            value["restingHeartRate"] = int(round(resting))
        return {"dateTime": day.isoformat(), "value": value}

    async def heart_series(self, request: Request, token: AccessToken) -> Response:
        a, b = request.path_params["a"], request.path_params["b"]
        if b in PERIODS:
            end = self._day(a, "date")
            start = end - timedelta(days=PERIODS[b] - 1)
        elif len(b) == 10 and b[4] == "-" or b == "today":
            start, end = self._range(a, b, HEART_RANGE_MAX_DAYS)
        else:
            return fitbit_error(
                400, "validation", f"Invalid period:{b}. Use 1d, 7d, 30d, 1w or 1m.", "period"
            )
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        return json_response({"activities-heart": [self._heart_entry(day) for day in days]})

    async def heart_intraday(self, request: Request, token: AccessToken) -> Response:
        params = request.path_params
        detail = params["detail"]
        if detail not in DETAILS:
            return fitbit_error(400, "validation", f"Invalid detail level:{detail}. Use 1sec, 1min, 5min or "
                                "15min.", "detail-level")  # fmt: skip
        if params["b"] == "1d":
            start = end = self._day(params["a"], "date")
        else:
            start, end = self._range(params["a"], params["b"], None)
        first_minute = self._clock(params["t0"], "startTime") if "t0" in params else 0
        last_minute = self._clock(params["t1"], "endTime") if "t1" in params else 1439
        span = (end - start).days * 1440 + last_minute - first_minute + 1
        if span > 1440 or span <= 0:
            return fitbit_error(400, "request", "Time range should not be bigger than 24 hours.", "n/a")
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        body: dict[str, Any] = {"activities-heart": [self._heart_entry(day) for day in days]}
        if self.sb.intraday:
            interval, kind = DETAILS[detail]
            dataset: list[dict[str, Any]] = []
            for i, day in enumerate(days):
                lo = first_minute * 60 if i == 0 else 0
                hi = last_minute * 60 + 59 if i == len(days) - 1 else 86399
                dataset += _dataset(self.phys.heart_day(day), detail, lo, hi)
            body["activities-heart-intraday"] = {"dataset": dataset, "datasetInterval": interval,
                                                 "datasetType": kind}  # fmt: skip
        return json_response(body)

    # --- HRV, SpO2, breathing rate, skin temperature -------------------------------------------------------------
    def _nightly(self, kind: str, *, intraday: bool) -> Handler:
        async def handler(request: Request, token: AccessToken) -> Response:
            params = request.path_params
            single = "end" not in params
            if single:
                start = end = self._day(params["start"], "date")
            else:
                unlimited = kind == "spo2" and not intraday  # SpO2 summary: "no maximum date range"
                start, end = self._range(
                    params["start"], params["end"], None if unlimited else NIGHTLY_RANGE_MAX_DAYS
                )
            nights = [night for night in (self._measured(d) for d in _dates(start, end)) if night is not None]
            return json_response(_nightly_body(kind, intraday, single, nights))

        return handler


def _dates(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _dataset(heart: HeartDay, detail: str, lo: int, hi: int) -> list[dict[str, Any]]:
    """The intraday rows of one day between seconds ``lo`` and ``hi`` (inclusive) at ``detail``."""
    if detail == "1sec":
        seconds, values = heart.seconds, heart.bpm
    else:
        seconds, values = heart.per_interval(DETAILS[detail][0])
    keep = (seconds >= lo) & (seconds <= hi)
    return [
        {"time": _hhmmss(int(s)), "value": int(v)} for s, v in zip(seconds[keep], values[keep], strict=True)
    ]


def _hrv_rows(nights: list[Night], intraday: bool) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for n in nights:
        if n.hrv is None:
            continue
        if intraday:
            minutes = [
                {"minute": _fmt_local(at), "value": {"rmssd": r, "coverage": c, "hf": hf, "lf": lf}}
                for at, r, c, hf, lf in n.hrv.windows
            ]
            rows.append({"minutes": minutes, "dateTime": n.day.isoformat()})
        else:
            value = {"dailyRmssd": n.hrv.daily_rmssd, "deepRmssd": n.hrv.deep_rmssd}
            rows.append({"value": value, "dateTime": n.day.isoformat()})
    return {"hrv": rows}


def _br_rows(nights: list[Night], intraday: bool) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for n in nights:
        if n.br is None:
            continue
        value: dict[str, Any] = {"breathingRate": n.br.full}
        if intraday:
            value = {
                "deepSleepSummary": {"breathingRate": n.br.deep},
                "remSleepSummary": {"breathingRate": n.br.rem},
                "fullSleepSummary": {"breathingRate": n.br.full},
                "lightSleepSummary": {"breathingRate": n.br.light},
            }
        rows.append({"value": value, "dateTime": n.day.isoformat()})
    return {"br": rows}


def _temp_rows(nights: list[Night], intraday: bool) -> dict[str, Any]:
    rows = [
        {"dateTime": n.day.isoformat(), "value": {"nightlyRelative": n.temp}, "logType": SKIN_LOG_TYPE}
        for n in nights
        if n.temp is not None
    ]
    return {"tempSkin": rows}


def _spo2_rows(nights: list[Night], intraday: bool) -> list[dict[str, Any]]:
    """SpO2 is not wrapped: an object per date (a list for an interval)."""
    rows: list[dict[str, Any]] = []
    for n in nights:
        if n.spo2 is None:
            continue
        if intraday:
            minutes = [{"value": v, "minute": _fmt_local(at, millis=False)} for at, v in n.spo2.minutes]
            rows.append({"dateTime": n.day.isoformat(), "minutes": minutes})
        else:
            value = {"avg": n.spo2.avg, "min": n.spo2.min, "max": n.spo2.max}
            rows.append({"dateTime": n.day.isoformat(), "value": value})
    return rows


def _nightly_body(kind: str, intraday: bool, single: bool, nights: list[Night]) -> Any:
    """The answer of a nightly endpoint in its real shape (each kind has its own)."""
    if kind == "spo2":
        rows = _spo2_rows(nights, intraday)
        return (rows[0] if rows else {}) if single else rows
    return {"hrv": _hrv_rows, "br": _br_rows, "temp": _temp_rows}[kind](nights, intraday)
