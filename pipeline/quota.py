"""The hourly request budget (Fitbit: 150 per user and app, reset at the top of the hour).

Why our own count: Fitbit's ``Fitbit-Rate-Limit-*`` headers are "approximate and asynchronously updated", so a
client that trusts ``-Remaining`` alone gets surprise 429s. The budget takes the lower of the header and its own
count within one window, and when it is spent (or a 429 arrives) it waits until ``-Reset`` plus a margin.
``Retry-After`` is only a fallback: it has been seen to disagree with the real reset. The last snapshot is saved so
the planner can estimate a backfill without an API call.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

DEFAULT_LIMIT = 150
DEFAULT_WINDOW_S = 3600.0


@dataclass(frozen=True)
class QuotaSnapshot:
    """What the last response said: ``reset_s`` seconds until the window resets, as of ``seen_at`` (epoch)."""

    limit: int | None
    remaining: int | None
    reset_s: float | None
    seen_at: float

    def reset_in(self, now: float | None = None) -> float | None:
        if self.reset_s is None:
            return None
        return max(0.0, self.seen_at + self.reset_s - (time.time() if now is None else now))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self)), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> QuotaSnapshot | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                limit=data.get("limit"),
                remaining=data.get("remaining"),
                reset_s=data.get("reset_s"),
                seen_at=float(data["seen_at"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


class QuotaBudget:
    """Tracks the budget of one client; all times are wall-clock seconds (``time.time``)."""

    def __init__(self, reset_margin: float = 10.0, window_s: float = DEFAULT_WINDOW_S) -> None:
        self.reset_margin = reset_margin
        self.window_s = window_s  # a 429 without a reset header waits for the next window boundary
        self.limit: int | None = None
        self.remaining: int | None = None
        self.reset_at: float | None = None
        self.last: QuotaSnapshot | None = None
        self._consecutive_429 = 0

    # -- before a request ------------------------------------------------------------------------------------------
    def wait_needed(self, now: float | None = None) -> float:
        """Seconds to wait before the next request may be sent (0 when there is budget or nothing is known)."""
        now = time.time() if now is None else now
        if self.remaining is None or self.remaining > 0 or self.reset_at is None:
            return 0.0
        return max(0.0, self.reset_at - now) + self.reset_margin * (2 ** min(self._consecutive_429, 5))

    def after_wait(self) -> None:
        """The window has reset: the budget is unknown until the next response says otherwise."""
        self.remaining = None
        self.reset_at = None

    def reserve(self) -> None:
        """Count a request we are about to send (the headers lag behind)."""
        if self.remaining is not None:
            self.remaining -= 1

    # -- after a response --------------------------------------------------------------------------------------------
    def observe(self, headers: Mapping[str, str], status: int, now: float | None = None) -> None:
        now = time.time() if now is None else now
        limit = _int_header(headers, "Fitbit-Rate-Limit-Limit")
        remaining = _int_header(headers, "Fitbit-Rate-Limit-Remaining")
        reset = _int_header(headers, "Fitbit-Rate-Limit-Reset")
        if status == 429:
            self._consecutive_429 += 1
            if reset is None:  # fall back to Retry-After, then to the next window boundary (top of the hour)
                reset = _int_header(headers, "Retry-After")
            if reset is None:
                reset = int(self.window_s - now % self.window_s)
            remaining = 0
        elif 200 <= status < 500:
            self._consecutive_429 = 0
        if limit is not None:
            self.limit = limit
        if reset is not None:
            new_reset_at = now + reset
            same_window = self.reset_at is not None and abs(new_reset_at - self.reset_at) < 2.0
            if remaining is not None:
                self.remaining = (
                    min(remaining, self.remaining)
                    if same_window and self.remaining is not None
                    else remaining
                )
            self.reset_at = new_reset_at
        elif remaining is not None:
            self.remaining = remaining
        if limit is not None or remaining is not None or reset is not None:
            self.last = QuotaSnapshot(limit=self.limit, remaining=self.remaining, reset_s=reset, seen_at=now)


def eta_seconds(calls: int, snapshot: QuotaSnapshot | None, now: float | None = None) -> float:
    """Time until ``calls`` requests are done when only the quota limits us (request time itself is ignored).

    Unknown quota = a fresh window of 150/h: the first 150 go now, then one window per further 150.
    """
    if calls <= 0:
        return 0.0
    now = time.time() if now is None else now
    limit = (snapshot.limit if snapshot and snapshot.limit else None) or DEFAULT_LIMIT
    remaining = limit
    reset_in = DEFAULT_WINDOW_S
    if snapshot is not None and snapshot.remaining is not None and snapshot.reset_s is not None:
        left = snapshot.reset_in(now) or 0.0
        if left > 0:  # the snapshot's window is still running
            remaining, reset_in = snapshot.remaining, left
    if calls <= remaining:
        return 0.0
    extra_windows = math.ceil((calls - remaining) / limit)
    return reset_in + (extra_windows - 1) * DEFAULT_WINDOW_S


def plan_calls(
    start: date, end: date, kinds: Sequence[str] = (), *, run_days: int = 100
) -> dict[str, list[str]]:
    """Every API path a backfill of ``start..end`` calls, per endpoint family (``"sleep"``, then each physiology
    kind), in order: the windows are the backfill's runs (consecutive ``run_days``-day windows from ``start``, as
    ``dagster_project.backfill`` makes them), and each window takes the fewest calls each endpoint's range limit
    allows (sleep: 100 days; ``pipeline.physiology_fetch.ENDPOINTS``). A test checks a real backfill makes exactly
    these calls."""
    from pipeline.client import chunk_range
    from pipeline.physiology_fetch import planned_calls

    plan: dict[str, list[str]] = {"sleep": []}
    for kind in kinds:
        plan[kind] = []
    for first, last in chunk_range(start, end, run_days):
        plan["sleep"] += [f"/1.2/user/-/sleep/date/{a}/{b}.json" for a, b in chunk_range(first, last)]
        for kind, paths in planned_calls(first, last, kinds).items():
            plan[kind] += paths
    return plan
