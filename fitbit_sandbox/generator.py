"""Deterministic sleep history in the exact shape of the Fitbit Web API v1.2, as messy as real accounts.

Why per-night random streams: each night draws from ``Random(f(seed, date))``, so a night looks the same whatever
``days`` is, and a longer history only adds nights (tests can compare two servers). 30 warm-up nights before the
first date feed ``thirtyDayAvgMinutes`` and are not returned. The one account-level fact is the date the user's
tracker started recording stages (``stages_since``, by default ``STAGES_ERA_DAYS`` before ``today``): nights before
it are the *classic era*.

Invariants most logs obey (``../shared/DESIGN.md`` "Fitbit facts", reference §1.6):

- ``duration == timeInBed * 60000``; ``endTime == startTime + duration`` (sometimes ``+ 30 s``);
  ``dateOfSleep`` is the local date of ``endTime``; times are local, no offset, ``.SSS``.
- stages: ``levels.data`` is contiguous from ``startTime`` in 30-s multiples summing to ``duration/1000`` (or
  ``+30``); ``shortData`` wakes of 30..180 s lie inside deep/light/rem segments and *overlay* ``data``; the summary
  is computed after the overlay: ``deep + light + rem == minutesAsleep``, ``wake == minutesAwake``, and
  ``timeInBed == minutesAsleep + minutesAwake`` (+ the minutes of an ``unknown`` segment when there is one).
- classic: 60-s ``asleep/restless/awake`` segments, ``minutesAwake == restless + awake``,
  ``efficiency == round(100 * minutesAsleep / timeInBed)``, no ``thirtyDayAvgMinutes``, no ``shortData``.
- naps are classic, ``isMainSleep: false``, ``infoCode: 2``; log ids are 11-digit int64s; logs never overlap;
- a known **weekly schedule** (``SleepSchedule``): work nights go to bed and wake (by an alarm, so the wake time
  varies little) at one clock time, free nights (before a Saturday or Sunday) later and longer, as real people do
  (MCTQ's "social jet lag" and oversleep on free days), so the chronotype metrics have a known answer.

And the quirks real accounts have, at the rates of ``../shared/reference/real-fitbit-data.md`` §1 (the rare ones on
a fixed schedule per seed, so every history of a year or more has them; ``QUIRK_EVERY``):

- the **classic era**: every log classic, with **no** ``isMainSleep`` and no ``logType`` (in every answer: date,
  range and list calls, and the archive);
- classic logs whose **minutes do not add up** (``minutesAwake`` leaves the restless minutes out): 10 %;
- stages logs whose segments run **one 60-s epoch** past ``duration``: 1 in ``QUIRK_EVERY["epoch_off"]`` nights;
- a 3,600-s **``unknown``** segment, in no summary: 1 in ``QUIRK_EVERY["unknown"]`` nights;
- **afternoon "main" sleeps**: Fitbit flags a 12:00-17:30 sleep as the day's main sleep and the night before not
  (which also puts two flagged logs on the coming night): 1 in ``QUIRK_EVERY["afternoon_main"]`` days;
- **two logs flagged main** on one night (both parts of a split night): 1 in ``QUIRK_EVERY["two_mains"]``;
- **split nights**: two logs with 30-120 min awake between them, the shorter part not main: 1 in 60 nights;
- **very long "main" sleeps** of 905-940 min: 1 in ``QUIRK_EVERY["long_main"]`` nights;
- plus nights with no sleep at all, ``manual`` logs, classic main sleeps (infoCode 1) and naps.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

Log = dict[str, Any]

STAGES = ("deep", "light", "rem", "wake")
CLASSIC = ("asleep", "awake", "restless")
_ID_BASE = 10_000_000_000
_ID_EPOCH = date(2000, 1, 1).toordinal()
_ID_PER_DAY = 4_000_000
_WARMUP_DAYS = 30
_BED_SALT = 7  # the bedtime's own random stream, so the night before can look at it (afternoon "main" sleeps)

STAGES_ERA_DAYS = 550  # default: the tracker records stages for the last 550 days; older nights are classic
SPLIT_NIGHT_RATE = 1 / 60  # reference §1: about 1 night in 60
CLASSIC_MINUTES_OFF_RATE = 0.10  # reference §1: 18 of ~300 and 107 of ~760 classic logs
# Rare quirks come on a schedule (one night in N, at a phase fixed by the seed) rather than by chance, so every
# history of a year or more has each of them and a test can count on it; the rates are reference §1's.
QUIRK_EVERY = {
    "afternoon_main": 73,  # "several per year per account"
    "two_mains": 365,  # "3-4 nights per multi-year account"
    "long_main": 300,  # "rare": a 925-min "main" sleep
    "epoch_off": 200,  # "at least one real stages log"
    "unknown": 150,  # "real, 2021 and 2020 archives"
}


@dataclass(frozen=True)
class SleepSchedule:
    """When the simulated person goes to bed and wakes up, on work nights and on free nights.

    Why: the chronotype metrics (MCTQ's MSW, MSF, MSFsc, social jet lag) need a history whose answer is known. A
    night's bedtime is ``*_bed`` plus Gaussian noise (``bed_sd_min``); its wake time is ``*_wake`` plus noise, small
    on work days (an alarm) and larger on free days; the time in bed is the difference. A FREE night is one whose
    morning is a free day (``free_wake_weekdays``, Python weekdays of the wake date: Saturday and Sunday), as in
    MCTQ. The defaults are a common pattern: about 1 h 15 min later to bed and 2 h 15 min later up on free days,
    an hour more in bed, which puts social jet lag at 1.75 h (Roenneberg et al. 2012: about two thirds of people
    have 1 h or more)."""

    work_bed: time = time(23, 15)
    work_wake: time = time(7, 0)
    free_bed: time = time(0, 30)
    free_wake: time = time(9, 15)
    bed_sd_min: float = 35.0
    work_wake_sd_min: float = 15.0
    free_wake_sd_min: float = 45.0
    free_wake_weekdays: tuple[int, ...] = (5, 6)

    def is_free(self, wake: date) -> bool:
        """Whether the night that ends on the morning of ``wake`` is a free night."""
        return wake.weekday() in self.free_wake_weekdays

    def bed_minutes(self, wake: date) -> float:
        """The planned bedtime in minutes after the wake date's midnight (negative: the evening before)."""
        at = self.free_bed if self.is_free(wake) else self.work_bed
        minutes = at.hour * 60 + at.minute + at.second / 60
        return minutes - 1440 if at.hour >= 12 else minutes

    def wake_minutes(self, wake: date) -> float:
        """The planned wake time in minutes after the wake date's midnight."""
        at = self.free_wake if self.is_free(wake) else self.work_wake
        return at.hour * 60 + at.minute + at.second / 60

    def wake_sd(self, wake: date) -> float:
        return self.free_wake_sd_min if self.is_free(wake) else self.work_wake_sd_min


DEFAULT_SCHEDULE = SleepSchedule()


def night_rng(seed: int, ordinal: int, salt: int = 0) -> random.Random:
    """The random stream of one wake date (``salt`` separates edits from the original night)."""
    return random.Random((seed * 1_000_003 + ordinal) * 97 + salt)


def scheduled(seed: int, ordinal: int, quirk: str) -> bool:
    """Whether the rare ``quirk`` falls on this date (one date in ``QUIRK_EVERY[quirk]``, phase fixed by seed)."""
    every = QUIRK_EVERY[quirk]
    phase = random.Random(seed * 7919 + sum(map(ord, quirk))).randrange(every)
    return ordinal % every == phase


def log_id_base(ordinal: int) -> int:
    """Ids grow with the date like Fitbit's; each wake date owns a band of ``_ID_PER_DAY`` ids."""
    return _ID_BASE + (ordinal - _ID_EPOCH) * _ID_PER_DAY


def fmt(dt: datetime) -> str:
    """Fitbit's local timestamp: ``2020-02-20T23:21:30.000`` (no offset)."""
    return dt.isoformat(timespec="milliseconds")


def _q30(seconds: float) -> int:
    return max(30, int(round(seconds / 30.0)) * 30)


def _apportion(seconds: dict[str, int], total_minutes: int) -> dict[str, int]:
    """Round per-level seconds to minutes so they add up to ``total_minutes`` (largest remainder)."""
    minutes = {k: v // 60 for k, v in seconds.items()}
    short = total_minutes - sum(minutes.values())
    by_rest = sorted(seconds, key=lambda k: (-(seconds[k] % 60), k))
    i = 0
    while short > 0 and by_rest:
        minutes[by_rest[i % len(by_rest)]] += 1
        short -= 1
        i += 1
    while short < 0:
        k = max(minutes, key=lambda name: minutes[name])
        minutes[k] -= 1
        short += 1
    return minutes


def _sleep_cycles(rng: random.Random, total: int) -> list[list[Any]]:
    """Deep/light/rem segments (30-s multiples) in ~90-minute cycles that sum exactly to ``total`` seconds."""
    segs: list[list[Any]] = []
    used = 0
    cycle = 0
    while used < total:
        early = max(0.0, 1.0 - cycle / 4.0)
        plan = [
            ("light", rng.gauss(18, 6)),
            ("deep", rng.gauss(10 + 22 * early, 6)),
            ("light", rng.gauss(16, 6)),
            ("rem", rng.gauss(8 + 22 * (1 - early), 7)),
        ]
        for level, minutes in plan:
            if minutes < 1.5 and level != "light":
                continue
            sec = _q30(max(minutes, 0.5) * 60)
            sec = min(sec, total - used)
            if sec <= 0:
                break
            if segs and segs[-1][0] == level:
                segs[-1][1] += sec
            else:
                segs.append([level, sec])
            used += sec
        cycle += 1
    return segs


def build_stages(
    rng: random.Random,
    start: datetime,
    tib_min: int,
    awake_min: float,
    *,
    unknown: bool = False,
    epoch_off: bool = False,
) -> Log:
    """One ``stages`` log starting at ``start`` with ``tib_min`` minutes in bed (ids and flags set by caller).

    ``unknown``: a 3,600-s ``unknown`` segment, in no summary (reference §1); ``epoch_off``: the segments (and
    endTime) run one 60-s epoch past ``duration``, as in a real log (32400 s of segments vs 32340 s)."""
    total = tib_min * 60
    awake_sec = _q30(max(120, min(awake_min * 60, total / 3)))
    long_total = _q30(awake_sec * rng.uniform(0.5, 0.7))
    short_budget = max(0, awake_sec - long_total)
    unknown_sec = 3600 if unknown and total > 5 * 3600 else 0
    initial = min(long_total, 30 * rng.randint(1, 12))
    rest_long = long_total - initial
    pieces: list[int] = []
    while rest_long >= 210:
        piece = min(rest_long, _q30(rng.uniform(210, 720)))
        if rest_long - piece < 210:
            piece = rest_long
        pieces.append(piece)
        rest_long -= piece
    initial += rest_long  # a remainder too short for its own wake joins the first one
    sleep_total = total - initial - sum(pieces) - unknown_sec
    segs = _sleep_cycles(rng, sleep_total)
    inserts: list[tuple[str, int]] = [("wake", p) for p in pieces]
    if unknown_sec:
        inserts.append(("unknown", unknown_sec))
    if len(segs) > 1:
        slots = rng.sample(range(1, len(segs)), min(len(inserts), len(segs) - 1))
        for slot, (level, sec) in sorted(zip(slots, inserts, strict=False), reverse=True):
            segs.insert(slot, [level, sec])
    if initial:
        segs.insert(0, ["wake", initial])
    if epoch_off:
        segs[-1][1] += 60
    elif rng.random() < 0.3:  # as in real data, the segments (and endTime) sometimes run 30 s past duration
        segs[-1][1] += 30
    # Absolute start offsets of the data segments.
    offsets = []
    t = 0
    for _level, sec in segs:
        offsets.append(t)
        t += sec
    data_total = t
    # Short wakes overlay deep/light/rem segments; never two touching ones, never at a segment's start.
    shorts: list[tuple[int, int]] = []
    per_seg: dict[int, list[tuple[int, int]]] = {}
    candidates = [
        i for i, (level, sec) in enumerate(segs) if level in ("deep", "light", "rem") and sec >= 120
    ]
    tries = 0
    while short_budget >= 30 and candidates and tries < 400:
        tries += 1
        w = min(short_budget, rng.choice((30, 30, 30, 30, 60, 60, 90, 120, 150, 180)))
        i = rng.choice(candidates)
        seg_sec = segs[i][1]
        if seg_sec < w + 60:
            continue
        a = 30 * rng.randint(1, (seg_sec - w) // 30)
        taken = per_seg.setdefault(i, [])
        if any(a < b + bw + 30 and b < a + w + 30 for b, bw in taken):
            continue
        taken.append((a, w))
        shorts.append((offsets[i] + a, w))
        short_budget -= w
    shorts.sort()
    # Overlay: split data segments at the short wakes, then count contiguous runs per level.
    level_sec = dict.fromkeys(STAGES, 0)
    level_runs = dict.fromkeys(STAGES, 0)
    unknown_total = 0
    prev = None
    for i, (level, sec) in enumerate(segs):
        parts: list[tuple[str, int]] = []
        cursor = 0
        for a, w in sorted(per_seg.get(i, ())):
            if a > cursor:
                parts.append((level, a - cursor))
            parts.append(("wake", w))
            cursor = a + w
        if cursor < sec:
            parts.append((level, sec - cursor))
        for part_level, part_sec in parts:
            if part_level == "unknown":
                unknown_total += part_sec
            else:
                level_sec[part_level] += part_sec
                if part_level != prev:
                    level_runs[part_level] += 1
            prev = part_level
    seconds = dict(level_sec)
    if unknown_total:
        seconds["unknown"] = unknown_total
    minutes = _apportion(seconds, tib_min)
    asleep = minutes["deep"] + minutes["light"] + minutes["rem"]
    end = start + timedelta(seconds=data_total)
    data = []
    for (level, sec), off in zip(segs, offsets, strict=True):
        data.append({"dateTime": fmt(start + timedelta(seconds=off)), "level": level, "seconds": sec})
    short_data = [
        {"dateTime": fmt(start + timedelta(seconds=off)), "level": "wake", "seconds": w} for off, w in shorts
    ]
    summary = {k: {"count": level_runs[k], "minutes": minutes[k], "thirtyDayAvgMinutes": 0} for k in STAGES}
    return {
        "dateOfSleep": end.date().isoformat(),
        "duration": tib_min * 60000,
        # The API's stages efficiency is known to be unrelated to asleep/in-bed ("should be ignored").
        "efficiency": max(40, min(100, int(rng.gauss(93, 5)))),
        "endTime": fmt(end),
        "infoCode": 0,
        "isMainSleep": True,
        "levels": {"data": data, "shortData": short_data, "summary": summary},
        "logId": 0,
        "logType": "auto_detected",
        "minutesAfterWakeup": 0,
        "minutesAsleep": asleep,
        "minutesAwake": minutes["wake"],
        "minutesToFallAsleep": 0,
        "startTime": fmt(start),
        "timeInBed": tib_min,
        "type": "stages",
    }


def build_classic(rng: random.Random, start: datetime, tib_min: int, info_code: int) -> Log:
    """One ``classic`` log: 60-s asleep/restless/awake segments, efficiency = asleep / in bed."""
    segs: list[list[Any]] = []
    used = 0
    level = "restless" if rng.random() < 0.6 else "asleep"
    while used < tib_min:
        if level == "asleep":
            mins = max(1, int(rng.gauss(22, 10)))
        elif level == "restless":
            mins = rng.randint(1, 4)
        else:
            mins = rng.randint(1, 6)
        mins = min(mins, tib_min - used)
        segs.append([level, mins])
        used += mins
        level = "asleep" if level != "asleep" else ("awake" if rng.random() < 0.15 else "restless")
    minutes = dict.fromkeys(CLASSIC, 0)
    runs = dict.fromkeys(CLASSIC, 0)
    data = []
    t = start
    for seg_level, mins in segs:
        minutes[seg_level] += mins
        runs[seg_level] += 1
        data.append({"dateTime": fmt(t), "level": seg_level, "seconds": mins * 60})
        t += timedelta(minutes=mins)
    end = t + timedelta(seconds=30) if rng.random() < 0.3 else t  # endTime may run 30 s past the data
    # Real classic logs often count restless minutes apart: minutesAwake is then the awake minutes alone, and
    # asleep + awake falls short of timeInBed (reference §1).
    awake_reported = minutes["awake"] + minutes["restless"]
    if rng.random() < CLASSIC_MINUTES_OFF_RATE and minutes["restless"] > 1:
        awake_reported = minutes["awake"]
    summary = {
        "asleep": {"count": 0, "minutes": minutes["asleep"]},  # Fitbit: classic asleep.count is always 0
        "awake": {"count": runs["awake"], "minutes": minutes["awake"]},
        "restless": {"count": runs["restless"], "minutes": minutes["restless"]},
    }
    return {
        "dateOfSleep": end.date().isoformat(),
        "duration": tib_min * 60000,
        "efficiency": round(100 * minutes["asleep"] / tib_min),
        "endTime": fmt(end),
        "infoCode": info_code,
        "isMainSleep": info_code != 2,
        "levels": {"data": data, "summary": summary},
        "logId": 0,
        "logType": "auto_detected",
        "minutesAfterWakeup": 0,
        "minutesAsleep": minutes["asleep"],
        "minutesAwake": awake_reported,
        "minutesToFallAsleep": 0,
        "startTime": fmt(start),
        "timeInBed": tib_min,
        "type": "classic",
    }


def build_log(
    rng: random.Random,
    start: datetime,
    tib_min: int,
    awake_min: float,
    *,
    unknown: bool = False,
    epoch_off: bool = False,
) -> Log:
    """A device log: ``stages`` when at least 3 h long, else ``classic`` with infoCode 2 (too short)."""
    if tib_min >= 180:
        return build_stages(rng, start, tib_min, awake_min, unknown=unknown, epoch_off=epoch_off)
    return build_classic(rng, start, tib_min, 2)


def night_start(seed: int, wake: date, schedule: SleepSchedule = DEFAULT_SCHEDULE) -> datetime | None:
    """When the night that ends on the morning of ``wake`` begins; None for a night with no sleep at all."""
    rng = night_rng(seed, wake.toordinal(), salt=_BED_SALT)
    if rng.random() < 0.01:
        return None
    planned = schedule.bed_minutes(wake)
    bed_min = max(planned - 180.0, min(planned + 180.0, rng.gauss(planned, schedule.bed_sd_min)))
    return datetime(wake.year, wake.month, wake.day) + timedelta(seconds=int(round(bed_min * 2)) * 30)


def _afternoon_main(
    rng: random.Random, seed: int, wake: date, awake_from: datetime | None, ids: int, schedule: SleepSchedule
) -> Log | None:
    """Fitbit's afternoon "main" sleep on ``wake``: 12:00-17:30, at least 150 min from the night before and after
    (so it never touches a night's sleep period: the night model merges wakes of up to 120 min)."""
    midnight = datetime(wake.year, wake.month, wake.day)
    length = rng.randint(45, 110)
    earliest = max(midnight + timedelta(hours=12), (awake_from or midnight) + timedelta(minutes=150))
    latest = midnight + timedelta(hours=17, minutes=30)
    next_bed = night_start(seed, wake + timedelta(days=1), schedule)
    if next_bed is not None:
        latest = min(latest, next_bed - timedelta(minutes=150 + length))
    if latest < earliest:
        return None
    start = earliest + timedelta(minutes=rng.randint(0, int((latest - earliest).total_seconds() // 60)))
    log = build_classic(rng, start, length, 2)
    log["isMainSleep"] = True
    log["logId"] = ids + 2_000_000 + rng.randrange(1_000_000)
    return log


def generate_night(
    seed: int, wake: date, stages_since: date | None = None, schedule: SleepSchedule = DEFAULT_SCHEDULE
) -> list[Log]:
    """All logs whose night ends on the morning of ``wake`` plus that afternoon's sleep (may be empty).

    Nights before ``stages_since`` are the classic era: classic logs without ``isMainSleep`` and ``logType``."""
    o = wake.toordinal()
    midnight = datetime(wake.year, wake.month, wake.day)
    rng = night_rng(seed, o)
    classic_era = stages_since is not None and wake < stages_since
    start = night_start(seed, wake, schedule)
    long_main = scheduled(seed, o, "long_main")
    ids = log_id_base(o) + rng.randrange(1_000_000)
    logs: list[Log] = []
    night: list[Log] = []
    if start is not None:
        wake_min = rng.gauss(schedule.wake_minutes(wake), schedule.wake_sd(wake))
        awake_min = max(20.0, min(120.0, rng.gauss(60, 12)))
        in_bed = wake_min - (start - midnight).total_seconds() / 60
        tib = rng.randint(905, 940) if long_main else int(round(max(150.0 + awake_min, in_bed)))
        if long_main:
            awake_min = tib * 0.1
        kind = rng.random()
        two_mains = not classic_era and scheduled(seed, o, "two_mains")

        def part(at: datetime, minutes: int, awake: float, **quirks: bool) -> Log:
            if classic_era:
                return build_classic(rng, at, minutes, 0)
            return build_log(rng, at, minutes, awake, **quirks)

        if two_mains or (kind < SPLIT_NIGHT_RATE and not long_main):
            # a split night: awake for 30-120 min in the middle (Fitbit splits at more than an hour, or at a sync)
            first = rng.randint(100, 200)
            gap = rng.randint(30, 120)
            second = max(90, tib - first)
            a = part(start, first, awake_min * first / tib)
            b = part(start + timedelta(minutes=first + gap), second, awake_min * second / tib)
            a["logId"], b["logId"] = ids, ids + 1 + rng.randrange(100_000)
            main, other = (a, b) if a["timeInBed"] > b["timeInBed"] else (b, a)
            main["isMainSleep"], other["isMainSleep"] = True, two_mains  # two flagged main: Fitbit's slip
            night += [a, b]
        elif (
            kind < SPLIT_NIGHT_RATE + 0.02 and not classic_era
        ):  # stages not computed: insufficient heart rate
            night.append(build_classic(rng, start, tib, 1))
        else:
            log = part(
                start,
                tib,
                awake_min,
                unknown=scheduled(seed, o, "unknown"),
                epoch_off=scheduled(seed, o, "epoch_off"),
            )
            if SPLIT_NIGHT_RATE + 0.02 <= kind < SPLIT_NIGHT_RATE + 0.04 and not classic_era:
                log["logType"] = "manual"  # edited by the user after detection
            night.append(log)
        night[0]["logId"] = night[0]["logId"] or ids
        logs += night
    awake_from = max((datetime.fromisoformat(log["endTime"]) for log in night), default=None)
    afternoon = (
        _afternoon_main(rng, seed, wake, awake_from, ids, schedule)
        if not classic_era and not long_main and scheduled(seed, o, "afternoon_main")
        else None
    )
    if afternoon is not None:  # Fitbit flags it and not the night before (one main per dateOfSleep)
        for log in night:
            log["isMainSleep"] = False
        logs.append(afternoon)
    elif rng.random() < 0.15 and not long_main:  # afternoon nap: classic, too short for stages
        nap_start = midnight + timedelta(minutes=rng.randint(13 * 60, 16 * 60 + 30))
        nap = build_classic(rng, nap_start, rng.randint(20, 100), 0 if classic_era else 2)
        nap["logId"] = ids + 1_000_000 + rng.randrange(1_000_000)
        if rng.random() < 0.1 and not classic_era:
            nap["logType"] = "manual"
        logs.append(nap)
    if classic_era:  # list and range answers (and archives) of that era carry neither key
        for log in logs:
            log.pop("isMainSleep", None)
            log.pop("logType", None)
    return logs


def resolve_today(today: date | None, tz: str) -> date:
    """``today`` or the current date in the user's time zone."""
    return today if today is not None else datetime.now(ZoneInfo(tz)).date()


def default_stages_since(today: date) -> date:
    """The first night with stages when no date is given: ``STAGES_ERA_DAYS`` before ``today``."""
    return today - timedelta(days=STAGES_ERA_DAYS)


def generate_history(
    seed: int,
    days: int,
    today: date | None,
    tz: str,
    *,
    stages_since: date | None = None,
    schedule: SleepSchedule = DEFAULT_SCHEDULE,
) -> list[Log]:
    """v1.2 log objects with ``dateOfSleep`` in the ``days`` dates ending ``today``, oldest first.

    ``stages_since``: the first wake date of the stages era (default ``default_stages_since(today)``); ``schedule``:
    the person's work-night and free-night bed and wake times."""
    end = resolve_today(today, tz)
    since = stages_since or default_stages_since(end)
    first = end - timedelta(days=days - 1)
    first_iso, end_iso = first.isoformat(), end.isoformat()
    window: deque[tuple[int, dict[str, int]]] = deque()
    sums = dict.fromkeys(STAGES, 0)
    out: list[Log] = []
    day = first - timedelta(days=_WARMUP_DAYS)
    while day <= end:
        o = day.toordinal()
        while window and window[0][0] < o - 30:
            _, old = window.popleft()
            for k in STAGES:
                sums[k] -= old[k]
        nightly: dict[str, int] | None = None
        for log in generate_night(seed, day, since, schedule):
            if log["type"] == "stages" and log.get("isMainSleep"):
                summary = log["levels"]["summary"]
                for k in STAGES:
                    summary[k]["thirtyDayAvgMinutes"] = round(sums[k] / len(window)) if window else 0
                nightly = {k: summary[k]["minutes"] for k in STAGES}
            if first_iso <= log["dateOfSleep"] <= end_iso:
                out.append(log)
        if nightly is not None:
            window.append((o, nightly))
            for k in STAGES:
                sums[k] += nightly[k]
        day += timedelta(days=1)
    out.sort(key=lambda log: log["startTime"])
    return out
