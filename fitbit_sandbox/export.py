"""The sandbox user's account archive: ``MyFitbitData.zip`` / Google Takeout, written from the generated history.

Why it lives in the sandbox: the legacy API is gone (410) since 2 Nov 2026 and the archive is how users get their
history now, so the offline stand-in for Fitbit must be able to hand one out, from the same history it serves over
the API (``fitbit-sleep sandbox export``, the demo, the tests and the benches all use this one writer). Like the rest
of the sandbox it imports nothing from ``pipeline``: a misreading of the format is not shared by writer and reader.

The archive reproduces the real one's quirks (reference §5):

- sleep files ``sleep-YYYY-MM-DD.json`` are pretty-printed JSON arrays of ~30 days, newest first, with
  ``mainSleep`` instead of ``isMainSleep``; a file is named after a date a few days before its oldest record, so
  the name does not match the records;
- the same ``logId`` sits in two adjacent files (the older file's newest log is repeated in the newer file), its
  ``thirtyDayAvgMinutes`` recomputed in the newer copy;
- optionally, very old records are classic (``classic_before``);
- ``sleep_score.csv``: ``sleep_log_entry_id`` is the ``logId``, ``timestamp`` is the *local* end time with a
  misleading ``Z``, and the newest third of the rows has empty ``composition_score`` / ``duration_score``;
- a profile (CSV, or JSON in the Google Health layout) with the time zone, and unrelated files around them;
- three folder layouts: ``MyFitbitData/<Name>/Sleep/…``, ``Takeout/Fitbit/Global Export Data`` + ``Sleep Score`` +
  ``Your Profile``, and ``Takeout/Google Health/…``.

Determinism: for a given (seed, days, today, tz, layout) the bytes are identical: members are written in sorted
order with a fixed timestamp (the export time, derived from ``today``), and the score values come from a fixed seed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fitbit_sandbox.generator import Log, generate_history, resolve_today
from fitbit_sandbox.physio_export import legacy_members
from fitbit_sandbox.physiology import Physiology

FORMATS = ("zip", "folder")
DEFAULT_NAME = "Jane"
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
class ExportedArchive:
    """An archive's members and what they hold, so callers (and tests) can compare an import against it."""

    logs: list[Log]  # in API shape (isMainSleep), one per logId, oldest first: what an importer should land
    members: dict[str, bytes] = field(default_factory=dict, repr=False)  # member path -> bytes
    sleep_files: list[str] = field(default_factory=list)
    duplicate_copies: int = 0  # extra copies of logIds written into an adjacent file
    score_rows: list[dict[str, str]] = field(default_factory=list)
    timezone: str = "America/Los_Angeles"
    path: Path = Path()  # where it was written (set by ``write_archive``)

    @property
    def log_ids(self) -> set[int]:
        return {int(log["logId"]) for log in self.logs}

    @property
    def dates(self) -> set[date]:
        return {date.fromisoformat(log["dateOfSleep"]) for log in self.logs}


