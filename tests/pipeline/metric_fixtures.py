"""Hand-written v1.2 logs for the metric tests: every segment given explicitly, so each expected value can be worked
out on paper from the fixture itself (no random stages, never a copy of real data).

Why not plot_fixtures.stages_log: its segments are random, fine for comparing two implementations but useless for a
hand-computed WASO or latency.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

ISO = "%Y-%m-%dT%H:%M:%S.000"
STAGES = ("deep", "light", "rem", "wake")
CLASSIC = ("asleep", "restless", "awake")
_next_id = [41_000_000_000]


def explicit_log(
    start: datetime,
    segments: Sequence[tuple[str, float]],
    *,
    short: Sequence[tuple[float, int]] = (),
    main: bool = True,
) -> dict[str, Any]:
    """A v1.2 log starting at ``start`` (local) made of ``segments`` = (level, minutes) in order; ``short`` =
    (minutes after start, seconds) short wakes of ``shortData`` laid over the stages. Stages or classic by level."""
    classic = any(level in CLASSIC for level, _ in segments)
    data, t = [], 0
    for level, minutes in segments:
        seconds = round(minutes * 60)
        data.append(
            {"dateTime": (start + timedelta(seconds=t)).strftime(ISO), "level": level, "seconds": seconds}
        )
        t += seconds
    short_data = [
        {"dateTime": (start + timedelta(minutes=at)).strftime(ISO), "level": "wake", "seconds": seconds}
        for at, seconds in short
    ]
    secs: dict[str, int] = {}
    for seg in data:
        secs[seg["level"]] = secs.get(seg["level"], 0) + seg["seconds"]
    if not classic:  # Fitbit's summary counts the short wakes as wake, taken from the stage they interrupt
        for seg in short_data:
            secs["wake"] = secs.get("wake", 0) + seg["seconds"]
            secs["light"] = secs.get("light", 0) - seg["seconds"]
    levels = CLASSIC if classic else STAGES
    mins = {level: secs.get(level, 0) // 60 for level in levels}
    asleep = mins["asleep"] if classic else mins["deep"] + mins["light"] + mins["rem"]
    end = start + timedelta(seconds=t)
    _next_id[0] += 1
    log: dict[str, Any] = {
        "dateOfSleep": end.date().isoformat(),
        "duration": t * 1000,
        "efficiency": 90,
        "endTime": end.strftime(ISO),
        "infoCode": 0,
        "isMainSleep": main,
        "levels": {
            "data": data,
            "summary": {
                level: {"count": sum(s["level"] == level for s in data), "minutes": m}
                for level, m in mins.items()
            },  # fmt: skip
        },
        "logId": _next_id[0],
        "logType": "auto_detected",
        "minutesAfterWakeup": 0,
        "minutesAsleep": asleep,
        "minutesAwake": t // 60 - asleep,
        "minutesToFallAsleep": 0,
        "startTime": start.strftime(ISO),
        "timeInBed": t // 60,
        "type": "classic" if classic else "stages",
    }
    if not classic:
        log["levels"]["shortData"] = short_data
    return log


def at(day: date, clock: str, *, next_day: bool = False) -> datetime:
    """``at(d, "23:30")`` = d 23:30; with ``next_day`` the clock time on d + 1."""
    return datetime.combine(day + timedelta(days=int(next_day)), time.fromisoformat(clock))


def simple_night(
    night: date, onset: str, wake: str, *, latency_min: int = 10, after_min: int = 5
) -> dict[str, Any]:
    """In bed ``latency_min`` before ``onset``, asleep (light) without a break until ``wake``, up ``after_min`` later.
    Clock times before noon are on the morning after ``night``."""
    onset_at = at(night, onset, next_day=time.fromisoformat(onset) < time(12))
    wake_at = at(night, wake, next_day=time.fromisoformat(wake) < time(12))
    asleep = (wake_at - onset_at).total_seconds() / 60
    return explicit_log(
        onset_at - timedelta(minutes=latency_min),
        [("wake", latency_min), ("light", asleep), ("wake", after_min)],
    )
