"""The raw landing of sleep physiology: one file per kind and date holding what one source said about that date,
in the shape the v1.2 Web API answers for that ONE date (so every source, API or archive, maps into the API's shape,
as sleep does).

Kinds and their documents (the v1.2 endpoint of each, `../shared/reference/fitbit-web-api-v1.2.md` §4):

- ``heart_rate_intraday`` (``/1/user/-/activities/heart/date/D/1d/1min.json``, ``1sec`` in archives)::

    {"activities-heart": [{"dateTime": "D", "value": {"restingHeartRate": 58, ...}}],
     "activities-heart-intraday": {"dataset": [{"time": "HH:mm:ss", "value": 63}, ...],
                                   "datasetInterval": 1, "datasetType": "second" | "minute"}}

  ``time`` is the local wall time of that date. One source (one device) per document: a source that mixes devices
  (the Google-era CSV) picks one and names it in ``provenance`` (``{"data_source": "Inspire 3"}``).
- ``heart_rate_daily`` (``/1/user/-/activities/heart/date/A/B.json``, split per date)::

    {"activities-heart": [{"dateTime": "D", "value": {"restingHeartRate": 58, "heartRateZones": [...]}}]}

- ``hrv`` (``/1/user/-/hrv/date/D.json``; the intraday form adds ``"minutes"`` to the entry)::

    {"hrv": [{"dateTime": "D", "value": {"dailyRmssd": 34.9, "deepRmssd": 31.5}}]}

- ``spo2`` (``/1/user/-/spo2/date/D.json``: an object, not wrapped; ``{}`` on a date without a reading; the
  intraday form adds ``"minutes": [{"minute": "D'T'HH:mm:ss", "value": 95.7}, ...]``)::

    {"dateTime": "D", "value": {"avg": 95.7, "min": 94.0, "max": 97.2}}

- ``breathing_rate`` (``/1/user/-/br/date/D/all.json``; the summary endpoint's value is ``{"breathingRate": x}``)::

    {"br": [{"dateTime": "D", "value": {"deepSleepSummary": {"breathingRate": 14.2}, "remSleepSummary": {...},
                                         "lightSleepSummary": {...}, "fullSleepSummary": {...}}}]}

- ``skin_temp`` (``/1/user/-/temp/skin/date/D.json``)::

    {"tempSkin": [{"dateTime": "D", "value": {"nightlyRelative": -0.3}, "logType": "dedicated_temp_sensor"}]}

HRV, SpO2, breathing rate and skin temperature are measured during the main sleep and reported on the date the
sleep ENDED; the tables attach them to the night that ended that day.

File ``raw/physiology/<kind>/date=D.json`` (``.json.gz`` for ``heart_rate_intraday``), header keys first, the
document as canonical JSON (compact, keys sorted: what is hashed is what is stored)::

    {"date", "kind", "source", "source_ref", "fetched_at", "payload_sha256", "state": "final"|"empty",
     "provenance": {...} | null, "payload": <document>}

Why gzip'd JSON per day for intraday heart rate: the date stays the landing's unit (partitions, hashes, revisions,
precedence work exactly as for sleep), the source's own words are kept verbatim as for every other kind, and the
samples (~86k a day at 1 s, repetitive ``{"time":..,"value":..}`` text) shrink about tenfold; the queryable compact
form is the month-compacted Parquet table built from these files, not the raw file. The gzip is written with
``mtime=0``, so re-landing the same day is byte-identical.

Policy (``pipeline.landing.precedence_keeps``, shared with sleep): an API fetch always lands (the most recent API
answer wins); an archive (``source="export"``) never replaces a date another source landed, nor a newer archive's.
Such a date is left alone and reported ``"unchanged"`` (nothing changed on disk).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from pipeline.errors import FitbitSleepError
from pipeline.landing import Outcome, format_fetched_at, land_record, precedence_keeps
from pipeline.paths import StoragePaths
from pipeline.writer_lock import writer_lock

HEART_RATE_INTRADAY = "heart_rate_intraday"
HEART_RATE_DAILY = "heart_rate_daily"
HRV = "hrv"
SPO2 = "spo2"
BREATHING_RATE = "breathing_rate"
SKIN_TEMP = "skin_temp"
KINDS: tuple[str, ...] = (HEART_RATE_INTRADAY, HEART_RATE_DAILY, HRV, SPO2, BREATHING_RATE, SKIN_TEMP)

# the top-level list of each kind's document (spo2 has none: its document is the day's object itself)
_LIST_KEY = {
    HEART_RATE_INTRADAY: "activities-heart",
    HEART_RATE_DAILY: "activities-heart",
    HRV: "hrv",
    BREATHING_RATE: "br",
    SKIN_TEMP: "tempSkin",
}


class PhysiologyDocumentError(FitbitSleepError):
    """A document that is not the v1.2 shape of its kind for its date; nothing is landed."""


def is_compressed(kind: str) -> bool:
    """Whether the kind's raw files are gzip'd (intraday heart rate only: the one large kind)."""
    return kind == HEART_RATE_INTRADAY


def canonical_json(document: dict[str, Any]) -> str:
    """The document as stored and hashed: compact, keys sorted, so a re-serialised but equal answer is no change."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def document_sha256(document: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def _entries(kind: str, document: dict[str, Any]) -> list[Any]:
    if kind == SPO2:
        return [document] if document else []
    entries = document.get(_LIST_KEY[kind], [])
    if not isinstance(entries, list):
        raise PhysiologyDocumentError(f"{kind}: {_LIST_KEY[kind]!r} is not a list")
    return entries


