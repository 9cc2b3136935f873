"""The v1.2 API's per-date physiology documents, built from what an archive holds.

Why one module for every source family: each archive generation spells the same quantity differently (a legacy
``heart_rate-*.json`` sample, a Google-era ``heart_rate_*.csv`` row, a classic ``Daily SpO2`` row), but the landing
keeps one raw form per kind, the shape the API returns for ONE date (``fitbit-web-api-v1.2.md`` §4). So every reader
maps into these builders and nothing downstream knows which file a value came from, except through ``provenance``
(``source_family``, ``file``, ``data_source``).

Rules shared by every reader (also in ``docs/physiology-archives.md``):
- a value that means "no reading" (SpO2 exactly 50, ``NaN``, a resting HR of 0.0) gives no field, and a day with no
  field left gives no document: the API omits such days too;
- numbers are kept as the archive writes them (a resting HR of 63.6 stays 63.6; the API rounds to 63).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

# The landing's kinds: the readers produce only these (plus the two parts below).
from pipeline.physiology_landing import (
    BREATHING_RATE,
    HRV,
    SKIN_TEMP,
    SPO2,
)

# Readers' parts that are not kinds of their own: the API's intraday form of HRV and SpO2 adds "minutes" to the same
# document, so the detail files' minutes are merged into the date's summary document (``combine``).
HRV_INTRADAY = "hrv_intraday"
SPO2_INTRADAY = "spo2_intraday"
_PART_OF = {HRV_INTRADAY: HRV, SPO2_INTRADAY: SPO2}

SPO2_NO_READING = 50.0  # Google's "no reading" sentinel in every SpO2 file (real-fitbit-data.md §3)
NIGHT_GAP = timedelta(hours=3)  # detail rows further apart than this belong to different nights
BR_STAGES = (
    "deep",
    "light",
    "rem",
    "full",
)  # -> deepSleepSummary, lightSleepSummary, remSleepSummary, fullSleepSummary


@dataclass
class ReadResult:
    """What one file gave: day documents (daily kinds) or samples (heart rate), and what could not be used."""

    documents: list[DayDocument] = field(default_factory=list)
    samples: pa.Table | None = None
    no_reading: int = 0  # rows that mean "no reading" (placeholders, sentinels, NaN)
    unreadable: int = 0  # rows that could not be read
    damage: str | None = None  # the file is damaged; the rows before the damage were kept


@dataclass
class DayDocument:
    """One date's document of one kind, ready for ``land_physiology_day``, with where it came from."""

    kind: str
    day: date
    document: dict[str, Any]
    provenance: dict[str, Any] = field(default_factory=dict)
    samples: int = 1  # rows of the archive it holds (intraday: samples; daily kinds: 1)


def number(value: Any) -> float | None:
    """A finite float from a cell or a JSON value (``''``, ``NaN``, ``null``, text -> None)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def spo2_value(value: Any) -> float | None:
    """An SpO2 percentage, or None for an empty cell or the 50 sentinel."""
    out = number(value)
    return None if out is None or out == SPO2_NO_READING else out


def _compact(values: dict[str, float | None]) -> dict[str, float]:
    return {key: value for key, value in values.items() if value is not None}


def heart_rate_intraday(day: date, times: Sequence[str], bpm: Sequence[int]) -> dict[str, Any]:
    """``activities/heart/date/D/1d/1sec``: local ``HH:mm:ss`` times of one date, in time order."""
    return {
        "activities-heart": [
            {"dateTime": day.isoformat(), "value": {"customHeartRateZones": [], "heartRateZones": []}}
        ],
        "activities-heart-intraday": {
            "dataset": [{"time": t, "value": v} for t, v in zip(times, bpm, strict=True)],
            "datasetInterval": 1,
            "datasetType": "second",
        },
    }


def heart_rate_daily(day: date, value: float) -> dict[str, Any]:
    """``activities/heart/date/D/1d``: the day's resting heart rate (no zones: archives have none)."""
    return {
        "activities-heart": [
            {
                "dateTime": day.isoformat(),
                "value": {"customHeartRateZones": [], "heartRateZones": [], "restingHeartRate": value},
            }
        ]
    }


