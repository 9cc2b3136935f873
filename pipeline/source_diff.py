"""Pull the same days through the v1.2 API and the Google Health API v4 and say, night by night, what differs.

Why: the two APIs read one account. Where they disagree on a session (its times, minutes, stages, main-sleep flag)
one of them, or our mapping, is wrong, and a user switching sources should know before the tables change under
them. Both fetches land into a scratch data root (``<data root>/scratch/diff-<time>/<source>/``, never the real
landing) through the same ``land_fetch``; the comparison reads those raw files.

Sessions are matched by their local start time (the ids are different id spaces). What is expected to differ, and
so is listed but not counted:

- ``logId``: v4 ids are the data point ids, not Fitbit's logIds;
- ``efficiency`` and ``thirtyDayAvgMinutes``: v4 has neither (the tables compute efficiency for both);
- ``isMainSleep`` / ``logType`` where the v1.2 log has none (the classic era): v4 always says;
- classic ``minutesAwake`` where v1.2's own number leaves the restless minutes out (v1.2's arithmetic quirk; the
  mapping rebuilds restless + awake from the stage minutes, as v1.2 defines it);
- a date still pending (not final) in either source: not compared until both are final.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pipeline.config import Settings
from pipeline.landing import land_fetch, read_day
from pipeline.paths import StoragePaths
from pipeline.source_client import open_client

SOURCES = ("fitbit", "google-health")
COMPARED = (
    "dateOfSleep", "endTime", "type", "duration", "timeInBed", "minutesAsleep", "minutesAwake",
    "minutesToFallAsleep", "minutesAfterWakeup", "infoCode", "isMainSleep", "logType",
)  # fmt: skip
EXPECTED_NOTE = (
    "Expected to differ, not counted: logId (different id spaces), efficiency and thirtyDayAvgMinutes (not in v4), "
    "isMainSleep/logType where v1.2 sends none (classic era), classic minutesAwake where v1.2 leaves out restless "
    "minutes, and dates not final in either source."
)


@dataclass
class NightDiff:
    night: date
    differing: list[str] = field(default_factory=list)  # one line per differing session
    expected: list[str] = field(default_factory=list)


@dataclass
class DiffReport:
    start: date
    end: date
    sessions: int = 0
    differing: int = 0
    expected: int = 0
    expected_fields: dict[str, int] = field(
        default_factory=dict
    )  # field -> sessions where it differs as expected
    pending_dates: list[date] = field(default_factory=list)
    nights: list[NightDiff] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    scratch: Path | None = None

    @property
    def last_line(self) -> str:
        return f"{self.differing} differing sessions of {self.sessions}"


def _summary_minutes(log: dict[str, Any]) -> dict[str, int]:
    summary = (log.get("levels") or {}).get("summary") or {}
    return {
        level: int(entry.get("minutes", 0)) for level, entry in summary.items() if isinstance(entry, dict)
    }


def _segments(log: dict[str, Any], key: str) -> list[tuple[str, str, int]]:
    return [(s["dateTime"], s["level"], int(s["seconds"])) for s in (log.get("levels") or {}).get(key) or []]


def _expected(field_name: str, v12: dict[str, Any], v4: dict[str, Any]) -> bool:
    if field_name in ("isMainSleep", "logType") and field_name not in v12:
        return True
    if field_name == "minutesAwake" and v12.get("type") == "classic":
        minutes = _summary_minutes(v12)
        return v4.get(field_name) == minutes.get("restless", 0) + minutes.get("awake", 0)
    return False


def compare_logs(v12: dict[str, Any], v4: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(unexpected, expected) differences between two copies of one session, as ``field v1.2 -> v4`` texts."""
    unexpected: list[str] = []
    expected: list[str] = []
    for name in COMPARED:
        a, b = v12.get(name), v4.get(name)
        if a != b:
            (expected if _expected(name, v12, v4) else unexpected).append(f"{name} {a} -> {b}")
    stage_a, stage_b = _summary_minutes(v12), _summary_minutes(v4)
    if stage_a != stage_b:
        unexpected.append(f"stage minutes {stage_a} -> {stage_b}")
    for key in ("data", "shortData"):
        if _segments(v12, key) != _segments(v4, key):
            unexpected.append(
                f"levels.{key} ({len(_segments(v12, key))} -> {len(_segments(v4, key))} segments)"
            )
    return unexpected, expected


