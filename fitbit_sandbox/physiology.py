"""The sandbox user's physiology, tied to the generated sleep history: heart rate all day, resting heart rate, HRV,
SpO2, breathing rate and skin temperature, as the v1.2 API and both archive generations report them.

Why tied to the sleep: the product relates sleep to next-day physiology ("does my resting heart rate go up after
short nights?"), so the sandbox must have a known answer. Every number here is a function of (seed, date, the
sleep logs of that date and the next): a day is generated on demand and cached, so a 2-year history starts as fast
as before and any two servers (or an archive and a server) with the same seed agree sample for sample.

The model (reference ``fitbit-web-api-v1.2.md`` §4, ``real-fitbit-data.md`` §3):

- **resting HR** of a day: the person's base (``PersonParams``) + a slow drift (a yearly and a ~10-week wave,
  ±3 bpm) + ``SHORT_NIGHT_BPM_PER_HOUR`` bpm per hour the night that ended that morning fell short of 7.5 h asleep
  (capped) + an illness bump on a few days a year + day noise (sd 0.8). Days without a logged night have none
  (``restingHeartRate`` omitted, archive ``value 0.0`` placeholder).
- **heart rate samples**: 1-s device samples every 5-15 s (1-5 s during exercise), a 30-s step curve around the
  day's resting HR: awake daytime ~+14 bpm with a circadian wave, walks and some exercise; in sleep deep ~-6,
  light ~-3, REM ~+0.5 with more variance, wake ~+5, a nightly dip of 3 bpm two thirds into long sleeps; off-wrist
  gaps (charging, shower) and no samples on nights that were not worn; thinned samples on classic nights Fitbit
  could not stage (infoCode 1: "insufficient heart rate").
- **HRV / SpO2 / breathing rate / skin temperature**: only for a stages **main sleep** (``isMainSleep``) with at
  least ``MIN_ASLEEP_FOR_NIGHTLY`` minutes asleep, **reported on the date the sleep ended** (its
  ``dateOfSleep``), each missing on ``MISSING_RATE`` of those nights (independently). Classic-era nights have
  none. HRV is lower and breathing rate higher when resting HR is up; the summaries are computed from the
  intraday values the same generator serves (dailyRmssd = mean of the 5-min rmssd, deepRmssd = mean over the deep
  windows, SpO2 avg/min/max of the minute values, full-sleep breathing rate = stage rates weighted by minutes).

Times are the sleep logs' local wall clock (no zone, as the API's); the archives convert to UTC with the account's
zone. Edits made after the fact (``POST /_sandbox/edit``) do not change the physiology: it follows the history as
generated.
"""

from __future__ import annotations

import math
import random
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from fitbit_sandbox.generator import Log

EPOCH = 30  # seconds: the resolution of the underlying heart-rate curve and of the sleep stages
DAY_EPOCHS = 86400 // EPOCH
SHORT_NIGHT_BPM_PER_HOUR = 1.4  # resting HR rises this much per hour of sleep short of 7.5 h
MIN_ASLEEP_FOR_NIGHTLY = (
    180  # minutes asleep a main sleep needs for HRV / SpO2 / breathing rate / temperature
)
MISSING_RATE = {"hrv": 0.12, "spo2": 0.15, "br": 0.10, "temp": 0.18}  # share of eligible nights without it
CACHED_DAYS = 64
MAX_HR = 182  # 220 - age (the profile says 38)
ZONES = (
    ("Out of Range", 30, 91, 1.3),
    ("Fat Burn", 91, 127, 6.0),
    ("Cardio", 127, 155, 9.0),
    ("Peak", 155, 220, 12.0),
)

# Heart rate relative to the day's resting HR, and the spread of its slow wander, per state of a 30-s epoch.
_DAY, _OFF = "day", "off"
_STATE_BPM = {"wake": 5.0, "light": -3.0, "deep": -6.0, "rem": 0.5, "asleep": -3.5, "restless": 1.0, "awake": 5.0,
              "unknown": -2.0}  # fmt: skip
