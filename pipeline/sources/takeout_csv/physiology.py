"""Read the Google-era Takeout physiology CSVs (``Physical Activity_GoogleData/``) into v1.2 day documents.

Why its own reader: these files mix data sources (the band, the phone, Health Connect) in one file and write dates
two ways, so each quirk of ``real-fitbit-data.md`` §3 has one rule here (also in ``docs/physiology-archives.md``):

- ``heart_rate_YYYY-MM-DD.csv`` (``timestamp,beats per minute,data source``; UTC ``…Z``; one UTC day per file, a
  day's samples every 1-15 s): read with ``pyarrow.csv`` into arrays; ``HeartRateDays`` makes local days and keeps
  one data source per day (never a sum).
- ``daily_heart_rate_variability.csv``: ``T00:00:00Z`` is the LOCAL date, not UTC midnight.
- ``daily_oxygen_saturation.csv``: ``average/lower bound/upper bound percentage``; exactly 50 = no reading.
- ``respiratory_rate_sleep_summary_<date>.csv``: per-stage breathing rate; the timestamp is the session's END in
  UTC, so its local date is the date the sleep ended (the API's date).
- ``daily_sleep_temperature_derivations.csv``: ``nightly temperature celsius`` minus ``baseline temperature
  celsius`` = ``nightlyRelative``; ``NaN`` cells are no reading.

Several rows for one date in a daily file: one data source per file is preferred, the one with the most rows in
the file (ties: first name in sort order); on dates it lacks, the next one. Several rows of that source on one
date (a nap and the night): the earliest timestamp (a night ends before the day's naps).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from pipeline.sources import physiology_shapes as shapes
from pipeline.sources.heart_rate_days import samples_table
from pipeline.sources.physiology_shapes import ReadResult

FAMILY = "export-csv"  # provenance source_family of the Google-era CSVs (the sleep CSVs' family name)

HEART_RATE_CSV_RE = re.compile(r"(?:^|/)heart_rate_(\d{4}-\d{2}-\d{2})\.csv$", re.IGNORECASE)
DAILY_HRV_RE = re.compile(r"(?:^|/)daily_heart_rate_variability[^/]*\.csv$", re.IGNORECASE)
DAILY_SPO2_RE = re.compile(r"(?:^|/)daily_oxygen_saturation[^/]*\.csv$", re.IGNORECASE)
RESPIRATORY_RE = re.compile(r"(?:^|/)respiratory_rate_sleep_summary[^/]*\.csv$", re.IGNORECASE)
TEMPERATURE_RE = re.compile(r"(?:^|/)daily_sleep_temperature_derivations[^/]*\.csv$", re.IGNORECASE)

_TIMESTAMP = "timestamp"
_BPM = "beats per minute"
_SOURCE = shapes.DATA_SOURCE


def read_heart_rate_csv(data: bytes) -> ReadResult:
    """One ``heart_rate_*.csv`` as samples (UTC instant, bpm, data source); rows that cannot be read are counted."""
    bad = 0

    def skip(_row: Any) -> str:
        nonlocal bad
        bad += 1
        return "skip"

    try:
        table = pa_csv.read_csv(
            io.BytesIO(data),
            parse_options=pa_csv.ParseOptions(invalid_row_handler=skip),
            convert_options=pa_csv.ConvertOptions(
                column_types={_TIMESTAMP: pa.string(), _BPM: pa.string(), _SOURCE: pa.string()}
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        return ReadResult(damage=f"is not a readable CSV ({str(exc).splitlines()[0]})")
    table = table.rename_columns([name.strip().lower() for name in table.column_names])
    if _TIMESTAMP not in table.column_names or _BPM not in table.column_names:
        return ReadResult(
            damage=f"has no '{_TIMESTAMP}' and '{_BPM}' columns (found: {', '.join(table.column_names)})"
        )
    source = table[_SOURCE] if _SOURCE in table.column_names else ""
    samples = samples_table(utc_instants(table[_TIMESTAMP]), pc.cast(table[_BPM], pa.float64(), safe=False))
    if not isinstance(source, str):
        samples = samples.set_column(2, "source", pc.fill_null(source.cast(pa.string()), ""))
    return ReadResult(samples=samples, unreadable=bad)


def utc_instants(stamps: pa.ChunkedArray | pa.Array) -> pa.Array:
    """``2026-04-10T00:00:01Z`` / ``…+0000`` / ``….250Z`` as UTC seconds; anything else is null (counted later)."""
    text = pc.utf8_trim_whitespace(stamps)
    try:
        return pc.floor_temporal(text.cast(pa.timestamp("ms", tz="UTC")), unit="second").cast(
            pa.timestamp("s", tz="UTC")
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass  # a bad cell somewhere: parse cell by cell, nulls for the bad ones
    out = [_instant(value) for value in text.to_pylist()]
    return pa.array(out, pa.timestamp("s", tz="UTC"))


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _column(row: dict[str, str], *words: str, exclude: tuple[str, ...] = ()) -> str | None:
    """The cell of the first column whose name holds every word and none of ``exclude`` (the Takeout's long names
    vary between exports: match by words, not by the exact text)."""
    for name, value in row.items():
        if all(word in name for word in words) and not any(word in name for word in exclude):
            return value
    return None


def read_daily_hrv(data: bytes, file: str, zone: str) -> ReadResult:
    """``daily_heart_rate_variability.csv`` -> ``hrv`` (``dailyRmssd``, ``deepRmssd``)."""

    def build(day: date, row: dict[str, str]) -> tuple[str, dict[str, Any] | None]:
        daily = shapes.number(_column(row, "average heart rate variability"))
        deep = shapes.number(_column(row, "deep sleep root mean square"))
        return shapes.HRV, shapes.hrv(day, daily, deep)

    return shapes.daily_documents(data, file, FAMILY, shapes.label_day, build)


def read_daily_spo2(data: bytes, file: str, zone: str) -> ReadResult:
    """``daily_oxygen_saturation.csv`` -> ``spo2`` (``avg``, ``min``, ``max``); a cell of exactly 50 is no reading."""

    def build(day: date, row: dict[str, str]) -> tuple[str, dict[str, Any] | None]:
        return shapes.SPO2, shapes.spo2(
            day,
            shapes.spo2_value(_column(row, "average percentage")),
            shapes.spo2_value(_column(row, "lower bound")),
            shapes.spo2_value(_column(row, "upper bound")),
        )

    return shapes.daily_documents(data, file, FAMILY, shapes.label_day, build)


def read_respiratory_rate(data: bytes, file: str, zone: str) -> ReadResult:
    """``respiratory_rate_sleep_summary_*.csv`` -> ``breathing_rate`` (full sleep + per stage) on the local date of
    the session's end."""

    def day_of(row: dict[str, str]) -> date | None:
        when = shapes.local_datetime(row.get(_TIMESTAMP, ""), zone)
        return when.date() if when is not None else None

    def build(day: date, row: dict[str, str]) -> tuple[str, dict[str, Any] | None]:
        rates = {stage: _breaths(row, stage) for stage in shapes.BR_STAGES}
        full = rates.pop("full")
        return shapes.BREATHING_RATE, shapes.breathing_rate(day, full, rates)

    return shapes.daily_documents(data, file, FAMILY, day_of, build)


