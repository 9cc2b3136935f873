"""The raw landing: one JSON file per ``dateOfSleep`` holding exactly what the source said about that date.

Why a file per date: the date is the unit the API is re-asked about, the unit Dagster partitions on and the unit the
tables replace. Keeping the source's own words (plus provenance) means every table can be rebuilt from here alone.

File ``raw/sleep/date=YYYY-MM-DD.json`` (compact JSON, header keys first so the state can be read from the first
few hundred bytes without parsing the payload)::

    {"date", "source": "api"|"google-health"|"export", "source_ref", "fetched_at", "payload_sha256",
     "state": "final"|"empty"|"pending", "payload": {"sleep": [...]}}

- ``state="empty"``: fetched, the source had no logs (differs from a missing file = never fetched).
- ``state="pending"``: the API said ``meta.state == "pending"``; the data is not final and is fetched again.
- Re-landing an identical payload (same hash, same state) leaves the file untouched, byte for byte.
- A changed payload first copies the previous file to ``raw/sleep_revisions/date=D/<fetched_at>-<sha12>.json``.

Every write is a temp file in the same directory, fsync'd, then ``os.replace``'d, so a crash never leaves half a file.

The machinery is shared: ``land_record`` (hash compare, revision copy, atomic write, optional gzip) and
``precedence_keeps`` (an archive never replaces what an API fetched, an older archive never a newer one's day) serve
the sleep landing here and the physiology landing (``pipeline.physiology_landing``) alike.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from pipeline.atomic import atomic_write_bytes, remove_stale_temps
from pipeline.errors import FitbitSleepError
from pipeline.paths import StoragePaths
from pipeline.writer_lock import writer_lock

State = Literal["final", "empty", "pending"]
Outcome = Literal["written", "unchanged", "revised"]

Kept = Literal["api", "newer"]

_HEAD_BYTES = 1024
_HEAD_RE = {
    key: re.compile(rf'"{key}":\s*"([^"]*)"')
    for key in ("date", "source", "source_ref", "fetched_at", "state", "payload_sha256")
}
_HEADER_KEYS = ("date", "source", "source_ref", "fetched_at", "state")
ARCHIVE_SOURCE = "export"  # the source name of every archive landing (the archive's name is the source_ref)
_RANGE_RE = re.compile(r"/(\d{4}-\d{2}-\d{2})(?:/(\d{4}-\d{2}-\d{2}))?\.json")


class SleepFetchLike(Protocol):
    """What ``pipeline.client.SleepFetch`` offers; a Protocol so the landing does not import the client."""

    start: date
    end: date
    logs: list[dict[str, Any]]
    pending_dates: set[date]
    fetched_at: datetime
    api_paths: list[str]


def keep_source_pages(paths: StoragePaths, fetch: SleepFetchLike) -> str | None:
    """Store the source's own answers of a mapped fetch (``fetch.raw_pages``, e.g. Google Health API v4 pages)
    under ``raw/source_pages/<source>/``; returns the file's path relative to the data root, used as the landed
    dates' ``source_ref``, or None when the fetch has no such pages (v1.2: the logs are the answer)."""
    pages: list[bytes] = list(getattr(fetch, "raw_pages", None) or [])
    if not pages:
        return None
    source = str(getattr(fetch, "source", "api"))
    body = (
        b'{"source":'
        + json.dumps(source).encode()
        + b',"fetched_at":"'
        + format_fetched_at(fetch.fetched_at).encode()
    )
    body += b'","start":"' + fetch.start.isoformat().encode() + b'","end":"' + fetch.end.isoformat().encode()
    body += b'","pages":[' + b",".join(page.strip() for page in pages) + b"]}\n"
    digest = hashlib.sha256(body).hexdigest()[:12]
    stamp = format_fetched_at(fetch.fetched_at).replace(":", "")
    target = paths.raw_source_pages_dir / source / f"{stamp}-{fetch.start.isoformat()}-{digest}.json"
    atomic_write_bytes(target, body)
    return target.relative_to(paths.root).as_posix()