_STATE_SD = {"wake": 4.0, "light": 1.6, "deep": 1.0, "rem": 3.0, "asleep": 1.8, "restless": 2.5, "awake": 4.0,
             "unknown": 2.0}  # fmt: skip
_CODES = {name: i for i, name in enumerate((_DAY, _OFF, *_STATE_BPM))}
_CODE_BPM = np.array([0.0, 0.0, *_STATE_BPM.values()])
_CODE_SD = np.array([5.0, 0.0, *_STATE_SD.values()])
# HRV factor, SpO2 desaturation chance and breathing-rate offset per sleep stage.
_STAGE_RMSSD = {"deep": 1.2, "light": 1.0, "rem": 0.85, "wake": 0.7}


@dataclass(frozen=True)
class PersonParams:
    """The sandbox user's constants, drawn from the seed: where their numbers sit."""

    resting_base: float
    rmssd_base: float
    br_base: float
    spo2_base: float
    temp_phase: float
    drift_phases: tuple[float, float]

    @classmethod
    def of(cls, seed: int) -> PersonParams:
        rng = random.Random(seed * 65_537 + 11)
        return cls(
            resting_base=rng.uniform(54, 64),
            rmssd_base=rng.uniform(30, 50),
            br_base=rng.uniform(13.5, 16.0),
            spo2_base=rng.uniform(95.2, 96.8),
            temp_phase=rng.uniform(0, 2 * math.pi),
            drift_phases=(rng.uniform(0, 2 * math.pi), rng.uniform(0, 2 * math.pi)),
        )


@dataclass
class HeartDay:
    """One local day of heart-rate samples: seconds after local midnight, bpm, confidence (0-3)."""

    day: date
    seconds: np.ndarray  # int32, strictly increasing
    bpm: np.ndarray  # int16
    confidence: np.ndarray  # int8
    resting: float | None

    def per_interval(self, minutes: int) -> tuple[np.ndarray, np.ndarray]:
        """(bucket start in seconds, mean bpm rounded) of the ``minutes``-wide buckets that have samples."""
        width = minutes * 60
        bucket = self.seconds // width
        sums = np.bincount(bucket, weights=self.bpm, minlength=86400 // width)
        counts = np.bincount(bucket, minlength=86400 // width)
        have = np.nonzero(counts)[0]
        return have * width, np.rint(sums[have] / counts[have]).astype(np.int16)

    def zones(self) -> list[dict[str, Any]]:
        """Fitbit's four default zones: minutes of the day (per-minute means) in each, calories burnt there."""
        _, per_minute = self.per_interval(1)
        out = []
        for name, low, high, kcal in ZONES:
            n = int(np.count_nonzero((per_minute >= low) & (per_minute < high)))
            out.append({"caloriesOut": round(n * kcal * 1.0137, 5), "max": high, "min": low, "minutes": n,
                        "name": name})  # fmt: skip
        return out


@dataclass
class HrvNight:
    daily_rmssd: float
    deep_rmssd: float
    windows: list[tuple[datetime, float, float, float, float]]  # start, rmssd, coverage, hf, lf


@dataclass
class SpO2Night:
    avg: float
    min: float
    max: float
    minutes: list[tuple[datetime, float]]


@dataclass
class BreathingNight:
    full: float
    deep: float
    light: float
    rem: float
    # signal-to-noise and spread per stage, for the Google-era CSV
    extras: dict[str, tuple[float, float]]


@dataclass
class Night:
    """The nightly measures reported on ``day`` (the date the main sleep ended); None = not measured."""

    day: date
    log_id: int
    start: datetime
    end: datetime
    hrv: HrvNight | None
    spo2: SpO2Night | None
    br: BreathingNight | None
    temp: float | None  # nightlyRelative, degrees C from the person's baseline


def _ar1(shocks: np.ndarray, phi: float) -> np.ndarray:
    """A unit-variance AR(1) series driven by ``shocks`` (a slow wander rather than white noise): the shocks
    convolved with ``phi**k``, cut where the weight falls below 1e-4 (vectorised: no loop per epoch)."""
    length = max(1, int(math.log(1e-4) / math.log(phi)))
    kernel = math.sqrt(1 - phi * phi) * phi ** np.arange(length)
    return np.convolve(shocks, kernel)[: shocks.size]


def _rng(seed: int, day: date, salt: int) -> random.Random:
    return random.Random((seed * 1_000_033 + day.toordinal()) * 131 + salt)


def _np_rng(seed: int, day: date, salt: int) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFF, day.toordinal(), salt])