# Where each layout puts things ({name} = the account's first name): the sleep files' folder, the score CSV, the
# profile, and unrelated files an importer must pass over ("|"-separated).
LAYOUT_MEMBERS: dict[str, dict[str, str]] = {
    "myfitbitdata": {
        "sleep_dir": "MyFitbitData/{name}/Sleep",
        "scores": "MyFitbitData/{name}/Sleep/sleep_score.csv",
        "profile": "MyFitbitData/{name}/Personal & Account/Profile.csv",
        "noise": "MyFitbitData/{name}/Physical Activity/steps-2024-01-01.json"
        "|MyFitbitData/{name}/Sleep/Daily SpO2 - 2024-01-01.csv",
        "heart_dir": "MyFitbitData/{name}/Physical Activity",
        "hrv_dir": "MyFitbitData/{name}/Sleep",
        "spo2_dir": "MyFitbitData/{name}/Sleep",
        "temp_dir": "MyFitbitData/{name}/Sleep",
    },
    "takeout": {
        "sleep_dir": "Takeout/Fitbit/Global Export Data",
        "scores": "Takeout/Fitbit/Sleep Score/sleep_score.csv",
        "profile": "Takeout/Fitbit/Your Profile/Profile.csv",
        "noise": "Takeout/Fitbit/Global Export Data/heart_rate-2024-01-01.json|Takeout/archive_browser.html",
        "heart_dir": "Takeout/Fitbit/Global Export Data",
        "hrv_dir": "Takeout/Fitbit/Heart Rate Variability",
        "spo2_dir": "Takeout/Fitbit/Oxygen Saturation (SpO2)",
        "temp_dir": "Takeout/Fitbit/Temperature",
    },
    "google-health": {
        "sleep_dir": "Takeout/Google Health/Fitbit/Global Export Data",
        "scores": "Takeout/Google Health/Fitbit/Sleep Score/sleep_score.csv",
        "profile": "Takeout/Google Health/Account/profile.json",
        "noise": "Takeout/Google Health/Health Fitness Data_GoogleData/UserSleeps_2026.csv"
        "|Takeout/archive_browser.html",
        "heart_dir": "Takeout/Google Health/Fitbit/Global Export Data",
        "hrv_dir": "Takeout/Google Health/Fitbit/Heart Rate Variability",
        "spo2_dir": "Takeout/Google Health/Fitbit/Oxygen Saturation (SpO2)",
        "temp_dir": "Takeout/Google Health/Fitbit/Temperature",
    },
}
LAYOUTS = tuple(LAYOUT_MEMBERS)


def layout_paths(layout: str, name: str = DEFAULT_NAME) -> dict[str, str]:
    """Directory of the sleep files, path of the score CSV, path of the profile, some unrelated files, and the
    folders of the physiology files (heart rate, HRV + breathing rate, SpO2, temperature)."""
    if layout not in LAYOUT_MEMBERS:
        raise ValueError(f"unknown layout {layout!r}; use one of {', '.join(LAYOUTS)}")
    return {key: value.format(name=name) for key, value in LAYOUT_MEMBERS[layout].items()}


def heart_rate_start(last: date, heart_rate_days: int | None) -> date | None:
    """The first date that gets heart-rate sample files when only the last ``heart_rate_days`` do (None: all)."""
    return None if heart_rate_days is None else last - timedelta(days=heart_rate_days - 1)