def _landed(paths: StoragePaths, day: date) -> tuple[str, list[dict[str, Any]]]:
    record = read_day(paths, day) or {}
    return str(record.get("state", "missing")), list((record.get("payload") or {}).get("sleep") or [])


def compare_roots(v12_paths: StoragePaths, v4_paths: StoragePaths, start: date, end: date) -> DiffReport:
    """Compare what the two sources landed for every date of ``[start, end]``."""
    report = DiffReport(start=start, end=end)
    day = start
    while day <= end:
        state_a, logs_a = _landed(v12_paths, day)
        state_b, logs_b = _landed(v4_paths, day)
        day_now, day = day, date.fromordinal(day.toordinal() + 1)
        if "pending" in (state_a, state_b):
            report.pending_dates.append(day_now)
            continue
        by_start_a = {log["startTime"]: log for log in logs_a}
        by_start_b = {log["startTime"]: log for log in logs_b}
        night = NightDiff(day_now)
        for started in sorted(set(by_start_a) | set(by_start_b)):
            report.sessions += 1
            a, b = by_start_a.get(started), by_start_b.get(started)
            if a is None or b is None:
                night.differing.append(f"{started}: only in {'v4' if a is None else 'v1.2'}")
                continue
            unexpected, expected = compare_logs(a, b)
            if unexpected:
                night.differing.append(f"{started}: " + "; ".join(unexpected))
            if expected:
                night.expected.append(f"{started}: " + "; ".join(expected))
                for text in expected:
                    name = text.split(" ", 1)[0]
                    report.expected_fields[name] = report.expected_fields.get(name, 0) + 1
        report.differing += len(night.differing)
        report.expected += len(night.expected)
        if night.differing or night.expected:
            report.nights.append(night)
    return report


def source_settings(environ: Mapping[str, str], source: str) -> Settings:
    return Settings.from_env({**environ, "FITBIT_SLEEP_SOURCE": source})


def diff_sources(
    start: date,
    end: date,
    *,
    environ: Mapping[str, str] | None = None,
    scratch: Path | None = None,
    on_wait: Callable[[float, str], None] | None = None,
) -> DiffReport:
    """Fetch ``[start, end]`` through both sources (the logins of the data root; ``fitbit-sleep login`` once per
    source) into a scratch root and compare."""
    env = dict(os.environ if environ is None else environ)
    home = source_settings(env, "fitbit").home
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    scratch = scratch or home / "scratch" / f"diff-{stamp}"
    roots = {}
    calls = {}
    for source in SOURCES:
        settings = source_settings(env, source)
        root = StoragePaths(scratch / source)
        with open_client(settings, on_wait=on_wait) as client:
            fetch = client.sleep(start, end)
        land_fetch(root, fetch)
        roots[source], calls[source] = root, fetch.calls
    report = compare_roots(roots["fitbit"], roots["google-health"], start, end)
    report.calls, report.scratch = calls, scratch
    return report


def render(report: DiffReport, *, verbose: bool = False) -> list[str]:
    """The lines ``fitbit-sleep diff-sources`` prints; the last is ``<N> differing sessions of <M>``. Expected
    differences are counted per field (``verbose``: listed per session too)."""
    lines = [
        f"{report.start}..{report.end}: v1.2 in {report.calls.get('fitbit', 0)} calls, v4 in "
        f"{report.calls.get('google-health', 0)} calls; scratch landing {report.scratch}",
    ]
    for night in report.nights:
        for text in night.differing:
            lines.append(f"{night.night}  DIFFERS   {text}")
        for text in night.expected if verbose else []:
            lines.append(f"{night.night}  expected  {text}")
    if report.pending_dates:
        lines.append(
            f"not compared (not final in a source): {', '.join(str(d) for d in report.pending_dates)}"
        )
    kinds = ", ".join(f"{name} in {n}" for name, n in sorted(report.expected_fields.items()))
    lines.append(f"{report.expected} sessions differ only as expected ({kinds or 'none'}). {EXPECTED_NOTE}")
    lines.append(report.last_line)
    return lines
