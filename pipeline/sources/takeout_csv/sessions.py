"""One physical sleep session from the v1/v2 CSV rows (and the legacy JSON log, when there is one).

Why pairing by time and not by id: the same session appears once per algorithm version, each with its own 19-digit
``sleep_id``, slightly different bounds and minutes, sometimes another type; nothing links the rows but the time
they cover, and the legacy ``logId`` is unrelated to either ``sleep_id``. The rules (``docs/takeout-2026.md``):

- **Pairing.** v1 rows (and rows with no algorithm version) anchor sessions; each v2 row joins the anchor it
  overlaps most (each anchor takes at most one v2 row); a v2 row that overlaps none is a session of its own. A legacy
  log joins the session it overlaps most, in local time (its ``startTime`` is the v1 row's local start).
- **Winner.** The legacy JSON log when there is one (it is what the API served and what ``sleep_score.csv`` and
  every earlier import know by ``logId``), else the newest algorithm (v2: what Google's app shows now), else v1.
  The losers are kept as ``provenance.alternatives`` and become the ``sleep_alternatives`` table.
- **log_id.** The legacy ``logId`` when there is one; else ``2**62 + sha256("takeout:" + anchor sleep_id) mod 2**62``
  (the anchor is the v1 row, else the v2 row): stable across re-imports and part orders, far above Fitbit's ids.
- **dateOfSleep** is the local date of the session's end, as Fitbit does; local times are UTC + the row's offset.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from pipeline.sources.takeout_csv.rows import SessionRow, StageRow

FAMILY_JSON = "export-json"
FAMILY_CSV = "export-csv"
V1, V2 = "sleep_session_v1", "sleep_session_v2"
_CLASSIC_LEVELS = {"ASLEEP": "asleep", "RESTLESS": "restless", "AWAKE": "awake", "WAKE": "awake"}
_STAGES_LEVELS = {"AWAKE": "wake", "WAKE": "wake", "LIGHT": "light", "DEEP": "deep", "REM": "rem"}
_ID_BASE = 2**62

T = TypeVar("T")
U = TypeVar("U")


@dataclass
class Session:
    """The rows that describe one physical session."""

    anchor: SessionRow
    other: SessionRow | None = None  # the v2 row paired with a v1 anchor
    legacy: dict[str, Any] | None = None  # the legacy JSON log, when the Takeout (or the landing) has one
    legacy_file: str | None = None

    @property
    def rows(self) -> list[SessionRow]:
        return [self.anchor] + ([self.other] if self.other else [])

    @property
    def winner_row(self) -> SessionRow:
        """The CSV row that wins when there is no legacy log: the newest algorithm."""
        return max(self.rows, key=lambda r: (r.version == V2, r.version))

    @property
    def sleep_ids(self) -> dict[str, str]:
        return {row.version: row.sleep_id for row in self.rows}

    @property
    def log_id(self) -> int:
        if self.legacy is not None:
            return int(self.legacy["logId"])
        return derived_log_id(self.anchor.sleep_id)

    @property
    def start_local(self) -> datetime:
        return min(r.start_local for r in self.rows)

    @property
    def date_of_sleep(self) -> str:
        return self.winner_row.end_local.date().isoformat()


@dataclass
class Alternative:
    log_id: int
    version: str  # export-json | sleep_session_v1 | sleep_session_v2
    is_winner: bool
    sleep_id: str | None
    start_local: str
    end_local: str
    minutes_asleep: int
    minutes_awake: int
    type: str
    file: str | None


@dataclass
class Pairing:
    sessions: list[Session] = field(default_factory=list)
    duplicate_rows: int = 0  # the same sleep_id read twice (e.g. in two parts)


def derived_log_id(sleep_id: str) -> int:
    """A stable int64 key for a session that has no legacy ``logId`` (see the module docstring)."""
    digest = hashlib.sha256(f"takeout:{sleep_id}".encode()).digest()
    return _ID_BASE + int.from_bytes(digest[:8], "big") % _ID_BASE


def overlap_seconds(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> float:
    return max(0.0, (min(a_end, b_end) - max(a_start, b_start)).total_seconds())


def match_by_overlap(
    anchors: Sequence[T],
    others: Sequence[U],
    overlap: Callable[[T, U], float],
    pairs: Iterable[tuple[int, int]] | None = None,
) -> tuple[dict[int, int], list[int]]:
    """Greedy one-to-one matching, largest overlap first: {anchor index: other index}, and unmatched others.

    ``pairs`` limits the (anchor, other) index pairs looked at (default: all). Deterministic: ties go to the
    earlier anchor and the earlier other (both lists arrive sorted by start)."""
    candidates = []
    every = ((i, j) for i in range(len(anchors)) for j in range(len(others)))
    for i, j in every if pairs is None else pairs:
        seconds = overlap(anchors[i], others[j])
        if seconds > 0:
            candidates.append((-seconds, i, j))
    candidates.sort()
    taken_a: dict[int, int] = {}
    taken_o: set[int] = set()
    for _, i, j in candidates:
        if i not in taken_a and j not in taken_o:
            taken_a[i] = j
            taken_o.add(j)
    return taken_a, [j for j in range(len(others)) if j not in taken_o]


def pair_rows(rows: Sequence[SessionRow]) -> Pairing:
    """Sessions from the CSV rows of every part: v2 rows joined to the v1 rows they overlap."""
    result = Pairing()
    unique: dict[str, SessionRow] = {}
    for row in sorted(rows, key=lambda r: (r.start_utc, r.sleep_id, r.file)):
        if row.sleep_id in unique:
            result.duplicate_rows += 1
            continue
        unique[row.sleep_id] = row
    anchors = [r for r in unique.values() if r.version != V2]
    newer = [r for r in unique.values() if r.version == V2]
    # Only rows within a day of each other can overlap: match window by window to stay linear in the history.
    matched, lonely = _match_windowed(anchors, newer)
    for i, anchor in enumerate(anchors):
        result.sessions.append(Session(anchor, newer[matched[i]] if i in matched else None))
    result.sessions.extend(Session(newer[j]) for j in lonely)
    result.sessions.sort(key=lambda s: (s.start_local, s.anchor.sleep_id))
    return result


def _match_windowed(anchors: list[SessionRow], newer: list[SessionRow]) -> tuple[dict[int, int], list[int]]:
    """``match_by_overlap`` on clusters of rows whose spans touch (sorted sweep), so the cost stays linear."""
    items = sorted(
        [(r.start_utc, r.end_utc, 0, i) for i, r in enumerate(anchors)]
        + [(r.start_utc, r.end_utc, 1, j) for j, r in enumerate(newer)]
    )
    matched: dict[int, int] = {}
    lonely: list[int] = []
    cluster: list[tuple[Any, Any, int, int]] = []
    cluster_end = None

    def close() -> None:
        a_idx = [i for _, _, kind, i in cluster if kind == 0]
        o_idx = [j for _, _, kind, j in cluster if kind == 1]
        pairs, rest = match_by_overlap(
            [anchors[i] for i in a_idx],
            [newer[j] for j in o_idx],
            lambda a, b: overlap_seconds(a.start_utc, a.end_utc, b.start_utc, b.end_utc),
        )
        matched.update({a_idx[i]: o_idx[j] for i, j in pairs.items()})
        lonely.extend(o_idx[j] for j in rest)

    for item in items:
        if cluster and cluster_end is not None and item[0] >= cluster_end:
            close()
            cluster = []
        cluster.append(item)
        cluster_end = item[1] if cluster_end is None or len(cluster) == 1 else max(cluster_end, item[1])
    if cluster:
        close()
    return matched, sorted(lonely)


def attach_legacy(sessions: list[Session], legacy: list[tuple[dict[str, Any], str | None]]) -> list[int]:
    """Join legacy logs (with their file) to the sessions they overlap in local time; return unmatched indexes."""
    spans: list[tuple[datetime, datetime]] = []
    usable: list[int] = []
    for i, (log, _) in enumerate(legacy):
        span = _legacy_span(log)
        if span is not None:
            spans.append(span)
            usable.append(i)
    by_date: dict[date, list[int]] = {}
    for k, (start, end) in enumerate(spans):
        for day in {start.date(), end.date()}:
            by_date.setdefault(day, []).append(k)
    near = {
        (i, k)
        for i, s in enumerate(sessions)
        for day in (s.start_local.date(), date.fromisoformat(s.date_of_sleep))
        for k in by_date.get(day, [])
    }
    pairs, _ = match_by_overlap(
        sessions,
        spans,
        lambda s, span: overlap_seconds(s.start_local, max(r.end_local for r in s.rows), span[0], span[1]),
        sorted(near),
    )
    taken = set()
    for s_index, k in pairs.items():
        log, file = legacy[usable[k]]
        sessions[s_index].legacy, sessions[s_index].legacy_file = log, file
        taken.add(usable[k])
    return [i for i in range(len(legacy)) if i not in taken]


def _legacy_span(log: Any) -> tuple[datetime, datetime] | None:
    try:
        return datetime.fromisoformat(log["startTime"]), datetime.fromisoformat(log["endTime"])
    except (KeyError, TypeError, ValueError):
        return None


def to_log(session: Session, stages: list[StageRow] | None) -> dict[str, Any]:
    """The canonical v1.2-shaped log of a session without a legacy log (the winning CSV row + its stages)."""
    row = session.winner_row
    classic = row.type == "CLASSIC"
    names = _CLASSIC_LEVELS if classic else _STAGES_LEVELS
    data: list[dict[str, Any]] = []
    for stage in sorted(stages or [], key=lambda s: s.start_utc):
        local = (stage.start_utc + stage.start_offset).replace(tzinfo=None)
        data.append(
            {
                "dateTime": _fmt(local),
                "level": names.get(stage.stage, stage.stage.lower()),
                "seconds": int((stage.end_utc - stage.start_utc).total_seconds()),
            }
        )
    summary: dict[str, dict[str, int]] = {}
    for level in ("asleep", "restless", "awake") if classic else ("deep", "light", "rem", "wake"):
        runs = [seg for seg in data if seg["level"] == level]
        summary[level] = {"count": len(runs), "minutes": sum(int(seg["seconds"]) for seg in runs) // 60}
    in_bed = row.minutes_in_period or int((row.end_utc - row.start_utc).total_seconds()) // 60
    log: dict[str, Any] = {
        "dateOfSleep": session.date_of_sleep,
        "duration": int((row.end_utc - row.start_utc).total_seconds() * 1000),
        "efficiency": round(100 * row.minutes_asleep / in_bed) if in_bed else 0,
        "endTime": _fmt(row.end_local),
        "levels": {"data": data, "summary": summary},
        "logId": session.log_id,
        "logType": "manual" if row.data_source == "MANUAL" else "auto_detected",
        "minutesAfterWakeup": row.minutes_after_wake_up,
        "minutesAsleep": row.minutes_asleep,
        "minutesAwake": row.minutes_awake,
        "minutesToFallAsleep": row.minutes_to_fall_asleep,
        "startTime": _fmt(row.start_local),
        "timeInBed": in_bed,
        "type": "classic" if classic else "stages",
    }
    log["provenance"] = provenance(session, FAMILY_CSV, row.file, row.version)
    return log


def with_provenance(session: Session) -> dict[str, Any]:
    """The legacy log of a session, with the CSV rows that describe it recorded as alternatives."""
    assert session.legacy is not None
    log = dict(session.legacy)
    log["provenance"] = provenance(session, FAMILY_JSON, session.legacy_file, None)
    return log


def provenance(session: Session, family: str, file: str | None, version: str | None) -> dict[str, Any]:
    """Where the winning description came from, the Google ids, and every description of the session."""
    return {
        "family": family,
        "file": file,
        "algorithmVersion": version,
        "sleepIds": dict(sorted(session.sleep_ids.items())),
        "alternatives": [alt.__dict__ for alt in alternatives(session)],
    }


def alternatives(session: Session) -> list[Alternative]:
    """Every description of the session (legacy log, v1 row, v2 row), the winner marked."""
    out: list[Alternative] = []
    winner = "export-json" if session.legacy is not None else session.winner_row.version
    if session.legacy is not None:
        legacy = session.legacy
        out.append(
            Alternative(
                session.log_id,
                "export-json",
                True,
                None,
                str(legacy.get("startTime")),
                str(legacy.get("endTime")),
                int(legacy.get("minutesAsleep") or 0),
                int(legacy.get("minutesAwake") or 0),
                str(legacy.get("type")),
                session.legacy_file,
            )
        )
    for row in sorted(session.rows, key=lambda r: r.version):
        out.append(
            Alternative(
                session.log_id,
                row.version,
                row.version == winner,
                row.sleep_id,
                _fmt(row.start_local),
                _fmt(row.end_local),
                row.minutes_asleep,
                row.minutes_awake,
                row.type.lower(),
                row.file,
            )
        )
    return out


def _fmt(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")