def export_time(today: date, tz: str) -> datetime:
    """When the sandbox user "downloaded" the archive: noon of ``today`` in their time zone, in UTC.

    Derived from ``today`` (not the clock) so the same export is byte-identical; an importer reads it back from the
    member timestamps (zip member times carry no zone; they are written in UTC, 2-second resolution)."""
    return datetime.combine(today, time(12, 0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def to_export_record(log: Log) -> Log:
    """API log → export record: ``isMainSleep`` is called ``mainSleep`` (same position, same value)."""
    return {("mainSleep" if key == "isMainSleep" else key): value for key, value in log.items()}


def make_classic(log: Log) -> Log:
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


def recomputed_averages(log: Log) -> Log:
    """A copy of ``log`` whose ``levels.summary.*.thirtyDayAvgMinutes`` moved by a minute or two (stages only)."""
    summary = log.get("levels", {}).get("summary", {})
    if not any("thirtyDayAvgMinutes" in entry for entry in summary.values()):
        return log
    rng = random.Random(int(log["logId"]) + 1)
    copy = json.loads(json.dumps(log))
    for entry in copy["levels"]["summary"].values():
        entry["thirtyDayAvgMinutes"] += rng.choice((-2, -1, 1, 2))
    return copy


def score_row(log: Log, rng: random.Random, *, sparse: bool) -> dict[str, str]:
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


def compose_archive(
    logs: list[Log],
    *,
    layout: str = "myfitbitdata",
    name: str = DEFAULT_NAME,
    timezone: str = "America/Los_Angeles",
    days_per_file: int = 30,
    duplicate_every: int = 2,
    classic_before: date | None = None,
    with_scores: bool = True,
    physiology: Physiology | None = None,
    physio_span: tuple[date, date] | None = None,
    heart_rate_from: date | None = None,
) -> ExportedArchive:
    """The members of an archive holding ``logs`` (in memory; ``write_archive`` puts them on disk).

    - files hold ``days_per_file`` consecutive days of records, newest first, named after a date five days before
      their oldest record;
    - every ``duplicate_every``-th file boundary repeats the newest log of the older file in the newer file
      (0 = never);
    - logs whose ``dateOfSleep`` is before ``classic_before`` are rewritten as classic logs;
    - with ``physiology``: its members (``physio_export.legacy_members``) for the dates of ``physio_span`` (default:
      its whole history), heart-rate samples from ``heart_rate_from`` on (None: all).
    """
    paths = layout_paths(layout, name)
    unique: dict[int, Log] = {}
    for log in logs:
        if classic_before is not None and date.fromisoformat(log["dateOfSleep"]) < classic_before:
            log = make_classic(log)
        unique[int(log["logId"])] = dict(log)
    archive = ExportedArchive(sorted(unique.values(), key=lambda lg: lg["startTime"]), timezone=timezone)
    chunks = _chunks(list(unique.values()), days_per_file)
    for i, chunk in enumerate(chunks):
        records = list(chunk)
        older = chunks[i + 1] if i + 1 < len(chunks) else None
        if older and duplicate_every and i % duplicate_every == 0:
            # the older file's newest log, repeated at the end of this file, with the rolling averages Fitbit
            # had recomputed by the time it wrote this file (reference §1: thirtyDayAvgMinutes differs between
            # two copies of a log in overlapping files)
            records.append(recomputed_averages(older[0]))
            archive.duplicate_copies += 1
        oldest = min(date.fromisoformat(r["dateOfSleep"]) for r in chunk)
        member = f"{paths['sleep_dir']}/sleep-{(oldest - timedelta(days=5)).isoformat()}.json"
        body = json.dumps([to_export_record(r) for r in records], indent=2, separators=(",", " : "))
        archive.members[member] = body.encode("utf-8")
        archive.sleep_files.append(member)
    if with_scores:
        archive.score_rows = _score_rows(list(unique.values()))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=SCORE_HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(archive.score_rows)
        archive.members[paths["scores"]] = out.getvalue().encode("utf-8")
    archive.members[paths["profile"]] = _profile(paths["profile"], name, timezone)
    if physiology is not None:
        first, last = physio_span or (physiology.first, physiology.last)
        archive.members.update(
            legacy_members(
                physiology, heart_dir=paths["heart_dir"], hrv_dir=paths["hrv_dir"], spo2_dir=paths["spo2_dir"],
                temp_dir=paths["temp_dir"], zone=ZoneInfo(timezone), first=first, last=last,
                heart_rate_from=heart_rate_from,
            )
        )  # fmt: skip
    for noise in paths["noise"].split("|"):
        archive.members.setdefault(noise, _noise(noise))
    return archive


def _noise(member: str) -> bytes:
    """An empty file of the kind the name says (a reader must pass over it without an error)."""
    if member.endswith(".json"):
        return b"[]\n"
    if "Daily SpO2" in member:
        return b"timestamp,average_value,lower_bound,upper_bound\n"
    return b"timestamp,value\n"


def _chunks(logs: list[Log], days_per_file: int) -> list[list[Log]]:
    """Logs grouped in runs of ``days_per_file`` dates counted back from the newest, each newest first."""
    by_day: dict[date, list[Log]] = {}
    for log in logs:
        by_day.setdefault(date.fromisoformat(log["dateOfSleep"]), []).append(log)
    chunks: list[list[Log]] = []
    days = sorted(by_day, reverse=True)
    for day in days:
        index = (days[0] - day).days // days_per_file
        while len(chunks) <= index:
            chunks.append([])
        chunks[index].extend(sorted(by_day[day], key=lambda lg: lg["startTime"], reverse=True))
    return [chunk for chunk in chunks if chunk]


def _score_rows(logs: list[Log]) -> list[dict[str, str]]:
    """A score per main sleep, newest first; the newest third has the empty columns of newer exports."""
    rng = random.Random(7)
    mains = sorted((lg for lg in logs if lg.get("isMainSleep")), key=lambda lg: lg["startTime"], reverse=True)
    cutoff = len(mains) // 3
    return [score_row(lg, rng, sparse=i < cutoff) for i, lg in enumerate(mains)]


def _profile(member: str, name: str, timezone: str) -> bytes:
    if member.endswith(".json"):
        profile = {"user": {"encodedId": "ABC123", "displayName": name, "timezone": timezone}}
        return json.dumps(profile).encode()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "full_name", "first_name", "country", "timezone", "locale", "member_since"])
    writer.writerow(["ABC123", f"{name} Doe", name, "US", timezone, "en_US", "2014-05-01"])
    return out.getvalue().encode()


