"""An independent, plain-Python implementation of the night model (docs/night-model.md), straight from v1.2 logs.

Why: tests compare what the SQL (sql/nights.sql) and every figure print against this, so a bug in the SQL does not
agree with itself. It knows nothing of the tables: it reads the logs as Fitbit sent them (times local, no zone;
no DST night in the histories it is used on).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

MAX_SPLIT_GAP = timedelta(minutes=120)
NIGHT_OFFSET = timedelta(hours=12)


@dataclass
class Night:
    night_date: date
    main: list[dict[str, Any]] = field(default_factory=list)  # the main sleep's parts, in time order
    naps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def bedtime(self) -> datetime:
        return start(self.main[0])

    @property
    def waketime(self) -> datetime:
        return max(end(log) for log in self.main)

    @property
    def gap_minutes(self) -> int:
        gaps = 0.0
        latest = end(self.main[0])
        for log in self.main[1:]:
            gaps += max((start(log) - latest).total_seconds(), 0) / 60
            latest = max(latest, end(log))
        return round(gaps)

    @property
    def minutes_asleep(self) -> int:
        return sum(log["minutesAsleep"] for log in self.main)

    @property
    def time_in_bed(self) -> int:
        return sum(log["timeInBed"] for log in self.main) + self.gap_minutes


def start(log: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(log["startTime"])


def end(log: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(log["endTime"])


def nights_of(logs: list[dict[str, Any]]) -> dict[date, Night]:
    """Night per night_date: periods split at wakes longer than 120 min; the longest period is the main sleep."""
    by_night: dict[date, list[dict[str, Any]]] = {}
    for log in logs:
        by_night.setdefault((start(log) - NIGHT_OFFSET).date(), []).append(log)
    nights = {}
    for night_date, night_logs in sorted(by_night.items()):
        night_logs.sort(key=lambda log: (start(log), log["logId"]))
        periods: list[list[dict[str, Any]]] = []
        latest: datetime | None = None
        for log in night_logs:
            if latest is None or start(log) - latest > MAX_SPLIT_GAP:
                periods.append([])
            periods[-1].append(log)
            latest = end(log) if latest is None else max(latest, end(log))
        main = min(
            periods,
            key=lambda p: (-sum(x["minutesAsleep"] for x in p), -sum(x["timeInBed"] for x in p), start(p[0])),
        )
        nights[night_date] = Night(night_date, main, [log for p in periods if p is not main for log in p])
    return nights