@dataclass
class LandingResult:
    """What one ``land_fetch`` did. ``changed_dates`` is what the tables must be updated for."""

    dates: list[date] = field(default_factory=list)
    written: int = 0
    unchanged: int = 0
    revised: int = 0
    empty: int = 0
    pending: int = 0
    logs: int = 0
    # records with no readable dateOfSleep inside the range (not objects, malformed or other dates): landed on the
    # best date of the range for the transform's quarantine, never dropped
    misplaced_logs: int = 0
    changed_dates: list[date] = field(default_factory=list)
    emptied: list[date] = field(default_factory=list)  # dates that held logs and are now empty


class AnswerOutsideRange(FitbitSleepError):
    """A fetch holds a log dated outside its own range: it answers another request, so none of it is landed."""


@dataclass(frozen=True)
class RawHeader:
    """The provenance part of a raw file (everything but the payload)."""

    date: date
    source: str
    source_ref: str
    fetched_at: str
    state: str


# --- helpers ------------------------------------------------------------------------------------------------------


def format_fetched_at(moment: datetime) -> str:
    """UTC, second precision, ``Z`` suffix: the one format every raw file and table uses."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _sort_key(log: Any) -> str:
    """Order by ``logId``; anything malformed (kept for the quarantine) orders by its own canonical text."""
    key = log.get("logId") if isinstance(log, dict) else log
    return json.dumps(key, sort_keys=True, ensure_ascii=False)


def payload_sha256(logs: list[dict[str, Any]]) -> str:
    """Hash of the canonical payload. Logs are sorted by ``logId`` first, so the same set of logs in another
    order (the API does not promise an order) is not mistaken for a change."""
    ordered = sorted(logs, key=_sort_key)
    canonical = json.dumps({"sleep": ordered}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _encode(record: dict[str, Any], *, compress: bool = False, payload_json: str | None = None) -> bytes:
    """Compact JSON of ``record``; ``payload_json`` (already encoded by the caller, who hashed it) is spliced in as the
    last key, ``payload``, instead of encoding a large payload twice."""
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    if payload_json is not None:
        text = text[:-1] + ',"payload":' + payload_json + "}"
    data = text.encode("utf-8") + b"\n"
    # mtime=0: the same record gives the same bytes, so an unchanged landing stays byte-identical
    return gzip.compress(data, compresslevel=6, mtime=0) if compress else data


def _head_text(data: bytes) -> str:
    """The first bytes of a raw file as text, gunzipped when it is gzip'd (magic bytes, not the name)."""
    if data[:2] == b"\x1f\x8b":
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
            data = handle.read(_HEAD_BYTES)
    return data[:_HEAD_BYTES].decode("utf-8", errors="replace")


def _header_values(data: bytes, keys: Iterable[str]) -> dict[str, str]:
    """Header fields of a raw file's bytes, from its head; the whole file is parsed only when the head lacks one."""
    head = _head_text(data)
    found = {key: _HEAD_RE[key].search(head) for key in keys}
    if all(found.values()):
        return {key: m.group(1) for key, m in found.items() if m}
    raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    record = json.loads(raw)
    return {key: str(record.get(key, "")) for key in found}


def land_record(
    target: Path,
    revision_dir: Path,
    record: dict[str, Any],
    *,
    compress: bool = False,
    payload_json: str | None = None,
) -> Outcome:
    """Write one raw record (header keys first, ``payload`` last) to ``target``: the one write path of the landing.

    ``"unchanged"`` when the file there has the same ``payload_sha256``, ``state`` and ``source`` (left untouched,
    byte for byte); ``"revised"`` when the payload differs (the previous file is first copied, as it is, to
    ``revision_dir/<fetched_at>-<sha12><suffix>``); ``"written"`` otherwise (first landing, new state or source)."""
    previous: bytes | None = target.read_bytes() if target.exists() else None
    outcome: Outcome = "written"
    if previous is not None:
        old = _header_values(previous, ("payload_sha256", "state", "source", "fetched_at"))
        digest = str(record["payload_sha256"])
        if (old["payload_sha256"], old["state"], old["source"]) == (
            digest,
            record["state"],
            record["source"],
        ):
            return "unchanged"
        if old["payload_sha256"] != digest:
            stamp = (old["fetched_at"] or "unknown").replace(":", "")
            suffix = "".join(target.suffixes[-2:]) if target.name.endswith(".json.gz") else target.suffix
            revision = revision_dir / f"{stamp}-{old['payload_sha256'][:12]}{suffix}"
            if not revision.exists():
                atomic_write_bytes(revision, previous)
            outcome = "revised"
    atomic_write_bytes(target, _encode(record, compress=compress, payload_json=payload_json))
    return outcome


