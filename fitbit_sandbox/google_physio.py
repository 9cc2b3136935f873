"""The physiology data types of the Google Health API v4 sandbox, from the same ``Physiology`` as the v1.2 side
(reference ``google-health-api-v4.md`` §4, §2.3, §2.1), so one account tells one story through both APIs.

Types (``list`` and ``:reconcile``; scope ``googlehealth.health_metrics_and_measurements[.readonly]``):

- Sample types, filter ``{t}.sample_time.physical_time`` (RFC 3339 with a zone) or ``{t}.sample_time.civil_time``
  (no zone): ``heart-rate`` (the device samples; default page 50 as observed live, at most 5000),
  ``heart-rate-variability`` (5-min RMSSD during the main sleep), ``oxygen-saturation`` (minute values),
  ``respiratory-rate-sleep-summary`` (per-stage stats at the session's end);
- Daily types, filter ``{t}.date``: ``daily-resting-heart-rate`` (WITH_SLEEP), ``daily-heart-rate-variability``,
  ``daily-oxygen-saturation``, ``daily-respiratory-rate``, ``daily-sleep-temperature-derivations``.

Live shapes: no ``name`` on these points; int64 as strings (``beatsPerMinute``, ``nonRemHeartRateBeatsPerMinute``),
doubles as numbers; sample times with ``utcOffset`` and a civil time whose zero fields are omitted; newest first;
opaque page tokens bound to the filter and page size; reconcile drops ``dataSource``. Daily points carry the date
the sleep ended, like the v1.2 answers; the last night's appear once it is synced.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np

from fitbit_sandbox.google_oauth import SCOPE_PREFIX
from fitbit_sandbox.google_points import rfc3339
from fitbit_sandbox.physio_export import BAND, TEMP_BASELINE_C, entropy, nrem_heart_rate, utc_seconds
from fitbit_sandbox.physiology import Night

if TYPE_CHECKING:
    from fitbit_sandbox.app import Sandbox

HEALTH_SCOPES = tuple(
    SCOPE_PREFIX + "health_metrics_and_measurements" + s for s in ("", ".readonly", ".writeonly")
)
_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class PhysioType:
    """One data type: its JSON field, filter prefix, record kind and page sizes."""

    field: str
    member: str
    daily: bool
    default_page: int = 1440
    max_page: int = 10000

    @property
    def members(self) -> tuple[str, ...]:
        if self.daily:
            return (f"{self.member}.date",)
        return (f"{self.member}.sample_time.physical_time", f"{self.member}.sample_time.civil_time")


TYPES = {
    "heart-rate": PhysioType("heartRate", "heart_rate", False, 50, 5000),
    "heart-rate-variability": PhysioType("heartRateVariability", "heart_rate_variability", False),
    "oxygen-saturation": PhysioType("oxygenSaturation", "oxygen_saturation", False),
    "respiratory-rate-sleep-summary": PhysioType(
        "respiratoryRateSleepSummary", "respiratory_rate_sleep_summary", False
    ),
    "daily-resting-heart-rate": PhysioType("dailyRestingHeartRate", "daily_resting_heart_rate", True),
    "daily-heart-rate-variability": PhysioType(
        "dailyHeartRateVariability", "daily_heart_rate_variability", True
    ),
    "daily-oxygen-saturation": PhysioType("dailyOxygenSaturation", "daily_oxygen_saturation", True),
    "daily-respiratory-rate": PhysioType("dailyRespiratoryRate", "daily_respiratory_rate", True),
    "daily-sleep-temperature-derivations": PhysioType(
        "dailySleepTemperatureDerivations", "daily_sleep_temperature_derivations", True
    ),
}


@dataclass
class DaySeries:
    """The points of one type attributed to one date, newest first: UTC and civil times as naive-epoch seconds
    (for filters and order) and a builder of the i-th point (so a page builds only what it returns)."""

    utc: np.ndarray
    civil: np.ndarray
    build: Callable[[int], dict[str, Any]]


def _naive_epoch(moment: datetime) -> int:
    return int((moment.replace(tzinfo=None) - _EPOCH).total_seconds())


def _source(method: str) -> dict[str, Any]:
    return {"recordingMethod": method, "device": {"displayName": BAND}, "platform": "FITBIT"}


def _civil_date(day: date) -> dict[str, int]:
    return {"year": day.year, "month": day.month, "day": day.day}


def sample_time(utc_epoch: int, offset: int) -> dict[str, Any]:
    """``sampleTime``: the instant, its UTC offset, and the civil time with its zero fields left out."""
    local = _EPOCH + timedelta(seconds=utc_epoch + offset)
    clock = {
        k: v for k, v in (("hours", local.hour), ("minutes", local.minute), ("seconds", local.second)) if v
    }
    return {
        "physicalTime": rfc3339((_EPOCH + timedelta(seconds=utc_epoch)).replace(tzinfo=UTC)),
        "utcOffset": f"{offset}s",
        "civilTime": {"date": _civil_date(local.date()), "time": clock},
    }


class GooglePhysiology:
    """The physiology side of ``GoogleSide``: the series per (type, date) and the paging over dates."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.zone = ZoneInfo(sb.config.timezone)

    # --- series ------------------------------------------------------------------------------------------------
    def _night(self, day: date) -> Night | None:
        if day == self.sb.today and self.sb.sync_state() != "synced":
            return None
        return self.sb.physiology.night(day)

    def _samples(self, kind: PhysioType, moments: list[datetime], values: list[dict[str, Any]]) -> DaySeries:
        """A sample series from local times (no zone) and the type's value fields, newest first."""
        utc, offsets = [], []
        for moment in moments:
            offset = int((moment.replace(tzinfo=self.zone).utcoffset() or timedelta(0)).total_seconds())
            utc.append(_naive_epoch(moment) - offset)
            offsets.append(offset)
        order = sorted(range(len(utc)), key=lambda i: -utc[i])
        utc_sorted = np.array([utc[i] for i in order], np.int64)
        civil = np.array([utc[i] + offsets[i] for i in order], np.int64)

        def build(i: int) -> dict[str, Any]:
            j = order[i]
            body = {"sampleTime": sample_time(utc[j], offsets[j]), **values[j]}
            return {"dataSource": _source("PASSIVELY_MEASURED"), kind.field: body}

        return DaySeries(utc_sorted, civil, build)

    def _daily(self, kind: PhysioType, day: date, value: dict[str, Any] | None) -> DaySeries:
        if value is None:
            return DaySeries(np.zeros(0, np.int64), np.zeros(0, np.int64), lambda i: {})
        midnight = _naive_epoch(datetime(day.year, day.month, day.day))
        point = {"dataSource": _source("DERIVED"), kind.field: {"date": _civil_date(day), **value}}
        return DaySeries(np.array([midnight]), np.array([midnight]), lambda i: point)

    def series(self, type_id: str, day: date) -> DaySeries:
        kind = TYPES[type_id]
        phys = self.sb.physiology
        if type_id == "heart-rate":
            heart = phys.heart_day(day)
            utc = utc_seconds(heart, self.zone)[::-1]
            midnight_utc = _naive_epoch(datetime(day.year, day.month, day.day))
            local = heart.seconds[::-1].astype(np.int64) + midnight_utc
            bpm = heart.bpm[::-1]
            utc_epoch = utc + midnight_utc

            def build(i: int) -> dict[str, Any]:
                offset = int(local[i] - utc_epoch[i])
                body = {
                    "sampleTime": sample_time(int(utc_epoch[i]), offset),
                    "beatsPerMinute": str(int(bpm[i])),
                }
                return {"dataSource": _source("PASSIVELY_MEASURED"), kind.field: body}

            return DaySeries(utc_epoch, local, build)
        if type_id == "daily-resting-heart-rate":
            resting = phys.resting_hr(day)
            value = None if resting is None else {
                "beatsPerMinute": str(int(round(resting))),
                "dailyRestingHeartRateMetadata": {"calculationMethod": "WITH_SLEEP"},
            }  # fmt: skip
            return self._daily(kind, day, value)
        night = self._night(day)
        return self._nightly(type_id, kind, day, night)

    def _nightly(self, type_id: str, kind: PhysioType, day: date, n: Night | None) -> DaySeries:
        if type_id == "heart-rate-variability":
            windows = n.hrv.windows if n and n.hrv else []
            return self._samples(kind, [w[0] for w in windows],
                                 [{"rootMeanSquareOfSuccessiveDifferencesMilliseconds": w[1]} for w in windows])  # fmt: skip
        if type_id == "oxygen-saturation":
            minutes = n.spo2.minutes if n and n.spo2 else []
            return self._samples(kind, [m for m, _ in minutes], [{"percentage": v} for _, v in minutes])
        if type_id == "respiratory-rate-sleep-summary":
            if n is None or n.br is None:
                return self._samples(kind, [], [])
            rates = {"full": n.br.full, "deep": n.br.deep, "light": n.br.light, "rem": n.br.rem}
            stats = {f"{stage}SleepStats": {"breathsPerMinute": rate, "standardDeviation": n.br.extras[stage][0],
                                            "signalToNoise": n.br.extras[stage][1]} for stage, rate in rates.items()}  # fmt: skip
            return self._samples(kind, [n.end], [stats])
        value: dict[str, Any] | None = None
        if n is not None:
            if type_id == "daily-heart-rate-variability" and n.hrv:
                value = {
                    "averageHeartRateVariabilityMilliseconds": n.hrv.daily_rmssd,
                    "nonRemHeartRateBeatsPerMinute": str(int(round(nrem_heart_rate(self.sb.physiology, n)))),
                    "entropy": entropy(n),
                    "deepSleepRootMeanSquareOfSuccessiveDifferencesMilliseconds": n.hrv.deep_rmssd,
                }
            elif type_id == "daily-oxygen-saturation" and n.spo2:
                value = {"averagePercentage": n.spo2.avg, "lowerBoundPercentage": n.spo2.min,
                         "upperBoundPercentage": n.spo2.max, "standardDeviationPercentage": 0.6}  # fmt: skip
            elif type_id == "daily-respiratory-rate" and n.br:
                value = {"breathsPerMinute": n.br.full}
            elif type_id == "daily-sleep-temperature-derivations" and n.temp is not None:
                value = {"nightlyTemperatureCelsius": round(TEMP_BASELINE_C + n.temp, 3),
                         "baselineTemperatureCelsius": TEMP_BASELINE_C, "relativeNightlyStddev30dCelsius": 0.3}  # fmt: skip
        return self._daily(kind, day, value)

    # --- paging ------------------------------------------------------------------------------------------------
    def page(
        self, type_id: str, bounds: list[tuple[bool, bool, int]], size: int, start: tuple[int, int] | None
    ) -> tuple[list[dict[str, Any]], tuple[int, int] | None]:
        """Up to ``size`` points newest first from ``start`` (date ordinal, index in that date's matches); the
        next start, or None at the end. ``bounds``: (civil, lower, naive-epoch seconds)."""
        first, last = self.sb.physiology.first, self.sb.physiology.last
        for _civil, is_lower, value in bounds:  # only the dates that can match (a day of margin for offsets)
            day = (_EPOCH + timedelta(seconds=value)).date()
            if is_lower:
                first = max(first, day - timedelta(days=1))
            else:
                last = min(last, day + timedelta(days=1))
        day = last if start is None else date.fromordinal(start[0])
        index = 0 if start is None else start[1]
        out: list[dict[str, Any]] = []
        while day >= first:
            series = self.series(type_id, day)
            keep = np.ones(series.utc.size, bool)
            for civil, is_lower, value in bounds:
                times = series.civil if civil else series.utc
                keep &= (times >= value) if is_lower else (times < value)
            matches = np.nonzero(keep)[0]
            take = matches[index : index + size - len(out)]
            out += [series.build(int(i)) for i in take]
            index += len(take)
            if len(out) == size:
                more = index < matches.size
                if more:
                    return out, (day.toordinal(), index)
                return out, ((day - timedelta(days=1)).toordinal(), 0) if day > first else None
            day -= timedelta(days=1)
            index = 0
        return out, None


def encode_token(position: tuple[int, int], fingerprint: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([*position, fingerprint]).encode()).decode().rstrip("=")


def decode_token(token: str, fingerprint: str) -> tuple[int, int] | None:
    try:
        ordinal, index, seen = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError):
        return None
    if seen != fingerprint or not isinstance(ordinal, int) or not isinstance(index, int) or index < 0:
        return None
    return ordinal, index