def write_archive(
    archive: ExportedArchive, dest: Path, *, as_zip: bool = True, exported_at: datetime | None = None
) -> ExportedArchive:
    """Write the members at ``dest`` (a zip file, or a folder) stamped ``exported_at``; return ``archive``.

    A zip is written next to ``dest`` as ``.<name>.part`` and renamed into place, so a drop-folder watcher never
    sees half a zip. Members are sorted and carry fixed timestamps and permissions: identical input, identical bytes.
    """
    stamp = (exported_at or datetime(2026, 10, 1, 12, 0, tzinfo=UTC)).astimezone(UTC)
    dest = Path(dest)
    archive.path = dest
    if as_zip:
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(f".{dest.name}.part")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as out:
            for member, data in sorted(archive.members.items()):
                info = zipfile.ZipInfo(member, date_time=stamp.timetuple()[:6])
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                out.writestr(info, data)
        os.replace(partial, dest)
        return archive
    seconds = stamp.timestamp()
    for member, data in sorted(archive.members.items()):
        target = dest / member
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        os.utime(target, (seconds, seconds))
    return archive


def build_archive(
    dest: Path,
    logs: list[Log],
    *,
    as_zip: bool = True,
    exported_at: datetime | None = None,
    **options: Any,
) -> ExportedArchive:
    """``compose_archive(logs, **options)`` written at ``dest``: an archive of any logs (tests edit histories)."""
    return write_archive(compose_archive(logs, **options), dest, as_zip=as_zip, exported_at=exported_at)


def export_history(
    dest: Path,
    *,
    seed: int = 42,
    days: int = 730,
    today: date | None = None,
    tz: str = "America/Los_Angeles",
    layout: str = "myfitbitdata",
    as_zip: bool = True,
    physiology: bool = False,
    heart_rate_days: int | None = None,
) -> ExportedArchive:
    """The archive of the history a sandbox with this seed/days/today/tz serves, exported at noon ``today``.

    ``physiology``: also the heart-rate, resting-HR, HRV, SpO2, breathing-rate and temperature files, the same
    values the sandbox serves (heart-rate samples only for the last ``heart_rate_days``: ~0.5 MB a day)."""
    end = resolve_today(today, tz)
    logs = generate_history(seed, days, end, tz)
    phys = Physiology(seed, logs, end - timedelta(days=days - 1), end, tz=tz) if physiology else None
    return build_archive(
        dest, logs, layout=layout, timezone=tz, as_zip=as_zip, exported_at=export_time(end, tz),
        physiology=phys, heart_rate_from=heart_rate_start(end, heart_rate_days),
    )  # fmt: skip
