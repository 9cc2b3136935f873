"""The sandbox user's Google-era Takeout (2026): legacy JSON before the move to Google, CSVs after it, split in parts.

Why: since accounts moved to Google, a Takeout holds the nights after the move *only* in
``Health Fitness Data_GoogleData/UserSleeps_*.csv`` (+ ``UserSleepStages_*``, ``UserSleepScores_*``), one row per
session **per algorithm version** (reference ``real-fitbit-data.md`` §2). The sandbox writes that format from the same
history it serves over the API, so an import can be compared with the API night by night. Like the rest of the
sandbox it imports nothing from ``pipeline``.

What it reproduces:

- nights before ``migrated_on`` as legacy ``Global Export Data/sleep-*.json`` (+ ``sleep_score.csv``); the CSVs
  start ``overlap_days`` earlier, so some nights are in both (the legacy ``startTime`` = the v1 row's local start);
- a v1 row with the API log's bounds and minutes, and a v2 row that starts up to 5 min later and ends up to 3 min
  earlier, its minutes recomputed from its own stages; 1 session in ``ONE_VERSION_EVERY`` has only v1 or only v2;
  some classic naps are CLASSIC in v1 and STAGES in v2;
- UTC times with separate offsets; files alternate the two timestamp spellings (``+0000`` and ``Z``) and the two
  wake spellings (``AWAKE`` and ``WAKE``); stage rows are shuffled;
- a score per version of each main sleep, ``-1`` for absent sub-scores, a float ``overall_score``;
- ``parts`` zips with the members dealt round-robin (sorted by name), so folders are spread over the parts.

Deterministic: the same arguments give byte-identical zips (random streams are seeded by logId).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fitbit_sandbox.export import (
    ExportedArchive,
    compose_archive,
    export_time,
    heart_rate_start,
    write_archive,
)
from fitbit_sandbox.generator import Log, generate_history, resolve_today
from fitbit_sandbox.physio_export import (
    csv_bytes,
    google_daily_members,
    google_heart_rate_members,
    hrv_folder_members,
)
from fitbit_sandbox.physiology import Physiology

LAYOUT = "takeout-2026"
CSV_DIR = "Takeout/Fitbit/Health Fitness Data_GoogleData"
GOOGLE_DATA_DIR = "Takeout/Fitbit/Physical Activity_GoogleData"
HRV_DIR = "Takeout/Fitbit/Heart Rate Variability"
ONE_VERSION_EVERY = 9  # one session in 9 has a single version row (half of them v1 only, half v2 only)
SESSION_HEADER = [
    "sleep_id",
    "sleep_type",
    "minutes_in_sleep_period",
    "minutes_after_wake_up",
    "minutes_to_fall_asleep",
    "minutes_asleep",
    "minutes_awake",
    "minutes_longest_awakening",
    "minutes_to_persistent_sleep",
    "start_utc_offset",
    "sleep_start",
    "end_utc_offset",
    "sleep_end",
    "data_source",
    "algorithm_version",
    "sleep_created",
    "sleep_last_updated",
]
STAGE_HEADER = [
    "sleep_id",
    "sleep_stage_id",
    "sleep_stage_type",
    "start_utc_offset",
    "sleep_stage_start",
    "end_utc_offset",
    "sleep_stage_end",
    "data_source",
    "algorithm_version",
    "sleep_stage_created",
    "sleep_stage_last_updated",
]
SCORE_HEADER = [
    "sleep_id",
    "sleep_score_id",
    "data_source",
    "score_utc_offset",
    "score_time",
    "overall_score",
    "duration_score",
    "composition_score",
    "revitalization_score",
    "sleep_time_minutes",
    "deep_sleep_minutes",
    "rem_sleep_percent",
    "resting_heart_rate",
    "sleep_goal_minutes",
    "waso_count_long_wakes",
    "waso_count_all_wake_time",
    "restlessness_normalized",
    "hr_below_resting_hr",
    "sleep_score_created",
    "sleep_score_last_updated",
]
EPOCH = 30  # seconds: the resolution of a stage timeline


@dataclass
class TakeoutSession:
    """One physical session as written: the API log it comes from and the version rows it has."""

    log_id: int
    versions: dict[str, str] = field(default_factory=dict)  # "v1"/"v2" -> sleep_id
    types: dict[str, str] = field(default_factory=dict)  # "v1"/"v2" -> CLASSIC | STAGES
    scored: bool = False


@dataclass
class Takeout2026:
    """The parts of one Takeout and what they hold (for tests: the expected sessions)."""

    archive: ExportedArchive  # every member; .logs = the history in API shape (what the API serves)
    migrated_on: date
    sessions: list[TakeoutSession] = field(default_factory=list)
    parts: list[Path] = field(default_factory=list)

    @property
    def legacy_log_ids(self) -> set[int]:
        return {
            int(log["logId"])
            for log in self.archive.logs
            if log["dateOfSleep"] < self.migrated_on.isoformat()
        }


def part_paths(dest: Path, parts: int) -> list[Path]:
    """``takeout.zip`` -> ``takeout-001.zip``, ``takeout-002.zip``, … (one part: ``dest`` itself)."""
    if parts <= 1:
        return [dest]
    return [dest.with_name(f"{dest.stem}-{i:03d}{dest.suffix}") for i in range(1, parts + 1)]


def compose_takeout(
    logs: list[Log],
    *,
    migrated_on: date,
    timezone: str,
    overlap_days: int = 14,
    name: str = "Jane",
    physiology: Physiology | None = None,
    heart_rate_from: date | None = None,
) -> Takeout2026:
    """Every member of the Takeout: legacy JSON for nights before ``migrated_on``, CSVs from ``overlap_days``
    before it; with ``physiology`` its files of both generations too (heart-rate samples from ``heart_rate_from``)."""
    legacy = [log for log in logs if date.fromisoformat(log["dateOfSleep"]) < migrated_on]
    span = (
        None
        if physiology is None
        else (physiology.first, min(physiology.last, migrated_on - timedelta(days=1)))
    )
    archive = compose_archive(
        legacy, layout="takeout", name=name, timezone=timezone, physiology=physiology, physio_span=span,
        heart_rate_from=heart_rate_from,
    )  # fmt: skip
    archive.logs = sorted(({**log} for log in logs), key=lambda lg: lg["startTime"])
    zone = ZoneInfo(timezone)
    csv_start = migrated_on - timedelta(days=overlap_days)
    takeout = Takeout2026(archive, migrated_on)
    files: dict[str, dict[str, list[list[str]]]] = {}
    for log in sorted(logs, key=lambda lg: lg["startTime"]):
        if date.fromisoformat(log["dateOfSleep"]) < csv_start:
            continue
        start = datetime.fromisoformat(log["startTime"]).replace(tzinfo=zone)
        key = f"{start.year}-{'01' if start.month <= 6 else '07'}-01"
        rows = files.setdefault(key, {"UserSleeps": [], "UserSleepStages": [], "UserSleepScores": []})
        takeout.sessions.append(_write_session(log, zone, rows, spelling=len(files) % 2))
    for index, (key, rows) in enumerate(sorted(files.items())):
        for kind, header in (
            ("UserSleeps", SESSION_HEADER),
            ("UserSleepStages", STAGE_HEADER),
            ("UserSleepScores", SCORE_HEADER),
        ):
            body = rows[kind]
            if kind == "UserSleepStages":
                random.Random(index).shuffle(body)  # real stage rows are not in time order
            archive.members[f"{CSV_DIR}/{kind}_{key}.csv"] = csv_bytes(header, body)
            archive.members[f"{CSV_DIR}/{kind} README.txt"] = (
                "columns: user_id," + ",".join(header)
            ).encode()
    if physiology is not None:
        archive.members.update(_google_physiology(physiology, zone, csv_start, migrated_on, heart_rate_from))
    return takeout


def _google_physiology(
    phys: Physiology, zone: ZoneInfo, csv_start: date, migrated_on: date, heart_rate_from: date | None
) -> dict[str, bytes]:
    """The Google-era physiology CSVs from ``csv_start`` on, and the ``Heart Rate Variability`` folder's files of the
    nights after the move (the legacy part has the ones before)."""
    first, last = max(csv_start, phys.first), phys.last
    members = google_daily_members(phys, GOOGLE_DATA_DIR, zone, first, last)
    members.update(
        google_heart_rate_members(phys, GOOGLE_DATA_DIR, zone, max(first, heart_rate_from or first), last)
    )
    members.update(hrv_folder_members(phys, phys.nights(max(migrated_on, phys.first), last), HRV_DIR))
    return members


def write_takeout(takeout: Takeout2026, dest: Path, *, parts: int = 1, exported_at: datetime) -> Takeout2026:
    """Write the members as ``parts`` zips, dealt round-robin in name order; return ``takeout``."""
    names = sorted(takeout.archive.members)
    for i, target in enumerate(part_paths(Path(dest), parts)):
        chunk = ExportedArchive(takeout.archive.logs, timezone=takeout.archive.timezone)
        chunk.members = {n: takeout.archive.members[n] for n in names[i :: max(parts, 1)]}
        write_archive(chunk, target, exported_at=exported_at)
        takeout.parts.append(target)
    return takeout


def _write_session(
    log: Log, zone: ZoneInfo, rows: dict[str, list[list[str]]], *, spelling: int
) -> TakeoutSession:
    """The v1 and/or v2 rows of one API log, with their stages and scores."""
    rng = random.Random(int(log["logId"]) * 31 + 5)
    session = TakeoutSession(int(log["logId"]))
    start = _to_utc(log["startTime"], zone)  # arithmetic in UTC: wall-clock sums go wrong across DST
    end = _to_utc(log["endTime"], zone)
    timeline = _timeline(log, start, end, zone)
    pick = rng.randrange(ONE_VERSION_EVERY * 2)
    versions = ["v1"] if pick == 0 else ["v2"] if pick == 1 else ["v1", "v2"]
    classic = log["type"] == "classic"
    for version in versions:
        sleep_id = str(7_000_000_000_000_000_000 + rng.randrange(10**18))
        if version == "v1":
            s, e, kind = start, end, "CLASSIC" if classic else "STAGES"
            epochs = timeline
        else:
            s = start + timedelta(seconds=EPOCH * rng.randint(0, 10))
            e = end - timedelta(seconds=EPOCH * rng.randint(0, 6))
            skip = int((s - start).total_seconds()) // EPOCH
            epochs = timeline[skip : skip + int((e - s).total_seconds()) // EPOCH]
            kind = "STAGES" if classic and rng.random() < 0.4 else ("CLASSIC" if classic else "STAGES")
            if classic and kind == "STAGES":  # the newer algorithm staged a nap the old one did not
                epochs = [_restage(level, rng) for level in epochs]
        session.versions[version], session.types[version] = sleep_id, kind
        stages = _runs(epochs, s)
        awake_levels = {"wake", "awake", "restless"} if kind == "CLASSIC" else {"wake"}
        asleep = (
            sum(n for level, _, n in stages if level not in awake_levels and level is not None) * EPOCH // 60
        )
        awake = sum(n for level, _, n in stages if level in awake_levels) * EPOCH // 60
        if version == "v1":  # v1 carries the minutes Fitbit reported for the legacy log
            asleep, awake = int(log["minutesAsleep"]), int(log["minutesAwake"])
        in_period = int((e - s).total_seconds()) // 60
        algorithm = f"sleep_session_{version}"
        source = "MANUAL" if log.get("logType") == "manual" else "PASSIVELY_MEASURED"
        rows["UserSleeps"].append(
            [
                sleep_id,
                kind,
                str(in_period),
                str(log.get("minutesAfterWakeup", 0)),
                str(log.get("minutesToFallAsleep", 0)),
                str(asleep),
                str(awake),
                str(max((n for lv, _, n in stages if lv in awake_levels), default=0) * EPOCH // 60),
                str(log.get("minutesToFallAsleep", 0)),
                _offset(s, zone),
                _utc(s, spelling),
                _offset(e, zone),
                _utc(e, spelling),
                source,
                algorithm,
                _utc(e + timedelta(minutes=3), spelling),
                _utc(e + timedelta(minutes=40), spelling),
            ]
        )
        stage_algo = ("sleep_stages_" + version) if kind == "STAGES" else "restlessness"
        created, updated = _utc(e + timedelta(minutes=3), spelling), _utc(e + timedelta(minutes=40), spelling)
        for level, begin, count in stages:
            if level is None:
                continue  # an epoch Fitbit could not stage ("unknown") has no stage row
            finish = begin + timedelta(seconds=EPOCH * count)
            rows["UserSleepStages"].append(
                [
                    sleep_id,
                    str(rng.randrange(10**12, 10**13)),
                    _stage_name(level, kind, spelling),
                    _offset(begin, zone),
                    _utc(begin, spelling),
                    _offset(finish, zone),
                    _utc(finish, spelling),
                    source,
                    stage_algo,
                    created,
                    updated,
                ]
            )
        if log.get("isMainSleep"):
            session.scored = True
            rows["UserSleepScores"].append(_score_row(sleep_id, e, asleep, stages, rng, spelling, zone))
    return session


def _to_utc(local: str, zone: ZoneInfo) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=zone).astimezone(UTC)


def _timeline(log: Log, start: datetime, end: datetime, zone: ZoneInfo) -> list[str | None]:
    """The log's level per 30-s epoch from start to end, short wakes laid over ``data`` (None = not staged)."""
    n = int((end - start).total_seconds()) // EPOCH
    epochs: list[str | None] = [None] * n
    levels = log.get("levels", {})
    for segments in (levels.get("data", []), levels.get("shortData", [])):
        for seg in segments:
            first = int((_to_utc(seg["dateTime"], zone) - start).total_seconds())
            level = None if seg["level"] == "unknown" else seg["level"]
            for i in range(max(first, 0) // EPOCH, min((first + int(seg["seconds"])) // EPOCH, n)):
                epochs[i] = level
    return epochs


def _restage(level: str | None, rng: random.Random) -> str | None:
    if level == "asleep":
        return rng.choice(("light", "light", "deep", "rem"))
    return None if level is None else "wake"  # restless and awake: the newer algorithm calls both wake


def _runs(epochs: list[str | None], start: datetime) -> list[tuple[str | None, datetime, int]]:
    """Runs of equal levels: (level, start, number of epochs)."""
    runs: list[tuple[str | None, datetime, int]] = []
    for i, level in enumerate(epochs):
        if runs and runs[-1][0] == level:
            runs[-1] = (level, runs[-1][1], runs[-1][2] + 1)
        else:
            runs.append((level, start + timedelta(seconds=EPOCH * i), 1))
    return runs


def _stage_name(level: str, kind: str, spelling: int) -> str:
    if level in ("wake", "awake"):
        return "WAKE" if spelling and kind == "STAGES" else "AWAKE"
    return level.upper()


def _score_row(
    sleep_id: str,
    end: datetime,
    asleep: int,
    stages: list[Any],
    rng: random.Random,
    spelling: int,
    zone: ZoneInfo,
) -> list[str]:
    deep = sum(n for level, _, n in stages if level == "deep") * EPOCH // 60
    rem = sum(n for level, _, n in stages if level == "rem") * EPOCH // 60
    sparse = rng.random() < 0.3  # newer scores often lack the sub-scores: -1
    return [
        sleep_id,
        str(rng.randrange(10**15, 10**16)),
        "DERIVED",
        _offset(end, zone),
        _utc(end + timedelta(minutes=10), spelling),
        f"{rng.uniform(55, 92):.1f}",
        "-1" if sparse else str(rng.randint(20, 50)),
        "-1" if sparse else str(rng.randint(15, 25)),
        str(rng.randint(10, 25)),
        str(asleep),
        str(deep),
        f"{100 * rem / asleep:.1f}" if asleep else "0",
        str(rng.randint(48, 66)),
        "480",
        str(rng.randint(0, 4)),
        str(rng.randint(5, 30)),
        f"{rng.uniform(0.03, 0.15):.4f}",
        str(rng.randint(30, 90)),
        _utc(end + timedelta(minutes=12), spelling),
        _utc(end + timedelta(minutes=50), spelling),
    ]


def _offset(moment: datetime, zone: ZoneInfo) -> str:
    seconds = int((moment.astimezone(zone).utcoffset() or timedelta(0)).total_seconds())
    sign = "-" if seconds < 0 else "+"
    return f"{sign}{abs(seconds) // 3600:02d}:{abs(seconds) % 3600 // 60:02d}"


def _utc(moment: datetime, spelling: int) -> str:
    """``2026-04-12 05:45:30+0000`` or ``2026-04-12T05:45:30Z``: both spellings occur in real exports."""
    text = moment.astimezone(UTC).replace(tzinfo=None, microsecond=0)  # isoformat: 10x faster than strftime
    return text.isoformat() + "Z" if spelling else text.isoformat(sep=" ") + "+0000"


def export_takeout_history(
    dest: Path,
    *,
    seed: int = 42,
    days: int = 730,
    today: date | None = None,
    tz: str = "America/Los_Angeles",
    migrated_on: date | None = None,
    parts: int = 1,
    physiology: bool = False,
    heart_rate_days: int | None = None,
    physiology_days: int | None = None,
) -> Takeout2026:
    """The Takeout of the history a sandbox with this seed/days/today/tz serves (default move: mid-history);
    ``physiology``/``heart_rate_days`` as in ``export.export_history``; ``physiology_days``: the physiology files of
    the last N days only (default: the whole history; the values of a day do not depend on the span), for the demo,
    whose import time with two years of daily measures was mostly theirs."""
    end = resolve_today(today, tz)
    logs = generate_history(seed, days, end, tz)
    moved = migrated_on or end - timedelta(days=days // 2)
    span = min(days, physiology_days or days)
    phys = Physiology(seed, logs, end - timedelta(days=span - 1), end, tz=tz) if physiology else None
    takeout = compose_takeout(
        logs,
        migrated_on=moved,
        timezone=tz,
        physiology=phys,
        heart_rate_from=heart_rate_start(end, heart_rate_days),
    )
    return write_takeout(takeout, dest, parts=parts, exported_at=export_time(end, tz))