def _check_dates(kind: str, day: date, document: dict[str, Any]) -> None:
    """Every ``dateTime`` in the document is ``day``: a document about another date answers another request."""
    for entry in _entries(kind, document):
        if not isinstance(entry, dict):
            raise PhysiologyDocumentError(f"{kind} {day}: an entry is not an object")
        stated = entry.get("dateTime")
        if stated is not None and stated != day.isoformat():
            raise PhysiologyDocumentError(f"{kind} {day}: the document holds a value dated {stated!r}")


def has_measurement(kind: str, document: dict[str, Any]) -> bool:
    """Whether the document holds the kind's quantity (else the date lands as ``"empty"``: asked, nothing there)."""
    if kind == HEART_RATE_INTRADAY:
        intraday = document.get("activities-heart-intraday")
        return isinstance(intraday, dict) and bool(intraday.get("dataset"))
    entries = _entries(kind, document)
    if kind == HEART_RATE_DAILY:
        return any(isinstance(e.get("value"), dict) and e["value"].get("restingHeartRate") for e in entries)
    if kind == SPO2:
        return bool(document.get("value")) or bool(document.get("minutes"))
    return any(e.get("value") for e in entries)


def land_physiology_day(
    paths: StoragePaths,
    kind: str,
    day: date,
    document: dict[str, Any],
    *,
    source: str,
    source_ref: str | None,
    fetched_at: datetime,
    provenance: dict[str, Any] | None = None,
) -> Outcome:
    """Land what ``source`` said about ``kind`` on ``day``; return ``"written"``, ``"revised"`` or ``"unchanged"``.

    ``document`` is the v1.2 API's answer for that one date (module docstring). ``source`` is ``"api"`` (v1.2),
    ``"google-health"`` or ``"export"`` (any archive: ``source_ref`` = the archive's name, ``fetched_at`` = its
    newest member's time, so a re-import is ``"unchanged"``); ``provenance`` is kept as is (e.g. ``source_family``,
    ``file``, ``data_source``). Takes the data root's writer lock (reentrant: a caller landing many dates may hold
    it around the batch). Raises ``PhysiologyDocumentError`` for an unknown kind or a document about another date.
    """
    if kind not in KINDS:
        raise PhysiologyDocumentError(f"unknown physiology kind {kind!r}; one of {', '.join(KINDS)}")
    if not isinstance(document, dict):
        raise PhysiologyDocumentError(
            f"{kind} {day}: the document is a {type(document).__name__}, not an object"
        )
    _check_dates(kind, day, document)
    target = paths.raw_physiology_file(kind, day)
    with writer_lock(paths, f"landing {kind} {day}"):
        if precedence_keeps(target, source, fetched_at) is not None:
            return "unchanged"
        canonical = canonical_json(document)  # encoded once: hashed, then written as the payload
        record = {
            "date": day.isoformat(),
            "kind": kind,
            "source": source,
            "source_ref": source_ref or "",
            "fetched_at": format_fetched_at(fetched_at),
            "payload_sha256": hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
            "state": "final" if has_measurement(kind, document) else "empty",
            "provenance": provenance,
        }
        return land_record(
            target,
            paths.raw_physiology_revisions_dir(kind, day),
            record,
            compress=is_compressed(kind),
            payload_json=canonical,
        )


def read_physiology_file(path: Path) -> dict[str, Any]:
    """The whole raw record of one landed file (gunzipped when needed)."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return json.loads(data)  # type: ignore[no-any-return]


def read_physiology_day(paths: StoragePaths, kind: str, day: date) -> dict[str, Any] | None:
    """The raw record of ``kind`` on ``day`` (header + ``payload``), or None if it was never landed."""
    try:
        return read_physiology_file(paths.raw_physiology_file(kind, day))
    except FileNotFoundError:
        return None


def landed_physiology_files(paths: StoragePaths, kind: str) -> Iterator[tuple[date, Path]]:
    """Every landed date of ``kind`` and its file, in date order."""
    folder = paths.raw_physiology_dir / kind
    if not folder.is_dir():
        return
    found = []
    for path in folder.glob("date=*.json*"):
        stem = path.name.removeprefix("date=").split(".", 1)[0]
        try:
            found.append((date.fromisoformat(stem), path))
        except ValueError:
            continue
    yield from sorted(found)


class PhysiologyFetchLike(Protocol):
    """What ``pipeline.physiology_fetch.PhysiologyFetch`` offers (a Protocol: the landing does not import the client)."""

    documents: dict[str, dict[date, dict[str, Any]]]
    source_refs: dict[str, dict[date, str]]
    fetched_at: datetime


@dataclass
class PhysiologyLandingResult:
    """What one ``land_physiology_fetch`` did; ``changed_dates`` is what the tables must be updated for."""

    files: int = 0
    written: int = 0
    revised: int = 0
    unchanged: int = 0
    empty: int = 0
    changed_dates: set[date] = field(default_factory=set)


def land_physiology_fetch(
    paths: StoragePaths, fetch: PhysiologyFetchLike, source: str = "api"
) -> PhysiologyLandingResult:
    """Land every document of an API fetch (one per kind and date, empty ones included: asked, nothing measured)."""
    result = PhysiologyLandingResult()
    with writer_lock(paths, "landing physiology"):
        for kind, documents in fetch.documents.items():
            for day, document in sorted(documents.items()):
                outcome = land_physiology_day(
                    paths,
                    kind,
                    day,
                    document,
                    source=source,
                    source_ref=fetch.source_refs.get(kind, {}).get(day),
                    fetched_at=fetch.fetched_at,
                )
                result.files += 1
                result.empty += not has_measurement(kind, document)
                if outcome == "unchanged":
                    result.unchanged += 1
                    continue
                result.changed_dates.add(day)
                if outcome == "revised":
                    result.revised += 1
                else:
                    result.written += 1
    return result