def _breaths(row: dict[str, str], stage: str) -> float | None:
    """A stage's breaths per minute; ``milli breaths per minute`` columns are scaled to breaths per minute."""
    for name, cell in row.items():
        words = name.replace("_", " ")
        if not words.startswith(stage) or "breath" not in words:
            continue
        if "deviation" in words or "noise" in words:
            continue
        value = shapes.number(cell)
        if value is None:
            return None
        return value / 1000 if "milli" in words else value
    return None


def read_temperature(data: bytes, file: str, zone: str) -> ReadResult:
    """``daily_sleep_temperature_derivations.csv`` -> ``skin_temp`` (nightly minus baseline, °C); NaN = no reading."""

    def build(day: date, row: dict[str, str]) -> tuple[str, dict[str, Any] | None]:
        nightly = shapes.number(_column(row, "nightly temperature"))
        baseline = shapes.number(_column(row, "baseline temperature"))
        relative = nightly - baseline if nightly is not None and baseline is not None else None
        return shapes.SKIN_TEMP, shapes.skin_temp(day, relative)

    return shapes.daily_documents(data, file, FAMILY, shapes.label_day, build)


GOOGLE_CSV_READERS: list[tuple[re.Pattern[str], Callable[[bytes, str, str], ReadResult]]] = [
    (DAILY_HRV_RE, read_daily_hrv),
    (DAILY_SPO2_RE, read_daily_spo2),
    (RESPIRATORY_RE, read_respiratory_rate),
    (TEMPERATURE_RE, read_temperature),
]
