"""Month-compacted Parquet tables of sleep physiology, built from ``raw/physiology/`` (``pipeline.physiology_landing``).

Tables (``tables/<name>/month=YYYY-MM/part-0.parquet``, sorted, typed, like ``pipeline.tables``):

- ``heart_rate``: one row per sample, ``ts_local`` (the local wall time of the sample's date, whole seconds; Parquet
  stores it as ``timestamp[ms]``, having no seconds unit), ``bpm uint8``, ``source`` (dictionary-encoded). Measured
  (bench/bench_physiology_tables.py): a year of 1-second-device samples every 5 s (6.3 M rows) is 19 MB, 3.2 bytes a
  sample, a third of what pandas' Parquet of the same rows takes.
  Samples outside 25-220 bpm are not plausible heart rates (sensor glitches): they go to the quarantine.
- ``resting_heart_rate`` (``date, resting_hr, source``), from ``heart_rate_daily``, else from the intraday answer's
  day summary; ``0`` (the archives' placeholder for a day without a value) is no value.
- ``hrv_daily`` (``date, hrv_rmssd, hrv_deep_rmssd, source``), ``spo2_daily`` (``date, spo2_avg, spo2_min,
  spo2_max, source``; a value of exactly 50 is the "no reading" sentinel: quarantined, NULL),
  ``breathing_rate_daily`` (``date, breathing_rate, breathing_rate_deep, _light, _rem, source``; non-positive = NULL),
  ``skin_temp_daily`` (``date, skin_temp_delta, log_type, source``). ``date`` is the date the value was reported on:
  the date the main sleep ended.
- ``physiology_quarantine`` (``date, kind, reason, value, source``): what was dropped and why, never silently.

Why a month is rebuilt from every raw file of that month (as ``pipeline.tables`` does): a partition is a pure function
of the landing, so the same landing gives the same bytes and re-running is idempotent. Samples of one file never
leave its date (their times are time-of-day), so an update of date D touches only D's month. The tables are
independent of the time zone: every time here is already local.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.paths import StoragePaths
from pipeline.physiology_landing import (
    BREATHING_RATE,
    HEART_RATE_DAILY,
    HEART_RATE_INTRADAY,
    HRV,
    KINDS,
    SKIN_TEMP,
    SPO2,
    landed_physiology_files,
    read_physiology_file,
)
from pipeline.tables import TablesResult as _PartitionCounts
from pipeline.tables import _write_partition, existing_months, month_of
from pipeline.writer_lock import writer_lock

BPM_MIN, BPM_MAX = 25, 220
SPO2_SENTINEL = 50.0
_TIME_RE = r"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$"

SOURCE_TYPE = pa.dictionary(pa.int8(), pa.string())
SCHEMAS: dict[str, pa.Schema] = {
    "heart_rate": pa.schema([("ts_local", pa.timestamp("s")), ("bpm", pa.uint8()), ("source", SOURCE_TYPE)]),
    "resting_heart_rate": pa.schema(
        [("date", pa.date32()), ("resting_hr", pa.float32()), ("source", pa.string())]
    ),
    "hrv_daily": pa.schema(
        [
            ("date", pa.date32()),
            ("hrv_rmssd", pa.float32()),
            ("hrv_deep_rmssd", pa.float32()),
            ("source", pa.string()),
        ]
    ),
    "spo2_daily": pa.schema(
        [
            ("date", pa.date32()),
            ("spo2_avg", pa.float32()),
            ("spo2_min", pa.float32()),
            ("spo2_max", pa.float32()),
            ("source", pa.string()),
        ]
    ),
    "breathing_rate_daily": pa.schema(
        [
            ("date", pa.date32()),
            ("breathing_rate", pa.float32()),
            ("breathing_rate_deep", pa.float32()),
            ("breathing_rate_light", pa.float32()),
            ("breathing_rate_rem", pa.float32()),
            ("source", pa.string()),
        ]
    ),
    "skin_temp_daily": pa.schema(
        [
            ("date", pa.date32()),
            ("skin_temp_delta", pa.float32()),
            ("log_type", pa.string()),
            ("source", pa.string()),
        ]
    ),
    "physiology_quarantine": pa.schema(
        [
            ("date", pa.date32()),
            ("kind", pa.string()),
            ("reason", pa.string()),
            ("value", pa.string()),
            ("source", pa.string()),
        ]
    ),
}
PHYSIOLOGY_TABLES: tuple[str, ...] = tuple(SCHEMAS)
DAILY_TABLES = ("resting_heart_rate", "hrv_daily", "spo2_daily", "breathing_rate_daily", "skin_temp_daily")


@dataclass
class PhysiologyTablesResult:
    """What one ``update_physiology_tables`` did."""

    months: list[str] = field(default_factory=list)
    files_read: int = 0
    samples: int = 0
    samples_out_of_range: int = 0  # bpm outside 25-220: quarantined
    samples_unreadable: int = 0  # a time that is not HH:MM:SS of the day, or a value that is not a number
    spo2_sentinels: int = 0  # SpO2 values of exactly 50 ("no reading"): quarantined
    days: dict[str, int] = field(default_factory=dict)  # rows per daily table
    files_written: int = 0
    files_unchanged: int = 0
    files_deleted: int = 0
    bytes_written: int = 0


def _number(value: Any) -> float | None:
    """A finite number from a JSON value (numbers sometimes arrive as text); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if number == number and abs(number) != float("inf") else None


