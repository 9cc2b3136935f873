"""The user's sleep history as the API serves it, plus the upstream changes the sandbox can simulate.

Why bytes are cached per log: a 100-day range answer is ~0.5 MB of JSON; encoding each log once and joining the
bytes keeps the sandbox fast enough for benchmarks of the client rather than of ``json.dumps``.

Simulated upstream behaviour:

- late sync: the last date's logs can be ``unsynced`` (absent) or ``pending`` (``meta.state: "pending"``);
- edits after the fact: a log of the last days can be changed (same ``logId``, new content, ``logType: manual``),
  split into two logs with new ids, or deleted.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from fitbit_sandbox.generator import Log, build_log, generate_history, log_id_base, night_rng

PENDING_META = {"retryDuration": 3000, "state": "pending"}


def _encode(log: Log) -> bytes:
    return json.dumps(log, separators=(",", ":")).encode()


class SleepStore:
    """Logs by ``dateOfSleep`` with their encoded JSON."""

    def __init__(self, seed: int, days: int, today: date, tz: str) -> None:
        self.seed = seed
        self.today = today
        self.first = today - timedelta(days=days - 1)
        self.by_date: dict[date, list[tuple[Log, bytes]]] = {}
        for log in generate_history(seed, days, today, tz):
            self._add(log)
        self.sync_state = "synced"  # of ``today``: "synced" | "pending" | "unsynced"
        self.edits = 0

    def _add(self, log: Log) -> None:
        day = date.fromisoformat(log["dateOfSleep"])
        self.by_date.setdefault(day, []).append((log, _encode(log)))
        self.by_date[day].sort(key=lambda item: item[0]["startTime"])

    def day(self, day: date, sync_state: str) -> tuple[list[tuple[Log, bytes]], bool]:
        """The logs of one date as visible now, and whether the date is still processing."""
        items = self.by_date.get(day, [])
        if day != self.today or sync_state == "synced":
            return items, False
        # Only the main sleep of the last night waits for the sync; an earlier nap of that date is there already.
        rest = [item for item in items if not item[0].get("isMainSleep")]
        return rest, sync_state == "pending" and len(rest) != len(items)

    def all_logs(self, sync_state: str) -> list[Log]:
        out: list[Log] = []
        for day in sorted(self.by_date):
            out.extend(log for log, _ in self.day(day, sync_state)[0])
        return out

    # --- edits after the fact --------------------------------------------------------------------------------
    def edit(self, kind: str, day: date | None) -> dict[str, Any]:
        """Change, split or delete the main sleep of ``day`` (default: the latest date with one)."""
        if kind not in ("change", "split", "delete"):
            raise ValueError("kind must be change, split or delete")
        if day is None:
            candidates = [d for d in sorted(self.by_date, reverse=True) if self._main(d) is not None]
            if not candidates:
                raise ValueError("no main sleep to edit")
            day = candidates[0]
        main = self._main(day)
        if main is None:
            raise ValueError(f"no main sleep on {day.isoformat()}")
        self.edits += 1
        self.by_date[day] = [item for item in self.by_date[day] if item[0]["logId"] != main["logId"]]
        rng = night_rng(self.seed, day.toordinal(), salt=self.edits)
        start = datetime.fromisoformat(main["startTime"])
        tib = main["timeInBed"]
        awake = main["minutesAwake"]
        new_logs: list[Log] = []
        if kind == "change":  # the user moved the start 30..60 min later in the app
            shift = rng.randint(30, 60)
            log = build_log(rng, start + timedelta(minutes=shift), tib - shift, awake)
            log["logId"], log["logType"], log["isMainSleep"] = main["logId"], "manual", True
            new_logs.append(log)
        elif kind == "split":  # a later sync split the night at a wake longer than an hour
            first = max(90, tib // 3)
            gap = 61
            second = tib - first - gap
            a = build_log(rng, start, first, awake * first / tib)
            b = build_log(rng, start + timedelta(minutes=first + gap), second, awake * second / tib)
            base = log_id_base(day.toordinal()) + 3_000_000 + self.edits * 1000
            a["logId"], b["logId"] = base + 1, base + 2
            a["isMainSleep"], b["isMainSleep"] = (
                a["timeInBed"] > b["timeInBed"],
                a["timeInBed"] <= b["timeInBed"],
            )
            new_logs += [a, b]
        for log in new_logs:
            if log["type"] == "stages" and main["type"] == "stages":
                for level, entry in log["levels"]["summary"].items():
                    entry["thirtyDayAvgMinutes"] = main["levels"]["summary"][level]["thirtyDayAvgMinutes"]
            self._add(log)
        return {
            "kind": kind,
            "date": day.isoformat(),
            "removed": [main["logId"]] if kind != "change" else [],
            "changed": [main["logId"]] if kind == "change" else [],
            "added": [log["logId"] for log in new_logs] if kind == "split" else [],
            "dates": sorted({day.isoformat(), *(log["dateOfSleep"] for log in new_logs)}),
        }

    def _main(self, day: date) -> Log | None:
        for log, _ in self.by_date.get(day, []):
            if log.get("isMainSleep"):
                return log
        return None
