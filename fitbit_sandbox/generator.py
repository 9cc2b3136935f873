"""Deterministic sleep history in the exact shape of the Fitbit Web API v1.2.

Why per-night random streams: each night draws from ``Random(f(seed, date))``, so a night looks the same whatever
``days`` or ``today`` is, and a longer history only adds nights (tests can compare two servers). 30 warm-up nights
before the first date feed ``thirtyDayAvgMinutes`` and are not returned.

Invariants every log obeys (``../shared/DESIGN.md`` "Fitbit facts", reference §1.6):

- ``duration == timeInBed * 60000``; ``endTime == startTime + duration`` (sometimes ``+ 30 s``);
  ``dateOfSleep`` is the local date of ``endTime``; times are local, no offset, ``.SSS``.
- stages: ``levels.data`` is contiguous from ``startTime`` in 30-s multiples summing to ``duration/1000`` (or
  ``+30``); ``shortData`` wakes of 30..180 s lie inside deep/light/rem segments and *overlay* ``data``; the summary
  is computed after the overlay: ``deep + light + rem == minutesAsleep``, ``wake == minutesAwake``, and
  ``timeInBed == minutesAsleep + minutesAwake`` (+ the minutes of an ``unknown`` segment when there is one).
- classic: 60-s ``asleep/restless/awake`` segments, ``minutesAwake == restless + awake``,
  ``efficiency == round(100 * minutesAsleep / timeInBed)``, no ``thirtyDayAvgMinutes``, no ``shortData``.
- naps are classic, ``isMainSleep: false``, ``infoCode: 2``; a few nights are split in two logs, have no sleep,
  a ``manual`` log type or an ``unknown`` segment; weekend bedtimes are later; log ids are 11-digit int64s.
"""

from __future__ import annotations

import random
from collections import deque
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

Log = dict[str, Any]

STAGES = ("deep", "light", "rem", "wake")
CLASSIC = ("asleep", "awake", "restless")
_ID_BASE = 10_000_000_000
_ID_EPOCH = date(2000, 1, 1).toordinal()
_ID_PER_DAY = 4_000_000
_WARMUP_DAYS = 30


def night_rng(seed: int, ordinal: int, salt: int = 0) -> random.Random:
    """The random stream of one wake date (``salt`` separates edits from the original night)."""
    return random.Random((seed * 1_000_003 + ordinal) * 97 + salt)


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
    rng: random.Random, start: datetime, tib_min: int, awake_min: float, *, unknown: bool = False
) -> Log:
    """One ``stages`` log starting at ``start`` with ``tib_min`` minutes in bed (ids and flags set by caller)."""
    total = tib_min * 60
    awake_sec = _q30(max(120, min(awake_min * 60, total / 3)))
    long_total = _q30(awake_sec * rng.uniform(0.5, 0.7))
    short_budget = max(0, awake_sec - long_total)
    unknown_sec = _q30(rng.uniform(20, 60) * 60) if unknown and total > 4 * 3600 else 0
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
    if rng.random() < 0.3:  # as in real data, the segments (and endTime) sometimes run 30 s past duration
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
        "minutesAwake": minutes["awake"] + minutes["restless"],
        "minutesToFallAsleep": 0,
        "startTime": fmt(start),
        "timeInBed": tib_min,
        "type": "classic",
    }


def build_log(
    rng: random.Random, start: datetime, tib_min: int, awake_min: float, *, unknown: bool = False
) -> Log:
    """A device log: ``stages`` when at least 3 h long, else ``classic`` with infoCode 2 (too short)."""
    if tib_min >= 180:
        return build_stages(rng, start, tib_min, awake_min, unknown=unknown)
    return build_classic(rng, start, tib_min, 2)


def generate_night(seed: int, wake: date) -> list[Log]:
    """All logs whose night ends on the morning of ``wake`` plus that afternoon's nap (may be empty)."""
    o = wake.toordinal()
    rng = night_rng(seed, o)
    if rng.random() < 0.01:
        return []  # a night with no sleep recorded at all
    weekend = wake.weekday() in (5, 6)  # the night began on a Friday or Saturday evening
    bed_min = rng.gauss(15 if weekend else -45, 35)
    bed_min = max(-180.0, min(150.0, bed_min))
    midnight = datetime(wake.year, wake.month, wake.day)
    start = midnight + timedelta(seconds=int(round(bed_min * 2)) * 30)
    asleep_min = max(150.0, rng.gauss(418, 42))
    awake_min = max(20.0, min(120.0, rng.gauss(60, 12)))
    tib = int(round(asleep_min + awake_min))
    ids = log_id_base(o) + rng.randrange(1_000_000)
    kind = rng.random()
    logs: list[Log] = []
    if kind < 0.015:  # split night: the wake in the middle was longer than an hour
        first = rng.randint(100, 200)
        gap = rng.randint(65, 110)
        second = max(90, tib - first)
        a = build_log(rng, start, first, awake_min * first / tib)
        b_start = start + timedelta(minutes=first + gap)
        b = build_log(rng, b_start, second, awake_min * second / tib)
        a["logId"], b["logId"] = ids, ids + 1 + rng.randrange(100_000)
        main, other = (a, b) if a["timeInBed"] > b["timeInBed"] else (b, a)
        main["isMainSleep"], other["isMainSleep"] = True, False
        logs += [a, b]
    elif kind < 0.035:  # stages could not be computed: classic main sleep, insufficient heart rate
        log = build_classic(rng, start, tib, 1)
        log["logId"] = ids
        logs.append(log)
    else:
        log = build_stages(rng, start, tib, awake_min, unknown=kind > 0.99)
        log["logId"] = ids
        if 0.035 <= kind < 0.055:
            log["logType"] = "manual"  # edited by the user after detection
        logs.append(log)
    if rng.random() < 0.15:  # afternoon nap: classic, too short for stages
        nap_start = midnight + timedelta(minutes=rng.randint(13 * 60, 16 * 60 + 30))
        nap = build_classic(rng, nap_start, rng.randint(20, 100), 2)
        nap["logId"] = ids + 1_000_000 + rng.randrange(1_000_000)
        if rng.random() < 0.1:
            nap["logType"] = "manual"
        logs.append(nap)
    return logs


def resolve_today(today: date | None, tz: str) -> date:
    """``today`` or the current date in the user's time zone."""
    return today if today is not None else datetime.now(ZoneInfo(tz)).date()


def generate_history(seed: int, days: int, today: date | None, tz: str) -> list[Log]:
    """v1.2 log objects with ``dateOfSleep`` in the ``days`` dates ending ``today``, oldest first."""
    end = resolve_today(today, tz)
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
        for log in generate_night(seed, day):
            if log["type"] == "stages" and log["isMainSleep"]:
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