class _Month:
    """The rows of one month being built, per table."""

    def __init__(self) -> None:
        self.hr_parts: list[pa.Table] = []
        self.daily: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.quarantine: list[dict[str, Any]] = []
        self.resting_from_intraday: dict[date, tuple[float, str]] = {}

    def quarantine_row(self, day: date, kind: str, reason: str, value: Any, source: str) -> None:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        self.quarantine.append({"date": day, "kind": kind, "reason": reason, "value": text, "source": source})


def _entries(document: dict[str, Any], key: str) -> list[dict[str, Any]]:
    entries = document.get(key)
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _resting(document: dict[str, Any]) -> float | None:
    for entry in _entries(document, "activities-heart"):
        value = entry.get("value")
        if isinstance(value, dict):
            resting = _number(value.get("restingHeartRate"))
            if resting:  # 0 = the archives' "no value"
                return resting
    return None


def _heart_rate_samples(
    month: _Month, day: date, document: dict[str, Any], source: str, result: PhysiologyTablesResult
) -> None:
    intraday = document.get("activities-heart-intraday")
    dataset = intraday.get("dataset") if isinstance(intraday, dict) else None
    if not isinstance(dataset, list) or not dataset:
        return
    try:  # the common case, every sample an object with both keys, at list-comprehension speed
        time_texts = [s["time"] for s in dataset]
        raw_values = [s["value"] for s in dataset]
    except (KeyError, TypeError):
        time_texts = [s.get("time") if isinstance(s, dict) else None for s in dataset]
        raw_values = [s.get("value") if isinstance(s, dict) else None for s in dataset]
    try:
        times = pa.array(time_texts, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        times = pa.array([t if isinstance(t, str) else None for t in time_texts], pa.string())
    try:
        values = pa.array(raw_values, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        values = pa.array([_number(v) for v in raw_values], pa.float64())
    readable = pc.and_(pc.fill_null(pc.match_substring_regex(times, _TIME_RE), False), pc.is_valid(values))
    plausible = pc.and_(pc.greater_equal(values, BPM_MIN), pc.less_equal(values, BPM_MAX))
    keep = pc.and_(readable, pc.fill_null(plausible, False))
    if not pc.all(keep).as_py():
        for i in pc.indices_nonzero(pc.invert(keep)).to_pylist():
            sample = dataset[i]
            if readable[i].as_py():
                result.samples_out_of_range += 1
                month.quarantine_row(
                    day, HEART_RATE_INTRADAY, f"bpm outside {BPM_MIN}-{BPM_MAX}", sample, source
                )
            else:
                result.samples_unreadable += 1
                month.quarantine_row(day, HEART_RATE_INTRADAY, "time or value unreadable", sample, source)
    times, values = times.filter(keep), values.filter(keep)
    if not len(times):
        return
    seconds = pc.add(
        pc.add(
            pc.multiply(pc.cast(pc.utf8_slice_codeunits(times, 0, 2), pa.int64()), 3600),
            pc.multiply(pc.cast(pc.utf8_slice_codeunits(times, 3, 5), pa.int64()), 60),
        ),
        pc.cast(pc.utf8_slice_codeunits(times, 6, 8), pa.int64()),
    )
    midnight = int((day - date(1970, 1, 1)).days) * 86400
    ts = pc.cast(pc.add(seconds, midnight), pa.timestamp("s"))
    bpm = pc.cast(pc.round(values), pa.uint8())
    sources = pa.DictionaryArray.from_arrays(np.zeros(len(ts), dtype=np.int8), pa.array([source]))
    month.hr_parts.append(
        pa.table({"ts_local": ts, "bpm": bpm, "source": sources}, schema=SCHEMAS["heart_rate"])
    )
    result.samples += len(ts)


def _spo2(
    month: _Month, day: date, document: dict[str, Any], source: str, result: PhysiologyTablesResult
) -> None:
    value = document.get("value")
    if not isinstance(value, dict):
        return
    row: dict[str, Any] = {"date": day, "source": source}
    for key in ("avg", "min", "max"):
        number = _number(value.get(key))
        if number == SPO2_SENTINEL:
            result.spo2_sentinels += 1
            month.quarantine_row(day, SPO2, "SpO2 50 = no reading (sentinel)", {key: value.get(key)}, source)
            number = None
        row[f"spo2_{key}"] = number
    if any(row[f"spo2_{k}"] is not None for k in ("avg", "min", "max")):
        month.daily["spo2_daily"].append(row)


def _breathing_rate(value: dict[str, Any]) -> dict[str, float | None]:
    def rate(part: Any) -> float | None:
        number = _number(part.get("breathingRate")) if isinstance(part, dict) else None
        return number if number is not None and number > 0 else None

    full = rate(value.get("fullSleepSummary")) if "fullSleepSummary" in value else rate(value)
    return {
        "breathing_rate": full,
        "breathing_rate_deep": rate(value.get("deepSleepSummary")),
        "breathing_rate_light": rate(value.get("lightSleepSummary")),
        "breathing_rate_rem": rate(value.get("remSleepSummary")),
    }


def _add_file(month: _Month, kind: str, day: date, path: Path, result: PhysiologyTablesResult) -> None:
    record = read_physiology_file(path)
    result.files_read += 1
    document = record.get("payload")
    source = str(record.get("source") or "")
    if not isinstance(document, dict):
        month.quarantine_row(day, kind, "payload is not an object", document, source)
        return
    if kind == HEART_RATE_INTRADAY:
        _heart_rate_samples(month, day, document, source, result)
        resting = _resting(document)
        if resting is not None:
            month.resting_from_intraday[day] = (resting, source)
    elif kind == HEART_RATE_DAILY:
        resting = _resting(document)
        if resting is not None:
            month.daily["resting_heart_rate"].append({"date": day, "resting_hr": resting, "source": source})
    elif kind == SPO2:
        _spo2(month, day, document, source, result)
    else:
        key = {HRV: "hrv", BREATHING_RATE: "br", SKIN_TEMP: "tempSkin"}[kind]
        for entry in _entries(document, key)[:1]:  # one value per date (the main sleep's)
            value = entry.get("value")
            if not isinstance(value, dict):
                continue
            if kind == HRV:
                row = {
                    "hrv_rmssd": _number(value.get("dailyRmssd")),
                    "hrv_deep_rmssd": _number(value.get("deepRmssd")),
                }
                table = "hrv_daily"
            elif kind == BREATHING_RATE:
                row, table = _breathing_rate(value), "breathing_rate_daily"
            else:
                row = {
                    "skin_temp_delta": _number(value.get("nightlyRelative")),
                    "log_type": entry.get("logType"),
                }
                table = "skin_temp_daily"
            if any(v is not None for k, v in row.items() if k != "log_type"):
                month.daily[table].append({"date": day, **row, "source": source})


def _month_tables(month: _Month) -> dict[str, pa.Table]:
    """The month's rows as sorted, typed tables (resting HR from the intraday answer only where the daily one has
    none: one source per date)."""
    have_resting = {row["date"] for row in month.daily["resting_heart_rate"]}
    for day, (resting, source) in month.resting_from_intraday.items():
        if day not in have_resting:
            month.daily["resting_heart_rate"].append({"date": day, "resting_hr": resting, "source": source})
    tables: dict[str, pa.Table] = {}
    if month.hr_parts:
        hr = pa.concat_tables(month.hr_parts).unify_dictionaries().combine_chunks()
        tables["heart_rate"] = hr.sort_by(
            [("ts_local", "ascending")]
        )  # stable: a DST repeat keeps file order
    else:
        tables["heart_rate"] = SCHEMAS["heart_rate"].empty_table()
    for name in DAILY_TABLES:
        rows = sorted(month.daily[name], key=lambda r: r["date"])
        tables[name] = pa.Table.from_pylist(rows, schema=SCHEMAS[name])
    quarantine = sorted(month.quarantine, key=lambda r: (r["date"], r["kind"], r["reason"], r["value"]))
    tables["physiology_quarantine"] = pa.Table.from_pylist(
        quarantine, schema=SCHEMAS["physiology_quarantine"]
    )
    return tables


def update_physiology_tables(
    paths: StoragePaths, dates: Iterable[date] | None = None
) -> PhysiologyTablesResult:
    """Rebuild the months of ``dates`` (None = every month with raw files or tables) of every physiology table
    from the raw landing, under the data root's writer lock."""
    with writer_lock(paths, "updating the physiology tables"):
        return _update(paths, dates)


def _update(paths: StoragePaths, dates: Iterable[date] | None) -> PhysiologyTablesResult:
    by_month: dict[str, list[tuple[str, date, Path]]] = defaultdict(list)
    for kind in KINDS:
        for day, path in landed_physiology_files(paths, kind):
            by_month[month_of(day)].append((kind, day, path))
    if dates is None:
        stale = {m for name in PHYSIOLOGY_TABLES for m in existing_months(paths, name)}
        months = sorted(set(by_month) | stale)
    else:
        months = sorted({month_of(d) for d in dates})
    result = PhysiologyTablesResult(months=months)
    counts = _PartitionCounts()
    for month_key in months:
        month = _Month()
        for kind, day, path in by_month.get(month_key, []):
            _add_file(month, kind, day, path, result)
        for name, table in _month_tables(month).items():
            _write_partition(paths, name, month_key, table, counts)
            if name in DAILY_TABLES:
                result.days[name] = result.days.get(name, 0) + table.num_rows
    result.files_written, result.files_unchanged = counts.files_written, counts.files_unchanged
    result.files_deleted, result.bytes_written = counts.files_deleted, counts.bytes_written
    return result
