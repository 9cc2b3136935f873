"""Land the physiology files of an archive (both generations) through the physiology landing.

Why a step of the archive import and not an import of its own: one ``fitbit-sleep import`` lands sleep AND
physiology of the same archive, with the same time zone (heart-rate samples are UTC and become local days), the same
``source="export"``, ``source_ref`` (the archive's name) and ``fetched_at`` (the archive's export time: a re-import
is ``"unchanged"``), and the same precedence (an archive never replaces a date the API landed, nor a newer archive's).

Which file wins when both generations describe a date (one document per kind and date, never a sum):
- intraday heart rate: the legacy ``heart_rate-*.json`` (one device's stream) when it has the day, else the
  Google-era ``heart_rate_*.csv`` (one data source chosen per day, see ``pipeline.sources.heart_rate_days``);
- resting heart rate: the legacy ``resting_heart_rate-*.json`` (the Google-era Takeout has none);
- HRV, SpO2, breathing rate, skin temperature: the Google-era CSV's summary when it has the date (it names its data
  source and carries ``deepRmssd`` and per-stage breathing rates), else the classic export's; the classic detail
  files' ``minutes`` join the date's document either way (as in the API's intraday form), never a second summary.

Memory: daily kinds are a row a day (held per kind); heart-rate files are read one at a time into Arrow arrays and
each local day is landed as soon as it is complete (see ``HeartRateDays``), so about two days of samples are held.
A file that cannot be read is one problem line naming it; its days are missing and the rest lands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from pipeline.paths import StoragePaths
from pipeline.sources import physiology_shapes as shapes
from pipeline.sources.fitbit_export import physiology as legacy
from pipeline.sources.fitbit_export import reader
from pipeline.sources.heart_rate_days import HeartRateDays
from pipeline.sources.takeout_csv import physiology as google

if TYPE_CHECKING:
    from pipeline.sources.fitbit_export.importer import ImportSummary

SOURCE = "export"
FileReader = Callable[[bytes, str, str], shapes.ReadResult]


@dataclass
class PhysiologyMembers:
    """The physiology files of an archive, by reader."""

    heart_rate_json: list[reader.Member] = field(default_factory=list)
    heart_rate_csv: list[reader.Member] = field(default_factory=list)
    resting_json: list[tuple[reader.Member, FileReader]] = field(default_factory=list)
    classic_csv: list[tuple[reader.Member, FileReader]] = field(default_factory=list)
    google_csv: list[tuple[reader.Member, FileReader]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return (
            len(self.heart_rate_json)
            + len(self.heart_rate_csv)
            + len(self.resting_json)
            + len(self.classic_csv)
            + len(self.google_csv)
        )


def discover_physiology(members: Iterable[reader.Member]) -> PhysiologyMembers:
    """Find the physiology files by name pattern, in any layout; heart-rate files in date order."""
    found = PhysiologyMembers()
    for member in members:
        name = member.name
        if legacy.HEART_RATE_JSON_RE.search(name):
            found.heart_rate_json.append(member)
        elif legacy.RESTING_HR_JSON_RE.search(name):
            found.resting_json.append((member, _resting))
        elif google.HEART_RATE_CSV_RE.search(name):
            found.heart_rate_csv.append(member)
        else:
            for readers, into in (
                (legacy.CLASSIC_CSV_READERS, found.classic_csv),
                (google.GOOGLE_CSV_READERS, found.google_csv),
            ):
                match = next((read for pattern, read in readers if pattern.search(name)), None)
                if match is not None:
                    into.append((member, match))
                    break
    found.heart_rate_json.sort(
        key=lambda m: (legacy.file_date(m.name, legacy.HEART_RATE_JSON_RE) or date.min, m.name)
    )
    found.heart_rate_csv.sort(
        key=lambda m: (legacy.file_date(m.name, google.HEART_RATE_CSV_RE) or date.min, m.name)
    )
    return found


class PhysiologyImport:
    """One archive's physiology: read every file, choose one document per kind and date, land, count."""

    def __init__(
        self,
        paths: StoragePaths,
        archive: reader.Archive,
        summary: ImportSummary,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> None:
        assert summary.timezone is not None and summary.fetched_at is not None
        self.paths = paths
        self.archive = archive
        self.summary = summary
        self.zone: str = summary.timezone
        self.fetched_at: datetime = summary.fetched_at
        self.progress = progress or (lambda phase, done, total: None)
        self.members = discover_physiology(archive.members)
        self.done = 0

    def run(self) -> None:
        from pipeline.physiology_landing import land_physiology_day

        self.land_physiology_day = land_physiology_day
        self.summary.physio_files = self.members.count
        if not self.members.count:
            return
        self.progress("physiology", 0, self.members.count)
        daily = self._daily_documents()
        for document in daily:
            self._land(document)
        legacy_days = set(self._land_heart_rate(self.members.heart_rate_json, legacy.FAMILY, _legacy_hr))
        self._land_heart_rate(self.members.heart_rate_csv, google.FAMILY, _google_hr, skip=legacy_days)

    def _read(
        self, member: reader.Member, read: Callable[[bytes], shapes.ReadResult]
    ) -> shapes.ReadResult | None:
        """One file through its reader; damage and unreadable files are one problem line each."""
        try:
            data = self.archive.read(member)
        except reader.UnreadableMember as exc:
            self.summary.physio_files_damaged += 1
            self.summary.note(
                f"{member.name} {exc}; its physiology is missing and the rest of the archive imports"
            )
            return None
        finally:
            self.done += 1
            self.progress("physiology", self.done, self.members.count)
        result = read(data)
        if result.damage:
            self.summary.physio_files_damaged += 1
            kept = (
                "the rows before the damage were imported"
                if _has_rows(result)
                else "nothing in it could be read"
            )
            self.summary.note(f"{member.name} {result.damage}; {kept}")
        self.summary.physio_no_reading += result.no_reading
        if result.unreadable:
            self.summary.physio_rows_unreadable += result.unreadable
            self.summary.note(f"{member.name}: {result.unreadable} rows could not be read and were skipped")
        return result

    def _daily_documents(self) -> list[shapes.DayDocument]:
        """The daily kinds' documents: each family combined per date, then the families in order of precedence
        (Google CSV, classic CSVs, resting-HR JSON): the first family's document of a date wins, a later one adds
        only what it lacks (the classic HRV/SpO2 detail ``minutes`` next to a Google-era summary)."""
        families: list[shapes.DayDocument] = []
        for group in (self.members.google_csv, self.members.classic_csv, self.members.resting_json):
            documents: list[shapes.DayDocument] = []
            for member, read in group:
                result = self._read(member, lambda data, r=read, n=member.name: r(data, n, self.zone))  # type: ignore[misc]
                documents.extend(result.documents if result else [])
            combined, dropped = shapes.combine(documents)
            self.summary.physio_duplicates += dropped
            families.extend(combined)
        chosen, overlapping = shapes.combine(families)
        self.summary.physio_other_family += overlapping
        return chosen

    def _land_heart_rate(
        self,
        members: list[reader.Member],
        family: str,
        read: Callable[[bytes], shapes.ReadResult],
        skip: set[date] | None = None,
    ) -> list[date]:
        """Read the heart-rate files in date order, landing each local day once it is complete; return the days."""
        days = HeartRateDays(self.zone, family)
        pattern = legacy.HEART_RATE_JSON_RE if family == legacy.FAMILY else google.HEART_RATE_CSV_RE
        landed: list[date] = []

        def land(documents: Iterable[shapes.DayDocument]) -> None:
            for document in documents:
                if skip and document.day in skip:
                    self.summary.physio_other_family += 1
                    continue
                self._land(document)
                self.summary.hr_samples += document.samples
                landed.append(document.day)

        for member in members:
            result = self._read(member, read)
            if result is not None and result.samples is not None:
                days.add(result.samples, member.name)
            file_day = legacy.file_date(member.name, pattern)
            if file_day is not None:
                land(days.complete(before=file_day))
        land(days.finish())
        counts = days.counts
        self.summary.hr_samples_other_sources += counts.other_source_samples
        self.summary.hr_samples_dropped += counts.duplicates + counts.strays + counts.unreadable
        if counts.strays:
            self.summary.note(
                f"{counts.strays} heart-rate samples of {family} files fell on days already imported from earlier "
                "files (a file out of place?); they were left out"
            )
        return landed

    def _land(self, document: shapes.DayDocument) -> None:
        from pipeline.landing import precedence_keeps
        from pipeline.physiology_landing import PhysiologyDocumentError

        kind, day = document.kind, document.day
        self.summary.physio_days[kind] = self.summary.physio_days.get(kind, 0) + 1
        if precedence_keeps(self.paths.raw_physiology_file(kind, day), SOURCE, self.fetched_at) is not None:
            self.summary.physio_days_kept += 1
            return
        try:
            outcome = self.land_physiology_day(
                self.paths,
                kind,
                day,
                document.document,
                source=SOURCE,
                source_ref=self.summary.archive,
                fetched_at=self.fetched_at,
                provenance=document.provenance,
            )
        except PhysiologyDocumentError as exc:
            self.summary.note(f"{document.provenance.get('file')}: {exc}; that date was not imported")
            return
        self.summary.physio_outcomes[outcome] = self.summary.physio_outcomes.get(outcome, 0) + 1
        if outcome != "unchanged":
            self.summary.physio_changed_dates.setdefault(kind, []).append(day)


def _resting(data: bytes, file: str, zone: str) -> shapes.ReadResult:
    return legacy.read_resting_heart_rate(data, file)


def _legacy_hr(data: bytes) -> shapes.ReadResult:
    return legacy.read_heart_rate_json(data)


def _google_hr(data: bytes) -> shapes.ReadResult:
    return google.read_heart_rate_csv(data)


def _has_rows(result: shapes.ReadResult) -> bool:
    return bool(result.documents) or (result.samples is not None and len(result.samples) > 0)


__all__ = ["PhysiologyImport", "discover_physiology"]