def hrv(day: date, daily: float | None, deep: float | None) -> dict[str, Any] | None:
    value = _compact({"dailyRmssd": daily, "deepRmssd": deep})
    return {"hrv": [{"value": value, "dateTime": day.isoformat()}]} if "dailyRmssd" in value else None


def hrv_intraday(day: date, minutes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """``hrv/date/D/all``: ``minutes`` = ``{"minute": local ISO, "value": {rmssd, coverage, hf, lf}}`` rows (a part:
    ``combine`` merges it into the date's ``hrv`` document)."""
    return {"hrv": [{"minutes": minutes, "dateTime": day.isoformat()}]} if minutes else None


def spo2(day: date, avg: float | None, low: float | None, high: float | None) -> dict[str, Any] | None:
    value = _compact({"avg": avg, "min": low, "max": high})
    return {"dateTime": day.isoformat(), "value": value} if "avg" in value else None


def spo2_intraday(day: date, minutes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """``spo2/date/D/all``: ``minutes`` = ``{"value": pct, "minute": local ISO}`` rows (sentinels already out; a part
    merged into the date's ``spo2`` document by ``combine``)."""
    return {"dateTime": day.isoformat(), "minutes": minutes} if minutes else None


def breathing_rate(
    day: date, full: float | None, stages: dict[str, float | None] | None = None
) -> dict[str, Any] | None:
    """``br/date/D/all``: ``fullSleepSummary`` and the ``<stage>SleepSummary`` the archive has; ``breathingRate``
    (the summary endpoint's name for the full sleep's rate) is kept too, so either reading finds it."""
    if full is None:
        return None
    value: dict[str, Any] = {"breathingRate": full, "fullSleepSummary": {"breathingRate": full}}
    for stage, rate in (stages or {}).items():
        if rate is not None:
            value[f"{stage}SleepSummary"] = {"breathingRate": rate}
    return {"br": [{"value": value, "dateTime": day.isoformat()}]}


def skin_temp(day: date, relative: float | None) -> dict[str, Any] | None:
    """``temp/skin/date/D``: ``nightlyRelative`` = the night's deviation from the personal baseline (°C)."""
    if relative is None:
        return None
    return {"tempSkin": [{"dateTime": day.isoformat(), "value": {"nightlyRelative": round(relative, 3)}}]}


def csv_records(data: bytes) -> list[dict[str, str]]:
    """The rows of a small physiology CSV (daily summaries: a row a day) with lower-case, trimmed column names.

    Raises ``ValueError`` when the file is not UTF-8 CSV text."""
    import csv
    import io

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"is not UTF-8 text ({exc.reason})") from None
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
    except csv.Error as exc:
        raise ValueError(f"is not a readable CSV ({exc})") from None
    return [
        {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        for row in rows
    ]


def label_date(stamp: str) -> date | None:
    """The date a daily row is labelled with: ``2026-04-10T00:00:00Z`` and ``2026-04-10`` both mean local 04-10
    (the Google CSVs write the local date at midnight with a ``Z`` that is not UTC)."""
    try:
        return date.fromisoformat(stamp.strip()[:10])
    except ValueError:
        return None


def local_datetime(stamp: str, zone: str) -> datetime | None:
    """A row's wall-clock time in the history's zone: an instant (``Z`` / ``+0000`` / ``-04:00``) is converted,
    a time without a zone is already local (the classic exports' detail files)."""
    try:
        parsed = datetime.fromisoformat(stamp.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed
    return parsed.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def night_groups(
    rows: list[tuple[datetime, dict[str, Any]]], gap: timedelta = NIGHT_GAP
) -> dict[date, list[dict[str, Any]]]:
    """Rows of detail files (5-min HRV, minute SpO2; local times) grouped by the date their night ENDED, the date
    the API reports them on: rows more than ``gap`` apart belong to different nights."""
    out: dict[date, list[dict[str, Any]]] = {}
    night: list[tuple[datetime, dict[str, Any]]] = []
    for when, row in sorted(rows, key=lambda item: item[0]):
        if night and when - night[-1][0] > gap:
            out.setdefault(night[-1][0].date(), []).extend(r for _, r in night)
            night = []
        night.append((when, row))
    if night:
        out.setdefault(night[-1][0].date(), []).extend(r for _, r in night)
    return out


def _entry(kind: str, document: dict[str, Any]) -> dict[str, Any]:
    """The one dated entry of a document (spo2's document is its entry)."""
    if kind == SPO2:
        return document
    key = {HRV: "hrv", BREATHING_RATE: "br", SKIN_TEMP: "tempSkin"}.get(kind, "activities-heart")
    entry: dict[str, Any] = document[key][0]
    return entry


def combine(documents: list[DayDocument]) -> tuple[list[DayDocument], int]:
    """One document per (kind, date), the first given winning: a later document of the same date adds only the
    keys the first lacks (a detail file's ``minutes`` join their date's summary, as in the API's intraday form);
    a key both have stays the first's (a second summary of the date is dropped, never mixed in).
    Returns the documents in (kind, date) order and how many later documents lost a key that way."""
    out: dict[tuple[str, date], DayDocument] = {}
    dropped = 0
    for doc in documents:
        kind = _PART_OF.get(doc.kind, doc.kind)
        key = (kind, doc.day)
        kept = out.get(key)
        if kept is None:
            out[key] = DayDocument(kind, doc.day, doc.document, dict(doc.provenance), doc.samples)
            continue
        kept_entry, new_entry = _entry(kind, kept.document), _entry(kind, doc.document)
        added = {k: v for k, v in new_entry.items() if k not in kept_entry}
        dropped += len(added) < len(new_entry) - ("dateTime" in new_entry)
        if not added:
            continue
        kept_entry.update(added)
        files = [f for f in (kept.provenance.get("file"), doc.provenance.get("file")) if f]
        kept.provenance["file"] = ", ".join(dict.fromkeys(files))
        kept.samples += doc.samples
    return [out[key] for key in sorted(out)], dropped


def label_day(row: dict[str, str]) -> date | None:
    """A daily row's date label (its ``timestamp`` cell, see ``label_date``)."""
    return label_date(row.get("timestamp", ""))


DATA_SOURCE = "data source"


def daily_documents(
    data: bytes,
    file: str,
    family: str,
    day_of: Callable[[dict[str, str]], date | None],
    build: Callable[[date, dict[str, str]], tuple[str, dict[str, Any] | None]],
) -> ReadResult:
    """A CSV with a row per date (and maybe per data source): ``day_of(row)`` dates a row, ``build(day, row)`` gives
    ``(kind, document or None)``. One row per date: the file's most frequent ``data source`` (ties: the first name
    in sort order) on every date it has, else the next; several rows of that source on one date: the earliest
    ``timestamp`` (a night ends before the day's naps). A file without the column is one source."""
    result = ReadResult()
    try:
        rows = csv_records(data)
    except ValueError as exc:
        result.damage = str(exc)
        return result
    dated: list[tuple[date, str, dict[str, str]]] = []
    for row in rows:
        day = day_of(row)
        if day is None:
            result.unreadable += 1
        else:
            dated.append((day, row.get(DATA_SOURCE, ""), row))
    counts: dict[str, int] = {}
    for _, source, _ in dated:
        counts[source] = counts.get(source, 0) + 1
    rank = {source: i for i, source in enumerate(sorted(counts, key=lambda s: (-counts[s], s)))}
    chosen: dict[date, tuple[int, str, str, dict[str, str]]] = {}
    for day, source, row in dated:
        key = (rank[source], row.get("timestamp", ""), source, row)
        if day not in chosen or key[:2] < chosen[day][:2]:
            chosen[day] = key
    for day in sorted(chosen):
        _, _, source, row = chosen[day]
        kind, document = build(day, row)
        if document is None:
            result.no_reading += 1
            continue
        provenance = {"source_family": family, "file": file}
        if source:
            provenance["data_source"] = source
        result.documents.append(DayDocument(kind, day, document, provenance))
    return result
