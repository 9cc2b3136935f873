"""Build realistic Fitbit export / Google Takeout archives for tests and benches.

Why a builder: the importer must cope with the real archive's quirks, so the archives here reproduce them from
v1.2 logs (normally ``fitbit_sandbox.generator.generate_history``): ``mainSleep`` instead of ``isMainSleep``;
pretty-printed JSON arrays of ~30 days, newest first; file names whose date does not match their records; the same
logId in two adjacent files; very old records in classic form; ``sleep_score.csv`` with empty columns and a ``Z`` on
local times; a profile with the time zone; unrelated files around them. Three folder layouts, as a zip or a folder.

The builder is independent of the importer (it imports nothing from ``pipeline``), so a misunderstanding of the
format is not shared by both sides.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

LAYOUTS = ("myfitbitdata", "takeout", "google_health")
EXPORTED_AT = datetime(2026, 10, 1, 12, 0, 0, tzinfo=UTC)
SCORE_HEADER = [
    "sleep_log_entry_id",
    "timestamp",
    "overall_score",
    "composition_score",
    "revitalization_score",
    "duration_score",
    "deep_sleep_in_minutes",
    "resting_heart_rate",
    "restlessness",
]


@dataclass
class BuiltArchive:
    """What was written, so tests can compare the import against it."""

    path: Path
    logs: list[
        dict[str, Any]
    ]  # the logs in API shape (isMainSleep), one per logId, as the importer should land
    sleep_files: list[str] = field(default_factory=list)
    duplicate_copies: int = 0  # extra copies of logIds written into an adjacent file
    score_rows: list[dict[str, str]] = field(default_factory=list)
    timezone: str = "America/Los_Angeles"

    @property
    def log_ids(self) -> set[int]:
        return {int(log["logId"]) for log in self.logs}

    @property
    def dates(self) -> set[date]:
        return {date.fromisoformat(log["dateOfSleep"]) for log in self.logs}


def layout_paths(layout: str, name: str) -> dict[str, str]:
    """Directory of the sleep files, path of the score CSV, path of the profile, and some unrelated files."""
    if layout == "myfitbitdata":
        root = f"MyFitbitData/{name}"
        return {
            "sleep_dir": f"{root}/Sleep",
            "scores": f"{root}/Sleep/sleep_score.csv",
            "profile": f"{root}/Personal & Account/Profile.csv",
            "noise": f"{root}/Physical Activity/steps-2024-01-01.json|{root}/Sleep/Daily SpO2 - 2024-01-01.csv",
        }
    if layout == "takeout":
        root = "Takeout/Fitbit"
        return {
            "sleep_dir": f"{root}/Global Export Data",
            "scores": f"{root}/Sleep Score/sleep_score.csv",
            "profile": f"{root}/Your Profile/Profile.csv",
            "noise": f"{root}/Global Export Data/heart_rate-2024-01-01.json|Takeout/archive_browser.html",
        }
    if layout == "google_health":
        root = "Takeout/Google Health"
        return {
            "sleep_dir": f"{root}/Fitbit/Global Export Data",
            "scores": f"{root}/Fitbit/Sleep Score/sleep_score.csv",
            "profile": f"{root}/Account/profile.json",
            "noise": f"{root}/Health Fitness Data_GoogleData/UserSleeps_2026.csv|Takeout/archive_browser.html",
        }
    raise ValueError(f"unknown layout {layout!r}; use one of {LAYOUTS}")


def to_export_record(log: dict[str, Any]) -> dict[str, Any]:
    """API log → export record: ``isMainSleep`` is called ``mainSleep`` (same position, same value)."""
    return {("mainSleep" if key == "isMainSleep" else key): value for key, value in log.items()}


def make_classic(log: dict[str, Any]) -> dict[str, Any]:
    """Turn a log into a self-consistent classic log (asleep/restless/awake in 60-s segments), as old records are.

    Keeps logId, dates, start/end and duration; rebuilds levels and the minute fields so the documented classic
    invariants hold: minutesAsleep = asleep, minutesAwake = restless + awake, efficiency = asleep / timeInBed.
    """
    rng = random.Random(int(log["logId"]))
    total = int(log["timeInBed"])
    start = datetime.fromisoformat(log["startTime"])
    segments: list[tuple[str, int]] = []
    left = total
    level = "restless"
    while left > 0:
        minutes = min(left, rng.randint(1, 4) if level != "asleep" else rng.randint(15, 70))
        segments.append((level, minutes))
        left -= minutes
        level = "asleep" if level != "asleep" else rng.choice(("restless", "restless", "awake"))
    data, clock = [], start
    for level_name, minutes in segments:
        data.append(
            {
                "dateTime": clock.strftime("%Y-%m-%dT%H:%M:%S.000"),
                "level": level_name,
                "seconds": minutes * 60,
            }
        )
        clock += timedelta(minutes=minutes)
    minutes_of = {
        name: sum(m for lv, m in segments if lv == name) for name in ("asleep", "restless", "awake")
    }
    counts = {name: sum(1 for lv, _ in segments if lv == name) for name in ("restless", "awake")}
    classic = dict(log)
    classic.update(
        {
            "type": "classic",
            "minutesAsleep": minutes_of["asleep"],
            "minutesAwake": minutes_of["restless"] + minutes_of["awake"],
            "minutesToFallAsleep": 0,
            "minutesAfterWakeup": 0,
            "efficiency": round(100 * minutes_of["asleep"] / total) if total else 0,
            "levels": {
                "data": data,
                "summary": {
                    "asleep": {"count": 0, "minutes": minutes_of["asleep"]},
                    "awake": {"count": counts["awake"], "minutes": minutes_of["awake"]},
                    "restless": {"count": counts["restless"], "minutes": minutes_of["restless"]},
                },
            },
        }
    )
    return classic


def score_row(log: dict[str, Any], rng: random.Random, *, sparse: bool) -> dict[str, str]:
    """One sleep_score.csv row: the timestamp is the local endTime with a misleading ``Z``."""
    end = datetime.fromisoformat(log["endTime"]).replace(microsecond=0)
    deep = log.get("levels", {}).get("summary", {}).get("deep", {}).get("minutes")
    return {
        "sleep_log_entry_id": str(log["logId"]),
        "timestamp": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "overall_score": str(rng.randint(55, 92)),
        "composition_score": "" if sparse else str(rng.randint(15, 25)),
        "revitalization_score": str(rng.randint(10, 25)),
        "duration_score": "" if sparse else str(rng.randint(20, 50)),
        "deep_sleep_in_minutes": "" if deep is None else str(deep),
        "resting_heart_rate": str(rng.randint(48, 66)),
        "restlessness": f"{rng.uniform(0.03, 0.15):.4f}",
    }


def build_archive(
    dest: Path,
    logs: Iterable[dict[str, Any]],
    *,
    layout: str = "myfitbitdata",
    as_zip: bool = True,
    name: str = "Jane",
    timezone: str = "America/Los_Angeles",
    days_per_file: int = 30,
    duplicate_every: int = 2,
    classic_before: date | None = None,
    with_scores: bool = True,
    exported_at: datetime = EXPORTED_AT,
    edit_member: Callable[[str, bytes], bytes] | None = None,
) -> BuiltArchive:
    """Write an archive of ``logs`` at ``dest`` (a ``.zip`` file or a folder) and describe it.

    - files hold ``days_per_file`` consecutive days of records, newest first; a file is named after a date a few
      days before its oldest record (as in real exports, the name does not match the records);
    - every ``duplicate_every``-th file boundary repeats the newest log of the older file in the newer file;
    - logs that end before ``classic_before`` are rewritten as classic logs;
    - ``edit_member(name, data) -> data`` may damage a member (truncate, inject a bad record) before it is written.
    """
    paths = layout_paths(layout, name)
    by_day: dict[date, list[dict[str, Any]]] = {}
    unique: dict[int, dict[str, Any]] = {}
    for log in logs:
        log = dict(log)
        if classic_before is not None and date.fromisoformat(log["dateOfSleep"]) < classic_before:
            log = make_classic(log)
        unique[int(log["logId"])] = log
    for log in unique.values():
        by_day.setdefault(date.fromisoformat(log["dateOfSleep"]), []).append(log)
    days = sorted(by_day, reverse=True)
    chunks: list[list[dict[str, Any]]] = []
    if days:
        newest = days[0]
        for day in days:
            index = (newest - day).days // days_per_file
            while len(chunks) <= index:
                chunks.append([])
            chunks[index].extend(sorted(by_day[day], key=lambda lg: lg["startTime"], reverse=True))
    chunks = [chunk for chunk in chunks if chunk]
    members: dict[str, bytes] = {}
    built = BuiltArchive(dest, sorted(unique.values(), key=lambda lg: lg["startTime"]), timezone=timezone)
    for i, chunk in enumerate(chunks):
        records = list(chunk)
        older = chunks[i + 1] if i + 1 < len(chunks) else None
        if older and duplicate_every and i % duplicate_every == 0:
            records.append(older[0])  # the older file's newest log, repeated at the end of this file
            built.duplicate_copies += 1
        oldest = min(date.fromisoformat(r["dateOfSleep"]) for r in chunk)
        file_name = f"{paths['sleep_dir']}/sleep-{(oldest - timedelta(days=5)).isoformat()}.json"
        body = json.dumps([to_export_record(r) for r in records], indent=2, separators=(",", " : "))
        members[file_name] = body.encode("utf-8")
        built.sleep_files.append(file_name)
    if with_scores:
        rng = random.Random(7)
        mains = sorted(
            (lg for lg in unique.values() if lg.get("isMainSleep")),
            key=lambda lg: lg["startTime"],
            reverse=True,
        )
        cutoff = (
            len(mains) // 3
        )  # the newest third has the empty composition/duration columns of newer exports
        built.score_rows = [score_row(lg, rng, sparse=i < cutoff) for i, lg in enumerate(mains)]
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=SCORE_HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(built.score_rows)
        members[paths["scores"]] = out.getvalue().encode("utf-8")
    members[paths["profile"]] = _profile(paths["profile"], name, timezone)
    for noise in paths["noise"].split("|"):
        members[noise] = b"[]\n" if noise.endswith(".json") else b"timestamp,value\n"
    if edit_member is not None:
        members = {member: edit_member(member, data) for member, data in members.items()}
    _write(dest, members, as_zip=as_zip, exported_at=exported_at)
    return built


def _profile(member: str, name: str, timezone: str) -> bytes:
    if member.endswith(".json"):
        return json.dumps(
            {"user": {"encodedId": "ABC123", "displayName": name, "timezone": timezone}}
        ).encode()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "full_name", "first_name", "country", "timezone", "locale", "member_since"])
    writer.writerow(["ABC123", f"{name} Doe", name, "US", timezone, "en_US", "2014-05-01"])
    return out.getvalue().encode()


def _write(dest: Path, members: dict[str, bytes], *, as_zip: bool, exported_at: datetime) -> None:
    stamp = exported_at.timestamp()
    if as_zip:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for member, data in sorted(members.items()):
                info = zipfile.ZipInfo(member, date_time=exported_at.timetuple()[:6])
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
        return
    for member, data in members.items():
        target = dest / member
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        os.utime(target, (stamp, stamp))


def logs_from_generator(
    days: int, *, seed: int = 42, today: date = date(2026, 9, 30)
) -> list[dict[str, Any]]:
    """v1.2 logs of the sandbox's generator (the same history the sandbox serves)."""
    from fitbit_sandbox.generator import generate_history

    return list(generate_history(seed, days, today, "America/Los_Angeles"))