def log_epochs(log: Log) -> list[str]:
    """The log's level per 30-s epoch from ``startTime`` (short wakes laid over ``data``)."""
    start = datetime.fromisoformat(log["startTime"])
    levels = log.get("levels", {})
    n = sum(int(seg["seconds"]) for seg in levels.get("data", [])) // EPOCH
    out = ["unknown"] * n
    for segments in (levels.get("data", []), levels.get("shortData", [])):
        for seg in segments:
            first = int((datetime.fromisoformat(seg["dateTime"]) - start).total_seconds()) // EPOCH
            for i in range(max(first, 0), min(first + int(seg["seconds"]) // EPOCH, n)):
                out[i] = seg["level"]
    return out


def is_main(log: Log) -> bool:
    return bool(log.get("isMainSleep"))


class Physiology:
    """The physiology of one sandbox account, generated per day on demand (``CACHED_DAYS`` days kept)."""

    def __init__(self, seed: int, logs: Iterable[Log], first: date, last: date, *, tz: str) -> None:
        self.seed = seed
        self.zone = ZoneInfo(tz)
        self.first, self.last = first, last
        self.person = PersonParams.of(seed)
        self.by_date: dict[date, list[Log]] = {}
        for log in logs:
            self.by_date.setdefault(date.fromisoformat(log["dateOfSleep"]), []).append(log)
        self._days: OrderedDict[date, HeartDay] = OrderedDict()
        self._nights: dict[date, Night | None] = {}
        self._zones: dict[date, list[dict[str, Any]]] = {}
        self._epochs: dict[int, list[str]] = {}

    def epochs(self, log: Log) -> list[str]:
        """``log_epochs(log)``, kept per log: each night is read by two days and by its nightly measures."""
        key = int(log["logId"])
        if key not in self._epochs:
            self._epochs[key] = log_epochs(log)
        return self._epochs[key]

    # --- daily ---------------------------------------------------------------------------------------------------
    def in_history(self, day: date) -> bool:
        return self.first <= day <= self.last

    def night_logs(self, day: date) -> list[Log]:
        """The logs of the night that ended on the morning of ``day`` (started before noon of ``day``)."""
        noon = datetime(day.year, day.month, day.day, 12)
        return [log for log in self.by_date.get(day, []) if datetime.fromisoformat(log["startTime"]) < noon]

    def asleep_hours(self, day: date) -> float | None:
        logs = self.night_logs(day)
        return sum(int(log["minutesAsleep"]) for log in logs) / 60 if logs else None

    def illness(self, day: date) -> float:
        """0..1: a cold on a few days a year (one chance per 90-day block), peaking on its second day."""
        block = day.toordinal() // 90
        for b in (block - 1, block):
            rng = random.Random(self.seed * 7_777 + b)
            if rng.random() < 0.6:
                onset = b * 90 + rng.randrange(90)
                length = rng.randint(3, 7)
                k = day.toordinal() - onset
                if 0 <= k < length:
                    return min(1.0, (k + 1) / 2) * (1 - k / (length + 1))
        return 0.0

    def resting_hr(self, day: date) -> float | None:
        """The day's resting heart rate (float); None outside the history or without a logged night."""
        hours = self.asleep_hours(day) if self.in_history(day) else None
        if hours is None:
            return None
        p = self.person
        o = day.toordinal()
        drift = 2.0 * math.sin(2 * math.pi * o / 365.25 + p.drift_phases[0]) + math.sin(
            2 * math.pi * o / 71 + p.drift_phases[1]
        )
        debt = max(-1.5, min(4.0, 7.5 - hours))
        noise = _rng(self.seed, day, 1).gauss(0, 0.8)
        return p.resting_base + drift + SHORT_NIGHT_BPM_PER_HOUR * debt + 5.0 * self.illness(day) + noise

    def zones(self, day: date) -> list[dict[str, Any]]:
        """The day's heart-rate zones (kept apart from the samples: a year of them is small)."""
        if day not in self._zones:
            self._zones[day] = self.heart_day(day).zones()
        return self._zones[day]

    def heart_day(self, day: date) -> HeartDay:
        """The heart-rate samples of the local day ``day`` (empty outside the history); cached."""
        cached = self._days.get(day)
        if cached is not None:
            self._days.move_to_end(day)
            return cached
        built = self._build_day(day)
        self._days[day] = built
        if len(self._days) > CACHED_DAYS:
            self._days.popitem(last=False)
        return built

    def _build_day(self, day: date) -> HeartDay:
        empty = np.zeros(0, np.int32)
        if not self.in_history(day):
            return HeartDay(day, empty, empty.astype(np.int16), empty.astype(np.int8), None)
        resting = self.resting_hr(day)
        base = resting if resting is not None else self.person.resting_base
        rng = _np_rng(self.seed, day, 2)
        midnight = datetime(day.year, day.month, day.day)
        states = np.full(DAY_EPOCHS, _CODES[_DAY], np.int8)
        dip = np.zeros(DAY_EPOCHS)
        thin = np.zeros(DAY_EPOCHS, bool)
        logs = [*self.by_date.get(day, []), *self.by_date.get(day + timedelta(days=1), [])]
        for log in logs:
            offset = int((datetime.fromisoformat(log["startTime"]) - midnight).total_seconds()) // EPOCH
            levels = self.epochs(log)
            lo, hi = max(0, offset), min(DAY_EPOCHS, offset + len(levels))
            if lo >= hi:
                continue
            states[lo:hi] = [_CODES[level] for level in levels[lo - offset : hi - offset]]
            if len(levels) >= 360:  # a nightly dip in sleeps of 3 h or more, deepest two thirds in
                progress = (np.arange(lo, hi) - offset) / len(levels)
                dip[lo:hi] = -3.0 * np.exp(-(((progress - 0.62) / 0.25) ** 2))
            if log["type"] == "classic" and log.get("infoCode") == 1:
                thin[lo:hi] = True
        # Not worn: the night before a date without a logged night, and the evening before one.
        if not self.night_logs(day):
            states[: 8 * 120] = np.where(states[: 8 * 120] == _CODES[_DAY], _CODES[_OFF], states[: 8 * 120])
        if not self.night_logs(day + timedelta(days=1)):
            states[22 * 120 :] = np.where(
                states[22 * 120 :] == _CODES[_DAY], _CODES[_OFF], states[22 * 120 :]
            )
        awake = states == _CODES[_DAY]
        hours = np.arange(DAY_EPOCHS) / 120.0
        day_curve = 12.0 + 3.0 * np.sin(2 * np.pi * (hours - 10) / 24)
        exercise = np.zeros(DAY_EPOCHS, bool)
        for _ in range(int(rng.integers(4, 10))):  # walks, stairs, chores
            at, length = int(rng.integers(7 * 120, 21 * 120)), int(rng.integers(6, 60))
            day_curve[at : at + length] += rng.uniform(12, 32)
        if rng.random() < 0.35:  # a workout
            at, length = int(rng.integers(7 * 120, 20 * 120)), int(rng.integers(60, 120))
            day_curve[at : at + length] += rng.uniform(45, 75)
            exercise[at : at + length] = True
        for _ in range(int(rng.integers(1, 3))):  # off the wrist: charging, a shower
            at, length = int(rng.integers(7 * 120, 21 * 120)), int(rng.integers(20, 180))
            span = slice(at, at + length)
            states[span] = np.where(awake[span], _CODES[_OFF], states[span])
        awake = states == _CODES[_DAY]
        mean = base + np.where(awake, day_curve, _CODE_BPM[states] + dip)
        curve = mean + _CODE_SD[states] * _ar1(rng.standard_normal(DAY_EPOCHS), 0.85)
        # Sample times: every 5-15 s, every 1-5 s during exercise; none off the wrist; a quarter on unstaged nights.
        gaps = rng.integers(5, 16, size=86400 // 5 + 1)
        times = np.cumsum(gaps) - int(rng.integers(0, 5))
        times = times[(times >= 0) & (times < 86400)]
        if exercise.any():
            busy = np.nonzero(exercise)[0]
            lo, hi = int(busy[0]) * EPOCH, (int(busy[-1]) + 1) * EPOCH
            extra = lo + np.cumsum(rng.integers(1, 6, size=(hi - lo) // 3 + 1))
            taken = np.zeros(86400, bool)
            taken[times] = True
            taken[extra[extra < hi]] = True
            times = np.nonzero(taken)[0]
        epoch = times // EPOCH
        keep = (states[epoch] != _CODES[_OFF]) & (~thin[epoch] | (rng.random(times.size) < 0.25))
        keep &= self._existing_hours(day)[times // 3600]  # no samples in the hour a DST change skips
        times, epoch = times[keep], epoch[keep]
        bpm = np.clip(np.rint(curve[epoch] + rng.normal(0, 1.0, times.size)), 38, 205).astype(np.int16)
        confidence = rng.choice(np.array([0, 1, 2, 3], np.int8), size=times.size, p=[0.01, 0.04, 0.2, 0.75])
        confidence = np.where(exercise[epoch], np.minimum(confidence, 2), confidence).astype(np.int8)
        return HeartDay(day, times.astype(np.int32), bpm, confidence, resting)

    def _existing_hours(self, day: date) -> np.ndarray:
        """Which local hours of ``day`` exist (False for the hour skipped when clocks spring forward)."""
        hours = []
        for h in range(24):
            local = datetime(day.year, day.month, day.day, h, 30)
            back = local.replace(tzinfo=self.zone).astimezone(UTC).astimezone(self.zone).replace(tzinfo=None)
            hours.append(back == local)
        return np.array(hours)

    # --- nightly -------------------------------------------------------------------------------------------------
    def main_sleep(self, day: date) -> Log | None:
        """The main sleep reported on ``day`` if it can carry nightly measures (stages, long enough)."""
        mains = [log for log in self.by_date.get(day, []) if is_main(log)]
        if not mains:
            return None
        log = max(mains, key=lambda lg: int(lg["minutesAsleep"]))
        if log["type"] != "stages" or int(log["minutesAsleep"]) < MIN_ASLEEP_FOR_NIGHTLY:
            return None
        return log

    def night(self, day: date) -> Night | None:
        """The nightly measures reported on ``day``; None when the day has no eligible main sleep."""
        if day not in self._nights:
            self._nights[day] = self._build_night(day) if self.in_history(day) else None
        return self._nights[day]

    def nights(self, start: date, end: date) -> list[Night]:
        out = []
        day = start
        while day <= end:
            night = self.night(day)
            if night is not None:
                out.append(night)
            day += timedelta(days=1)
        return out

    def _build_night(self, day: date) -> Night | None:
        log = self.main_sleep(day)
        if log is None:
            return None
        rng = _rng(self.seed, day, 3)
        present = {name: rng.random() >= rate for name, rate in MISSING_RATE.items()}
        start = datetime.fromisoformat(log["startTime"])
        epochs = self.epochs(log)
        resting = self.resting_hr(day) or self.person.resting_base
        strain = resting - self.person.resting_base  # up after short nights, drift, illness
        sick = self.illness(day)
        return Night(
            day=day,
            log_id=int(log["logId"]),
            start=start,
            end=datetime.fromisoformat(log["endTime"]),
            hrv=self._hrv(rng, start, epochs, strain) if present["hrv"] else None,
            spo2=self._spo2(rng, start, epochs, sick) if present["spo2"] else None,
            br=self._breathing(rng, log, strain, sick) if present["br"] else None,
            temp=self._temperature(rng, day, sick) if present["temp"] else None,
        )

    def _hrv(self, rng: random.Random, start: datetime, epochs: list[str], strain: float) -> HrvNight:
        night_level = self.person.rmssd_base * math.exp(-0.035 * strain + rng.gauss(0, 0.1))
        first = (300 - (start.minute * 60 + start.second) % 300) % 300 // EPOCH  # on the clock's 5-min marks
        windows = []
        deep = []
        for i in range(first, len(epochs) - 9, 10):
            span = epochs[i : i + 10]
            stage = max(_STAGE_RMSSD, key=span.count)
            rmssd = night_level * _STAGE_RMSSD[stage] * math.exp(rng.gauss(0, 0.12))
            coverage = rng.uniform(0.55, 0.9) if stage == "wake" else rng.uniform(0.85, 1.0)
            hf = rmssd**2 * rng.uniform(0.12, 0.24)
            lf = hf * (rng.uniform(1.0, 2.2) if stage == "deep" else rng.uniform(2.0, 4.5))
            windows.append((start + timedelta(seconds=EPOCH * i), round(rmssd, 3), round(coverage, 3),
                            round(hf, 3), round(lf, 3)))  # fmt: skip
            if stage == "deep":
                deep.append(rmssd)
        values = [w[1] for w in windows]
        daily = sum(values) / len(values)
        return HrvNight(round(daily, 3), round(sum(deep) / len(deep) if deep else daily * 0.95, 3), windows)

    def _spo2(self, rng: random.Random, start: datetime, epochs: list[str], sick: float) -> SpO2Night:
        level = self.person.spo2_base + rng.gauss(0, 0.5) - 1.5 * sick
        offset = rng.randrange(60)  # the minute values carry odd seconds
        noise = np.random.default_rng([self.seed & 0xFFFFFFFF, start.toordinal(), 4])
        steps = list(range(0, len(epochs) - 1, 2))
        wander = _ar1(noise.standard_normal(len(steps)), 0.9) * 0.8
        dips = noise.uniform(2, 5, len(steps)) * (noise.random(len(steps)) < 0.02)  # brief desaturations
        values_all = np.clip(level + wander - dips * [epochs[i] in ("rem", "light") for i in steps], 85, 100)
        minutes = [
            (start + timedelta(seconds=EPOCH * i + offset), round(float(v), 1))
            for i, v in zip(steps, values_all.tolist(), strict=True)
            if epochs[i] != "wake"
        ]
        values = [v for _, v in minutes]
        return SpO2Night(round(sum(values) / len(values), 1), min(values), max(values), minutes)

    def _breathing(self, rng: random.Random, log: Log, strain: float, sick: float) -> BreathingNight:
        full_level = self.person.br_base + rng.gauss(0, 0.4) + 0.06 * strain + 1.2 * sick
        rates = {
            "deep": full_level - rng.uniform(0.4, 1.0),
            "light": full_level - rng.uniform(0.0, 0.3),
            "rem": full_level + rng.uniform(0.5, 1.3),
        }
        summary = log["levels"]["summary"]
        weights = {stage: int(summary[stage]["minutes"]) for stage in rates}
        full = sum(rates[s] * weights[s] for s in rates) / max(1, sum(weights.values()))
        extras = {
            s: (round(rng.uniform(0.6, 1.8), 3), round(rng.uniform(3, 30), 3)) for s in (*rates, "full")
        }
        return BreathingNight(round(full, 1), round(rates["deep"], 1), round(rates["light"], 1),
                              round(rates["rem"], 1), extras)  # fmt: skip

    def _temperature(self, rng: random.Random, day: date, sick: float) -> float:
        o = day.toordinal()
        wave = 0.2 * math.sin(2 * math.pi * o / 28 + self.person.temp_phase)
        return round(wave + rng.gauss(0, 0.18) + 0.9 * sick, 2)
