"""Warehouses for the plot and report tests: sandbox history and v1.2 edge-case logs, through the real pipeline.

Why builders here: the edge cases (one night, naps only, classic only, a gap of months, pending days) are easier to
state as a handful of v1.2 log objects than to find in generated history. They follow the invariants of the API
reference (segments contiguous, 30-s/60-s multiples, short wakes overlaid on stages, minutesAsleep = deep+light+rem).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.landing import land_day
from pipeline.paths import StoragePaths
from pipeline.tables import update_tables
from pipeline.warehouse import build_warehouse

ISO = "%Y-%m-%dT%H:%M:%S.000"
_next_log_id = [40_000_000_000]


def _log_id() -> int:
    _next_log_id[0] += 1
    return _next_log_id[0]


def stages_log(start: datetime, minutes: int, rng: random.Random, *, main: bool = True) -> dict[str, Any]:
    """A v1.2 stages log of ``minutes`` in bed starting at ``start`` (naive local time)."""
    total = minutes * 60
    data: list[dict[str, Any]] = []
    t, cycle = 0, ["wake", "light", "deep", "light", "rem"]
    i = 0
    while t < total:
        level = cycle[i % len(cycle)] if i else "wake"
        i += 1
        seconds = {"wake": rng.randint(2, 12), "light": rng.randint(20, 60), "deep": rng.randint(10, 40),
                   "rem": rng.randint(10, 40)}[level] * 30  # fmt: skip
        seconds = min(seconds, total - t)
        data.append(
            {"dateTime": (start + timedelta(seconds=t)).strftime(ISO), "level": level, "seconds": seconds}
        )
        t += seconds
    short: list[dict[str, Any]] = []
    for seg in data:
        if seg["level"] == "light" and seg["seconds"] >= 600 and rng.random() < 0.6:
            at = datetime.strptime(seg["dateTime"], ISO) + timedelta(seconds=300)
            short.append({"dateTime": at.strftime(ISO), "level": "wake", "seconds": rng.choice([30, 60, 90])})
    secs = {k: 0 for k in ("deep", "light", "rem", "wake")}
    for seg in data:
        secs[seg["level"]] += seg["seconds"]
    for seg in short:
        secs["light"] -= seg["seconds"]
        secs["wake"] += seg["seconds"]
    mins = {k: v // 60 for k, v in secs.items()}
    asleep = mins["deep"] + mins["light"] + mins["rem"]
    summary = {k: {"count": sum(s["level"] == k for s in data), "minutes": v, "thirtyDayAvgMinutes": v}
               for k, v in mins.items()}  # fmt: skip
    end = start + timedelta(seconds=total)
    return {
        "dateOfSleep": end.date().isoformat(),
        "duration": total * 1000,
        "efficiency": 95,
        "endTime": end.strftime(ISO),
        "infoCode": 0,
        "isMainSleep": main,
        "levels": {"data": data, "shortData": short, "summary": summary},
        "logId": _log_id(),
        "logType": "auto_detected",
        "minutesAfterWakeup": 0,
        "minutesAsleep": asleep,
        "minutesAwake": minutes - asleep,
        "minutesToFallAsleep": 0,
        "startTime": start.strftime(ISO),
        "timeInBed": minutes,
        "type": "stages",
    }


def classic_log(start: datetime, minutes: int, rng: random.Random, *, main: bool = False) -> dict[str, Any]:
    """A v1.2 classic log (naps, manual logs): 60-s segments of asleep/restless/awake."""
    data: list[dict[str, Any]] = []
    t, total = 0, minutes * 60
    while t < total:
        level = rng.choices(["asleep", "restless", "awake"], weights=[8, 2, 1])[0]
        seconds = min(rng.randint(1, 20 if level == "asleep" else 3) * 60, total - t)
        data.append(
            {"dateTime": (start + timedelta(seconds=t)).strftime(ISO), "level": level, "seconds": seconds}
        )
        t += seconds
    mins = {
        k: sum(s["seconds"] for s in data if s["level"] == k) // 60 for k in ("asleep", "restless", "awake")
    }
    summary = {k: {"count": 0 if k == "asleep" else sum(s["level"] == k for s in data), "minutes": v}
               for k, v in mins.items()}  # fmt: skip
    end = start + timedelta(seconds=total)
    return {
        "dateOfSleep": end.date().isoformat(),
        "duration": total * 1000,
        "efficiency": round(100 * mins["asleep"] / minutes),
        "endTime": end.strftime(ISO),
        "infoCode": 2 if not main else 1,
        "isMainSleep": main,
        "levels": {"data": data, "summary": summary},
        "logId": _log_id(),
        "logType": "auto_detected",
        "minutesAfterWakeup": 0,
        "minutesAsleep": mins["asleep"],
        "minutesAwake": mins["restless"] + mins["awake"],
        "minutesToFallAsleep": 0,
        "startTime": start.strftime(ISO),
        "timeInBed": minutes,
        "type": "classic",
    }


def history(
    first_night: date,
    nights: int,
    *,
    seed: int = 7,
    nap_every: int = 0,
    classic: bool = False,
    mains: bool = True,
    skip: Iterable[date] = (),
) -> list[dict[str, Any]]:
    """Main sleeps (stages, or classic) starting on the evening of each night, plus a nap every ``nap_every`` days."""
    rng = random.Random(seed)
    skipped = set(skip)
    logs: list[dict[str, Any]] = []
    for k in range(nights):
        night = first_night + timedelta(days=k)
        if night in skipped:
            continue
        weekend = night.weekday() >= 4
        if mains:
            bed = datetime.combine(night, datetime.min.time()) + timedelta(
                hours=23 + (1 if weekend else 0), minutes=rng.randint(-50, 50)
            )
            length = rng.randint(390, 540)
            builder = classic_log if classic else stages_log
            logs.append(builder(bed, length, rng, main=True))
        if nap_every and k % nap_every == 0:
            nap = datetime.combine(night + timedelta(days=1), datetime.min.time()) + timedelta(
                hours=14, minutes=rng.randint(-60, 60)
            )
            logs.append(classic_log(nap, rng.randint(20, 90), rng, main=False))
    return logs


def land_and_build(
    root: Path,
    logs: list[dict[str, Any]],
    *,
    days: Iterable[date] | None = None,
    pending: Iterable[date] = (),
    tz: str = "America/Los_Angeles",
) -> StoragePaths:
    """Land ``logs`` per dateOfSleep (every date of ``days`` landed, empty ones as 'fetched, empty'), then run the
    real tables and warehouse steps. Returns the data root's paths."""
    paths = StoragePaths(root)
    by_day: dict[date, list[dict[str, Any]]] = {}
    for log in logs:
        by_day.setdefault(date.fromisoformat(log["dateOfSleep"]), []).append(log)
    landed = set(days) if days is not None else set(by_day)
    landed |= set(by_day)
    pending_days = set(pending)
    fetched_at = datetime(2025, 1, 1, tzinfo=UTC)
    for day in sorted(landed):
        land_day(
            paths,
            day,
            by_day.get(day, []),
            source="api",
            source_ref=f"/1.2/user/-/sleep/date/{day.isoformat()}.json",
            fetched_at=fetched_at,
            pending=day in pending_days,
        )
    write_profile(paths, tz)
    update_tables(paths, tz=tz)
    build_warehouse(paths)
    return paths


def write_profile(paths: StoragePaths, tz: str) -> None:
    paths.profile_file.parent.mkdir(parents=True, exist_ok=True)
    paths.profile_file.write_text(
        json.dumps({"user_id": "SANDBOX", "timezone": tz, "offset_from_utc_millis": -28800000}),
        encoding="utf-8",
    )


def sandbox_history(
    days: int, *, today: date, seed: int = 42, tz: str = "America/Los_Angeles"
) -> list[dict[str, Any]]:
    """Realistic history from the sandbox's deterministic generator (the same one the simulator serves)."""
    from fitbit_sandbox.generator import generate_history

    return [dict(log) for log in generate_history(seed, days, today, tz)]