def landed_provenance(raw_file: Path) -> tuple[str, datetime | None] | None:
    """(source, fetched_at) of a landed file, from its head; None if never landed. A damaged file reads as
    source ``"unknown"``: not an archive's to judge, so ``precedence_keeps`` leaves it alone."""
    try:
        values = _header_values(raw_file.read_bytes(), ("source", "fetched_at"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError):
        return ("unknown", None)
    try:
        fetched_at: datetime | None = datetime.fromisoformat(values["fetched_at"])
    except ValueError:
        fetched_at = None
    if fetched_at is not None and fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    return values["source"], fetched_at


def precedence_keeps(raw_file: Path, source: str, fetched_at: datetime) -> Kept | None:
    """Why the landed ``raw_file`` must stay instead of ``source``'s copy fetched at ``fetched_at``, or None.

    The policy (the same for sleep and physiology): an API fetch (any source but ``"export"``) always lands: the
    most recently fetched API data wins. An archive (``"export"``) never replaces a date some other source landed
    (``"api"``), nor a date a newer archive landed (``"newer"``)."""
    if source != ARCHIVE_SOURCE:
        return None
    existing = landed_provenance(raw_file)
    if existing is None:
        return None
    landed_source, landed_at = existing
    if landed_source != ARCHIVE_SOURCE:
        return "api"
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    if landed_at is not None and landed_at > fetched_at:
        return "newer"
    return None


def read_day(paths: StoragePaths, day: date) -> dict[str, Any] | None:
    """The whole raw record of a date, or None if it was never landed."""
    try:
        return json.loads(paths.raw_sleep_file(day).read_bytes())  # type: ignore[no-any-return]
    except FileNotFoundError:
        return None


def read_header(path: Path) -> RawHeader:
    """Provenance of one raw file, read from its first bytes (the full file is parsed only as a fallback)."""
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    values = _header_values(head if _has_all(head) else path.read_bytes(), _HEADER_KEYS)
    return RawHeader(
        date=date.fromisoformat(values["date"]),
        source=values["source"],
        source_ref=values["source_ref"],
        fetched_at=values["fetched_at"],
        state=values["state"],
    )


def _has_all(head: bytes) -> bool:
    """Whether the head bytes of a (plain) raw file hold every header key (a gzip'd head never does)."""
    text = head.decode("utf-8", errors="replace")
    return all(_HEAD_RE[key].search(text) for key in _HEADER_KEYS)


def landed_files(paths: StoragePaths) -> Iterator[tuple[date, Path]]:
    """Every landed date and its file, in date order."""
    if not paths.raw_sleep_dir.is_dir():
        return
    found = []
    for path in paths.raw_sleep_dir.glob("date=*.json"):
        try:
            found.append((date.fromisoformat(path.stem.removeprefix("date=")), path))
        except ValueError:
            continue
    yield from sorted(found)


def dates_needing_fetch(paths: StoragePaths, start: date, end: date) -> list[date]:
    """Dates in ``[start, end]`` never fetched, or fetched while still pending (not final)."""
    needed = []
    day = start
    while day <= end:
        path = paths.raw_sleep_file(day)
        if not path.exists() or read_header(path).state == "pending":
            needed.append(day)
        day += timedelta(days=1)
    return needed


# --- landing ------------------------------------------------------------------------------------------------------


def land_day(
    paths: StoragePaths,
    day: date,
    logs: list[dict[str, Any]],
    *,
    source: str,
    source_ref: str,
    fetched_at: datetime,
    pending: bool = False,
) -> Outcome:
    """Land what ``source`` said about ``day``; return ``"written"``, ``"unchanged"`` or ``"revised"``.

    ``"unchanged"``: same payload hash and same state as the file on disk, which is left untouched (its
    ``fetched_at`` stays the first time this content was seen, so the tables built from it stay byte-identical).
    ``"revised"``: the payload differs; the previous file is kept under ``raw/sleep_revisions/``.
    ``"written"``: first landing of the date, or the same payload with a new state (pending -> final) or from a new
    source (an API fetch confirming an export day takes it over, so the API's claim on the date is recorded and a
    later archive cannot replace it: "the most recently fetched API data wins").
    """
    state: State = "pending" if pending else ("final" if logs else "empty")
    record = {
        "date": day.isoformat(),
        "source": source,
        "source_ref": source_ref,
        "fetched_at": format_fetched_at(fetched_at),
        "payload_sha256": payload_sha256(logs),
        "state": state,
        "payload": {"sleep": logs},
    }
    return land_record(paths.raw_sleep_file(day), paths.raw_revisions_dir / f"date={day.isoformat()}", record)


def _source_ref_for(day: date, api_paths: list[str]) -> str:
    """The API path whose date range covers ``day`` (paths look like ``/1.2/user/-/sleep/date/A/B.json``)."""
    for api_path in api_paths:
        m = _RANGE_RE.search(api_path)
        if not m:
            continue
        first = date.fromisoformat(m.group(1))
        last = date.fromisoformat(m.group(2)) if m.group(2) else first
        if first <= day <= last:
            return api_path.split("?", 1)[0]
    return api_paths[0].split("?", 1)[0] if api_paths else ""


def _daterange(start: date, end: date) -> Iterable[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def _placement(log: Any, start: date, end: date) -> tuple[date, bool]:
    """The date a fetched record lands on, and whether that is its own ``dateOfSleep``.

    A record that cannot be placed by its own date (not an object, no readable ``dateOfSleep``) lands on its
    ``endTime``'s date, else its ``startTime``'s, when that is inside the range, else on the range's last date: the
    transform then quarantines it with its reason and raw text (its ``dateOfSleep`` is not the file's date), so
    nothing the source said is lost and no other date's file is touched. A readable date outside the range means
    the answer is not the one asked for (the client retries such answers): ``AnswerOutsideRange``, nothing lands."""
    if isinstance(log, dict):
        own = _iso_date(log.get("dateOfSleep"))
        if own is not None:
            if not start <= own <= end:
                raise AnswerOutsideRange(
                    f"the answer for {start}..{end} holds logId {log.get('logId')} dated {own}; nothing was landed"
                )
            return own, True
        for key in ("endTime", "startTime"):
            guess = _iso_date(str(log.get(key) or "")[:10])
            if guess is not None and start <= guess <= end:
                return guess, False
    return end, False


def _iso_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


def land_fetch(paths: StoragePaths, fetch: SleepFetchLike) -> LandingResult:
    """Land every date of the fetched range, empty dates included (a range answer with no log for a date is an
    authoritative "nothing that day"). Records that cannot be placed by their own ``dateOfSleep`` are landed for
    the quarantine (``_placement``) and counted in ``misplaced_logs``; dates that held logs and are now empty are
    listed in ``emptied`` so a run can say so."""
    with writer_lock(paths, f"landing {fetch.start}..{fetch.end}"):
        return _land_fetch(paths, fetch)


def _land_fetch(paths: StoragePaths, fetch: SleepFetchLike) -> LandingResult:
    by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
    result = LandingResult()
    remove_stale_temps(paths.raw_sleep_dir)  # a killed landing left its temp; unchanged days write nothing
    source = str(getattr(fetch, "source", "api"))
    for log in fetch.logs:  # all placed before anything is written: an answer outside its range lands nothing
        day, own = _placement(log, fetch.start, fetch.end)
        result.misplaced_logs += not own
        by_day[day].append(log)
    pages_ref = keep_source_pages(paths, fetch)
    for day in _daterange(fetch.start, fetch.end):
        logs = by_day.get(day, [])
        pending = day in fetch.pending_dates
        if not logs and not pending and read_state(paths, day) == "final":
            result.emptied.append(day)
        outcome = land_day(
            paths,
            day,
            logs,
            source=source,
            source_ref=pages_ref or _source_ref_for(day, list(fetch.api_paths)),
            fetched_at=fetch.fetched_at,
            pending=pending,
        )
        result.dates.append(day)
        result.logs += len(logs)
        result.pending += pending
        result.empty += not logs and not pending
        if outcome == "unchanged":
            result.unchanged += 1
        else:
            result.changed_dates.append(day)
            if outcome == "revised":
                result.revised += 1
            else:
                result.written += 1
    return result


def read_state(paths: StoragePaths, day: date) -> str | None:
    """The landed state of ``day`` (``final``/``empty``/``pending``), or None if it was never landed."""
    path = paths.raw_sleep_file(day)
    try:
        return read_header(path).state
    except (FileNotFoundError, ValueError, KeyError):
        return None
