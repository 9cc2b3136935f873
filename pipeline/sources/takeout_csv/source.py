"""The CSV half of a Google-era Takeout, as the archive importer uses it: read, pair, merge with legacy, score.

Why it plugs into the archive importer instead of landing on its own: a night can be described by a legacy JSON log
*and* CSV rows in the same Takeout, and a landed day holds all logs of its date, so the two must be merged before a
day is landed, or a re-import would write the day twice (legacy first, then legacy + CSV) and never be
"unchanged". The importer therefore holds back the legacy logs of the dates the CSVs touch (``hold_days``), and
``merge`` returns, per date, the one log per physical session that is landed (``sessions`` has the rules).

Memory: the CSV rows of the whole Takeout are held (sessions and scores parsed, stage rows as text until their
session is built: the sandbox's 3-year Takeout has ~230,000 stage rows, ~25 MB of CSV); the legacy JSON stays
streamed as before.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from pipeline.sleep_scores import CSV_ID, CSV_TIMESTAMP, INT_COLUMNS
from pipeline.sources.takeout_csv import rows as csv_rows
from pipeline.sources.takeout_csv import sessions as pairing

# sleep_score.csv's columns: UserSleepScores rows are landed in that shape, keyed by the session's log_id.
SCORE_CSV_HEADER = [CSV_ID, CSV_TIMESTAMP, *INT_COLUMNS, "restlessness"]


class MemberSource(Protocol):
    """What this module needs from an archive (``fitbit_export.reader.Archive`` fits)."""

    def read(self, member: Any) -> bytes: ...


@dataclass
class CsvStats:
    """What the CSVs held and how they were merged; copied into the import summary."""

    files: int = 0
    rows: int = 0  # UserSleeps rows read
    sessions: int = 0  # physical sessions after pairing v1/v2
    one_version: int = 0  # sessions described by a single CSV row
    with_legacy: int = 0  # sessions that the legacy JSON also holds (the legacy log won)
    landed: int = 0  # sessions landed from the CSV (no legacy log)
    without_stages: int = 0  # sessions whose stage rows were in no given part
    orphan_stages: int = 0  # sleep_ids with stage rows but no session row in the given parts
    scores: int = 0  # sessions with a UserSleepScores score
    problems: list[str] = field(default_factory=list)


class TakeoutCsv:
    """The CSV members of a Takeout, read once; ``merge`` pairs them with the legacy logs held back."""

    def __init__(self, archive: MemberSource, members: list[Any]) -> None:
        self.parsed = csv_rows.ParsedRows()
        self.stats = CsvStats()
        for member in members:
            name = getattr(member, "name", str(member))
            for pattern, read in csv_rows.READERS:
                if pattern.search(name):
                    try:
                        data = archive.read(member)
                    except Exception as exc:  # UnreadableMember: one member, reported, the rest imports
                        self.stats.problems.append(f"{name} {exc}; its rows are missing from the import")
                        break
                    read(name, data, self.parsed)
                    self.stats.files += 1
                    break
        self.stats.rows = len(self.parsed.sessions)
        paired = pairing.pair_rows(self.parsed.sessions)
        self.sessions = paired.sessions
        self.stats.sessions = len(self.sessions)
        self.stats.one_version = sum(1 for s in self.sessions if s.other is None)
        self.stats.problems.extend(self.parsed.problems)
        if self.parsed.rejected > len(self.parsed.problems):
            self.stats.problems.append(f"{self.parsed.rejected} CSV rows could not be read in all")

    @property
    def dates(self) -> set[date]:
        return {date.fromisoformat(s.date_of_sleep) for s in self.sessions}

    def hold_days(self) -> set[date]:
        """Dates whose legacy logs must wait for ``merge``: a session's date and the dates next to it (a legacy log
        of the same session can end on the other side of midnight)."""
        return {d + timedelta(days=k) for d in self.dates for k in (-1, 0, 1)}

    def merge(self, legacy: dict[date, list[tuple[Any, str | None]]]) -> dict[date, list[Any]]:
        """Per date, the logs to land: legacy logs (with provenance when CSV rows describe them too) and one
        canonical log per CSV-only session."""
        flat = [(log, file, day) for day in sorted(legacy) for log, file in legacy[day]]
        spare = set(pairing.attach_legacy(self.sessions, [(log, file) for log, file, _ in flat]))
        out: dict[date, list[Any]] = {day: [] for day in legacy}
        for session in self.sessions:
            if session.legacy is not None:
                self.stats.with_legacy += 1
                log = pairing.with_provenance(session)
                day = date.fromisoformat(str(log["dateOfSleep"]))
            else:
                winner_stages = self.parsed.stage_rows(session.winner_row.sleep_id)
                if not winner_stages:
                    self.stats.without_stages += 1
                log = pairing.to_log(session, winner_stages if winner_stages else None)
                self.stats.landed += 1
                day = date.fromisoformat(session.date_of_sleep)
            out.setdefault(day, []).append(log)
        for index in sorted(spare):  # legacy logs no CSV row describes stay on the date they were read for
            log, _, day = flat[index]
            out[day].append(log)
        known = {sid for s in self.sessions for sid in s.sleep_ids.values()}
        self.stats.orphan_stages = sum(1 for sid in self.parsed.stages if sid not in known)
        if self.stats.without_stages:
            self.stats.problems.append(
                f"{self.stats.without_stages} sessions have no stage rows in the parts given (a "
                "UserSleepStages file is in a part that was not imported?); they were imported without stages. "
                "Import every part of the Takeout together to add them."
            )
        if self.stats.orphan_stages:
            self.stats.problems.append(
                f"stage rows of {self.stats.orphan_stages} sessions have no UserSleeps row in the parts given "
                "(a part is missing?); they were left out"
            )
        return out

    def score_csv(self) -> bytes | None:
        """The UserSleepScores rows as ``sleep_score.csv`` rows keyed by each session's log_id (after ``merge``):
        the winning version's score, else the other version's; ``-1`` sub-scores are empty (NULL)."""
        lines: list[list[str]] = []
        for session in self.sessions:
            order = [session.winner_row] + [r for r in session.rows if r is not session.winner_row]
            score = next(
                (self.parsed.scores[r.sleep_id] for r in order if r.sleep_id in self.parsed.scores), None
            )
            if score is None:
                continue
            lines.append(
                [
                    str(session.log_id),
                    score.score_time_local.isoformat(timespec="seconds"),
                    _cell(score.overall),
                    _cell(score.composition),
                    _cell(score.revitalization),
                    _cell(score.duration),
                    _cell(score.deep_minutes),
                    _cell(score.resting_heart_rate),
                    _cell(score.restlessness),
                ]
            )
        self.stats.scores = len(lines)
        if not lines:
            return None
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(SCORE_CSV_HEADER)
        lines.sort(key=lambda line: (line[1], line[0]))
        writer.writerows(lines)
        return out.getvalue().encode()


def _cell(value: float | int | None) -> str:
    if value is None:
        return ""
    return str(value)
