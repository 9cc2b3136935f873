"""Import a Fitbit account export (``MyFitbitData.zip``) or a Google Takeout archive into the landing.

Why through the landing: the archive's sleep files hold the same v1.2 log objects as the API (with ``mainSleep``
instead of ``isMainSleep``), so they are normalised and landed per ``dateOfSleep`` with ``land_day`` exactly like an
API fetch, and the transform, its validation and its quarantine treat both sources the same way. Provenance is
``source="export"`` and ``source_ref`` = the archive's file (or folder) name.

How the archive is read (see ``archive_reader``): files are found by name pattern in any layout; a zip is streamed
member by member, never extracted. Each sleep file covers ~30 days, the same ``logId`` can sit in two adjacent
files and the file name's date need not match its records. So a cheap first pass lists the dates each file
mentions, files are then parsed in date order, and a date is landed as soon as the last file that mentions it has
been read. Memory therefore holds about two files' worth of logs, whatever the archive's length.

Conflict policy (also in the README, "Importing your Fitbit archive"):

1. **The API wins.** A date whose raw file came from the API (``source="api"``) is never overwritten by an export:
   the API data is the most recently fetched. (A later API fetch overwrites an export day through the landing as
   usual.) A log that the API already landed on another date is dropped from the export, so each ``logId`` ends up
   in one place.
2. **The export fills history** the API never fetched: every date between the archive's first and last night is
   landed; dates without records are landed as fetched-and-empty (only when every sleep file read cleanly, since a
   damaged file could hide records).
3. **A newer archive replaces an older one**, never the reverse: export days are compared by ``fetched_at``, which
   for an archive is its export time (the newest sleep/score member's timestamp), not the time of the import.
4. **Re-importing the same archive changes nothing**: ``fetched_at`` is derived from the archive itself and the
   logs of a date are sorted by (``startTime``, ``logId``), so the landing sees identical payloads and answers
   ``"unchanged"``; nothing downstream is rebuilt.

Records are deduplicated by ``logId`` (the first copy read is kept; copies are counted as duplicates dropped). A copy
is reported as a problem only when it differs in a field the tables use (``transform.table_fields``): copies in
overlapping files routinely differ in ``thirtyDayAvgMinutes`` alone, which no table reads.
Malformed records go through the same quarantine as bad API records: they are landed as they are and the transform
quarantines them with a reason and their raw text. A record that is not an object or has no valid ``dateOfSleep``
is landed on its ``endTime``'s date, else on its file name's date, where the transform quarantines it; it is also
counted in ``records_quarantined`` and listed in the summary's problems. A file that is truncated or corrupt yields
the records before the damage; the rest of the archive imports.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.errors import ArchiveError
from pipeline.import_ledger import record_import
from pipeline.paths import StoragePaths
from pipeline.sleep_scores import land_scores
from pipeline.sources.fitbit_export import reader
from pipeline.sources.fitbit_export.physiology_import import PhysiologyImport
from pipeline.sources.takeout_csv.source import TakeoutCsv
from pipeline.transform import table_fields
from pipeline.writer_lock import writer_lock

SOURCE = "export"
MAX_PROBLEMS = 50  # problems listed individually in a summary; the counts stay exact

# progress(phase, done, total): phase "scan" (finding dates) then "import" (parsing + landing), in sleep files, then
# "physiology" in physiology files.
Progress = Callable[[str, int, int], None]

_LOG_ID_RE = re.compile(rb'"logId"\s*:\s*(\d+)')


@dataclass
class ImportSummary:
    """What an import did; plain fields so the CLI can print it and Dagster can put it in metadata."""

    archive: str
    layout: str = ""
    files: int = 0  # sleep files found
    files_damaged: int = 0  # truncated/corrupt/unreadable sleep files (their intact records were kept)
    logs: int = 0  # unique logs read from the archive
    dates_with_sleep: int = 0  # dates (dateOfSleep) with at least one log (nights are counted in the tables)
    first_date: date | None = None
    last_date: date | None = None
    duplicates_dropped: int = 0
    duplicates_conflicting: int = 0  # duplicates that differ from the copy kept in a field the tables use
    records_quarantined: int = 0  # records that could not be placed on a date
    days_written: int = 0
    days_revised: int = 0
    days_unchanged: int = 0
    days_empty: int = 0  # dates in the archive's span without records, landed as empty
    days_kept_api: int = 0  # dates already landed from the API, left as they are
    days_kept_newer: int = 0  # dates landed from a newer archive, left as they are
    logs_superseded_by_api: int = 0
    scores: int = 0  # sleep score rows in the archive (sleep_score.csv + UserSleepScores)
    parts: int = 1  # archives read together (a split Takeout)
    missing_parts: list[str] = field(default_factory=list)  # numbered parts between those given that were not
    csv_files: int = 0  # Google-era UserSleep*.csv files read
    csv_rows: int = 0  # UserSleeps rows (one per session per algorithm version)
    csv_sessions: int = 0  # physical sessions they describe (v1/v2 paired by time)
    csv_sessions_landed: int = 0  # sessions landed from the CSVs (no legacy log)
    csv_sessions_with_legacy: int = 0  # sessions the legacy JSON also has (the legacy log won)
    csv_scores: int = 0  # sessions scored from UserSleepScores
    scores_state: str = "none"
    # physiology (pipeline.sources.fitbit_export.physiology_import): heart rate, resting HR, HRV, SpO2, BR, skin temp
    physio_files: int = 0  # physiology files found
    physio_files_damaged: int = 0  # of them unreadable or damaged (named in problems; the rest landed)
    physio_days: dict[str, int] = field(default_factory=dict)  # kind -> dates the archive has a document for
    physio_outcomes: dict[str, int] = field(default_factory=dict)  # written / revised / unchanged
    physio_days_kept: int = 0  # dates left as they are: the API's, or a newer archive's
    # kind -> dates whose raw file changed (the physiology tables rebuild these)
    physio_changed_dates: dict[str, list[date]] = field(default_factory=dict)
    physio_other_family: int = 0  # dates both generations had: the other generation's copy was left out
    physio_duplicates: int = 0  # a second document of one kind and date in one generation (first file kept)
    physio_no_reading: int = 0  # rows meaning "no reading": resting HR 0.0 placeholders, SpO2 50, NaN
    physio_rows_unreadable: int = 0  # rows of daily/detail files that could not be read
    hr_samples: int = 0  # heart-rate samples landed
    hr_samples_other_sources: int = 0  # samples of a data source that did not win its day (never added up)
    hr_samples_dropped: int = 0  # unreadable, same-second duplicates, or outside their file's days
    timezone: str | None = None  # the zone the history is read in (see pipeline.timezones)
    timezone_source: str = ""  # where it came from: "--tz", "the archive's profile", ...
    archive_timezone: str | None = None  # the archive profile's zone, when it has one
    profile_user_id: str | None = None
    fetched_at: datetime | None = None
    changed_dates: list[date] = field(default_factory=list)  # dates whose raw file changed: rebuild these
    problems: list[str] = field(default_factory=list)

    @property
    def tables_stale(self) -> bool:
        """Whether ``update_tables`` has work: dates changed, or new scores arrived (even for unchanged dates)."""
        return bool(self.changed_dates) or self.scores_state == "written"

    @property
    def physiology_changed(self) -> list[date]:
        """Every date whose physiology raw file changed, of any kind (the physiology tables rebuild these)."""
        return sorted({day for days in self.physio_changed_dates.values() for day in days})

    def note(self, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)
        elif len(self.problems) == MAX_PROBLEMS:
            self.problems.append("… further problems not listed")


def import_archive(
    paths: StoragePaths,
    path: Path | str | Sequence[Path | str],
    progress: Progress | None = None,
    *,
    tz: str | None = None,
) -> ImportSummary:
    """Land every sleep log (and the sleep scores) of the archive at PATH; see the module docstring for the rules.

    PATH can also be several paths (the parts of a split Takeout, in any order) or a folder holding only zips: they
    are read as one archive (``reader.ArchiveSet``); a numbered part missing between them is reported.
    The Google-era CSVs are read by ``pipeline.sources.takeout_csv`` and merged with the legacy logs per date.

    The time zone of the history is decided first (``pipeline.timezones``: ``tz`` = ``--tz``, then the archive's
    profile, ``FITBIT_SLEEP_TZ``, the zone the tables were built in, the login's): when none is known, nothing is
    landed and :class:`TimezoneUnknown` says which option to pass. ``summary.timezone`` is the zone to build the
    tables in: ``update_tables(paths, summary.changed_dates, tz=summary.timezone)`` (the CLI and the Dagster asset
    do, also when only ``summary.scores_state == "written"``; it rebuilds everything when the zone changed, and the
    scores table after ``sleep_logs``, because the table keeps only the scores whose log is there).
    Raises :class:`ArchiveError` when PATH is not a readable archive or holds no sleep files.
    """
    given = [Path(path)] if isinstance(path, str | Path) else [Path(p) for p in path]
    if not given:
        raise ArchiveError("No archive was given. Pass the zip(s) you downloaded, or their unzipped folder.")
    archives = reader.expand_paths(given)
    with reader.open_archives(archives) as archive:
        contents = reader.discover(archive)
        name = archives[0].name if len(archives) == 1 else f"{archives[0].name} (+{len(archives) - 1} parts)"
        summary = ImportSummary(archive=name, layout=contents.layout, files=len(contents.sleep_files))
        summary.parts = len(archives)
        summary.fetched_at = contents.exported_at
        for missing in reader.missing_parts(archives):
            summary.missing_parts.append(missing)
            summary.note(f"{missing} was not given: import every part of the Takeout together")
        _decide_timezone(paths, archive, contents, summary, tz)
        takeout = TakeoutCsv(archive, contents.csv_files) if contents.csv_files else None
        # under the writer lock: the API-wins precedence is decided on what is on disk, not on a stale read
        with writer_lock(paths, f"importing {name}"):
            _Importer(paths, archive, contents, summary, progress, takeout).run()
            _import_scores(paths, archive, contents, summary, takeout)
            PhysiologyImport(paths, archive, summary, progress).run()
        _keep_profile(paths, summary)
    for one in sorted(
        set(archives) | set(given)
    ):  # the folder given too: the drop-folder sensor asks about it
        record_import(paths, one)
    return summary


class _Importer:
    """One import run: plan (which file completes which date), then parse, dedupe, group and land."""

    def __init__(
        self,
        paths: StoragePaths,
        archive: reader.Archive,
        contents: reader.ArchiveContents,
        summary: ImportSummary,
        progress: Progress | None,
        takeout: TakeoutCsv | None = None,
    ) -> None:
        self.paths = paths
        self.takeout = takeout
        self.hold = takeout.hold_days() if takeout else set()
        self.held: dict[date, list[tuple[Any, str | None]]] = {}  # legacy logs waiting for the CSV merge
        self.member_of: dict[int, str] = {}
        self.archive = archive
        self.contents = contents
        self.summary = summary
        self.progress = progress or (lambda phase, done, total: None)
        self.buffer: dict[date, dict[Any, dict[str, Any]]] = {}
        self.seen: dict[int, date] = {}
        self.landed: set[date] = set()
        self.late: dict[date, dict[Any, Any]] = {}
        self.dates: set[date] = set()  # dates with at least one datable log
        self.api_log_ids: dict[int, date] = {}

    def run(self) -> None:
        from pipeline.landing import land_day  # the landing module owns the raw file format

        self.land_day = land_day
        order, last_file = self._plan()
        self.api_log_ids = _api_log_ids(self.paths)
        total = len(order)
        self.progress("import", 0, total)
        for index, member in enumerate(order):
            self._read_file(member)
            for day in sorted(d for d, last in last_file.items() if last == index and d in self.buffer):
                self._flush(day)
            self.progress("import", index + 1, total)
        for day in sorted(self.buffer):  # dates no file mentioned (records placed by a guessed date)
            self._flush(day)
        if self.takeout is not None:
            self._land_takeout(self.takeout)
        self._land_late()
        if self.dates:
            self.summary.dates_with_sleep = len(self.dates)
            self.summary.first_date, self.summary.last_date = min(self.dates), max(self.dates)
        self._land_empty_days()
        self.summary.changed_dates = sorted(set(self.summary.changed_dates))

    def _plan(self) -> tuple[list[reader.Member], dict[date, int]]:
        """Order the files by the dates they mention and note, per date, the last file that mentions it."""
        dates_of: list[tuple[reader.Member, set[date]]] = []
        total = len(self.contents.sleep_files)
        self.progress("scan", 0, total)
        for done, member in enumerate(self.contents.sleep_files, start=1):
            try:
                with self.archive.open(member) as stream:
                    dates_of.append((member, reader.scan_dates(stream)))
            except reader.UnreadableMember:
                dates_of.append((member, set()))  # reported when it is parsed
            self.progress("scan", done, total)
        dates_of.sort(key=lambda item: (min(item[1]) if item[1] else date.max, item[0].name))
        last_file: dict[date, int] = {}
        for index, (_, dates) in enumerate(dates_of):
            for day in dates:
                last_file[day] = index
        return [member for member, _ in dates_of], last_file

    def _read_file(self, member: reader.Member) -> None:
        """Parse one sleep file as a stream; damage or a file over the limits is noted and the import goes on."""
        parsed = 0
        try:
            with self.archive.open(member) as stream:
                for position, record in enumerate(reader.iter_json_array(stream)):
                    self._add(member, position, record)
                    parsed = position + 1
        except reader.JsonArrayError as exc:
            self.summary.files_damaged += 1
            kept = (
                f"the {exc.parsed} intact records were imported" if exc.parsed else "no record could be read"
            )
            self.summary.note(f"{member.name} {exc}; {kept}")
        except reader.UnreadableMember as exc:
            self.summary.files_damaged += 1
            kept = f"the {parsed} records before it were imported" if parsed else "its records are missing"
            self.summary.note(f"{member.name} {exc}; {kept} and the rest of the archive imports")

    def _add(self, member: reader.Member, position: int, record: Any) -> None:
        where = f"{member.name} record {position + 1}"
        day = _date_of_sleep(record.get("dateOfSleep")) if isinstance(record, dict) else None
        if day is None:
            # It cannot be placed by its own date. Land it on the best guess (its endTime's date, else the file
            # name's date) so the transform quarantines it with its reason and raw text, like a bad API record.
            day = _fallback_day(record, member)
            what = (
                f"(logId {record.get('logId')}) has no valid dateOfSleep"
                if isinstance(record, dict)
                else f"is not a JSON object ({type(record).__name__})"
            )
            self.summary.records_quarantined += 1
            self.summary.note(f"{where} {what}; landed on {day} for the quarantine")
            self._put(day, ("undatable", member.name, position), record)
            return
        log = normalise(record)
        log_id = log.get("logId")
        key: Any
        if isinstance(log_id, int) and not isinstance(log_id, bool):
            if log_id in self.seen:
                self.summary.duplicates_dropped += 1
                kept = self.buffer.get(self.seen[log_id], {}).get(log_id)
                if kept is not None and isinstance(kept, dict) and table_fields(kept) != table_fields(log):
                    self.summary.duplicates_conflicting += 1
                    self.summary.note(
                        f"{where}: logId {log_id} differs from its earlier copy; the first was kept"
                    )
                return
            self.seen[log_id] = day
            self.member_of[log_id] = member.name
            key = log_id
        else:
            key = ("no-log-id", member.name, position)  # landed as is; the transform quarantines it
        self.summary.logs += 1
        self.dates.add(day)
        self._put(day, key, log)

    def _put(self, day: date, key: Any, log: Any) -> None:
        if day in self.landed:  # only a record placed by a guessed date can arrive after its date was landed
            self.late.setdefault(day, {})[key] = log
        else:
            self.buffer.setdefault(day, {})[key] = log

    def _land_late(self) -> None:
        """Land again the dates that received records after they were landed (merged with what was landed)."""
        from pipeline.landing import read_day

        for day in sorted(self.late):
            landed = read_day(self.paths, day)
            logs: dict[Any, Any] = {}
            if landed is not None and landed.get("source") == SOURCE:
                for i, log in enumerate(landed.get("payload", {}).get("sleep", [])):
                    log_id = _log_id(log)
                    logs[log_id if isinstance(log_id, int) else ("landed", i)] = log
            logs.update(self.late[day])
            self._land(day, sorted(logs.values(), key=_log_order), count=False)

    def _flush(self, day: date) -> None:
        logs = sorted(self.buffer.pop(day).values(), key=_log_order)
        kept = [log for log in logs if self.api_log_ids.get(_log_id(log), day) == day]
        self.summary.logs_superseded_by_api += len(logs) - len(kept)
        self.landed.add(day)
        if day in self.hold:
            self.held[day] = [(log, self.member_of.get(_log_id(log) or -1)) for log in kept]
            return
        self._land(day, kept)

    def _land_takeout(self, takeout: TakeoutCsv) -> None:
        """Land the dates the CSVs touch: the held legacy logs merged with one log per CSV session."""
        merged = takeout.merge(self.held)
        for day in sorted(merged):
            logs = sorted(merged[day], key=_log_order)
            self.landed.add(day)
            if logs:
                self.dates.add(day)
            self._land(day, logs)
        stats = takeout.stats
        self.summary.csv_files, self.summary.csv_rows = stats.files, stats.rows
        self.summary.csv_sessions, self.summary.csv_sessions_landed = stats.sessions, stats.landed
        self.summary.csv_sessions_with_legacy = stats.with_legacy
        for problem in stats.problems:
            self.summary.note(problem)

    def _land_empty_days(self) -> None:
        first, last = self.summary.first_date, self.summary.last_date
        if first is None or last is None:
            return
        if self.summary.files_damaged:
            self.summary.note(
                "dates without records were not landed as empty, because a sleep file was damaged"
            )
            return
        day = first
        while day <= last:
            if day not in self.landed:
                self.summary.days_empty += 1
                self._land(day, [])
            day += timedelta(days=1)

    def _land(self, day: date, logs: list[dict[str, Any]], *, count: bool = True) -> None:
        from pipeline.landing import precedence_keeps

        assert self.summary.fetched_at is not None
        kept = precedence_keeps(self.paths.raw_sleep_file(day), SOURCE, self.summary.fetched_at)
        if kept == "api":
            self.summary.days_kept_api += count
            return
        if kept == "newer":
            self.summary.days_kept_newer += count
            return
        outcome = self.land_day(
            self.paths,
            day,
            logs,
            source=SOURCE,
            source_ref=self.summary.archive,
            fetched_at=self.summary.fetched_at,
        )
        if outcome != "unchanged":
            self.summary.changed_dates.append(day)
        if not count:
            return
        if outcome == "unchanged":
            self.summary.days_unchanged += 1
        elif outcome == "revised":
            self.summary.days_revised += 1
        else:
            self.summary.days_written += 1


def normalise(record: dict[str, Any]) -> dict[str, Any]:
    """Map an export record to the API's shape: ``mainSleep`` → ``isMainSleep`` (everything else is identical)."""
    if "mainSleep" not in record:
        return record
    log = {("isMainSleep" if key == "mainSleep" else key): value for key, value in record.items()}
    if "isMainSleep" in record:  # both present: the API's name wins
        log["isMainSleep"] = record["isMainSleep"]
    return log


def _log_order(log: Any) -> tuple[str, str]:
    """Deterministic order of a date's logs (by start, then logId); a non-object record sorts last."""
    if not isinstance(log, dict):
        return ("~", json.dumps(log, sort_keys=True))
    return (str(log.get("startTime", "")), str(log.get("logId", "")))


def _log_id(log: Any) -> Any:
    return log.get("logId") if isinstance(log, dict) else None


def _fallback_day(record: Any, member: reader.Member) -> date:
    """Where a record without a usable dateOfSleep is landed: its endTime's date, else the file name's date."""
    if isinstance(record, dict) and isinstance(record.get("endTime"), str):
        day = _date_of_sleep(record["endTime"][:10])
        if day is not None:
            return day
    match = reader.SLEEP_FILE_RE.search(member.name)
    return date.fromisoformat(match.group(1)) if match else date(1970, 1, 1)


def _date_of_sleep(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _api_log_ids(paths: StoragePaths) -> dict[int, date]:
    """logId → date for every log the API landed, so the export does not place a second copy on another date."""
    from pipeline.landing import landed_files, read_header

    found: dict[int, date] = {}
    for day, raw_file in landed_files(paths):
        try:
            if read_header(raw_file).source == SOURCE:
                continue
            data = raw_file.read_bytes()
        except (OSError, ValueError, KeyError):
            continue
        for match in _LOG_ID_RE.finditer(data):
            found[int(match.group(1))] = day
    return found


def _import_scores(
    paths: StoragePaths,
    archive: reader.Archive,
    contents: reader.ArchiveContents,
    summary: ImportSummary,
    takeout: TakeoutCsv | None,
) -> None:
    if takeout is not None:
        blob = takeout.score_csv()
        summary.csv_scores = takeout.stats.scores
        if blob is not None:
            assert summary.fetched_at is not None
            landed = land_scores(
                paths, [blob], source_ref=f"{summary.archive} UserSleepScores", fetched_at=summary.fetched_at
            )
            summary.scores += landed.rows
            summary.scores_state = landed.state
    if not contents.score_files:
        if takeout is None:
            summary.note("no sleep_score.csv in the archive; the sleep_scores table is unchanged")
        return
    blobs: list[bytes] = []
    for member in contents.score_files:
        try:
            blobs.append(archive.read(member))
        except reader.UnreadableMember as exc:
            summary.note(f"{member.name} {exc}")
    assert summary.fetched_at is not None
    landed = land_scores(paths, blobs, source_ref=summary.archive, fetched_at=summary.fetched_at)
    summary.scores += landed.rows
    if summary.scores_state != "written":
        summary.scores_state = landed.state
    for problem in landed.problems:
        summary.note(problem)


def _decide_timezone(
    paths: StoragePaths,
    archive: reader.Archive,
    contents: reader.ArchiveContents,
    summary: ImportSummary,
    tz: str | None,
) -> None:
    """The zone of the imported history (before anything lands): raises ``TimezoneUnknown`` when none is known."""
    from pipeline.config import valid_timezone
    from pipeline.timezones import resolve_zone

    profile = reader.read_profile(archive, contents.profile_files)
    archive_zone = profile.timezone if profile else None
    if archive_zone and valid_timezone(archive_zone) is None:
        summary.note(f"the profile's time zone {archive_zone!r} is unknown; it was ignored")
        archive_zone = None
    summary.archive_timezone = archive_zone
    summary.profile_user_id = profile.user_id if profile else None
    summary.timezone, summary.timezone_source = resolve_zone(
        paths,
        explicit=tz,
        archive=archive_zone,
        what="The archive has no profile with a time zone (Your Profile/Profile.csv)",
    )


def _keep_profile(paths: StoragePaths, summary: ImportSummary) -> None:
    """Write the zone as the profile when no login wrote one (export-only users): the partitions use it."""
    if paths.profile_file.exists() or not summary.timezone:
        return
    offset = datetime.now(ZoneInfo(summary.timezone)).utcoffset() or timedelta(0)
    doc = {
        "user_id": summary.profile_user_id,
        "timezone": summary.timezone,
        "offset_from_utc_millis": int(offset.total_seconds() * 1000),
    }
    paths.profile_file.parent.mkdir(parents=True, exist_ok=True)
    paths.profile_file.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


__all__ = ["ArchiveError", "ImportSummary", "Progress", "import_archive", "normalise"]
