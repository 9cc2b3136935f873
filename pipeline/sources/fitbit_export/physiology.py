"""Read the physiology files of the legacy account archive (``Global Export Data`` / ``MyFitbitData``).

Why a reader per file kind, each returning v1.2 day documents: the landing keeps every kind in the API's per-date
shape (``pipeline.sources.physiology_shapes``), so these functions only know the archive's spelling:

- ``heart_rate-YYYY-MM-DD.json``: ``[{"dateTime":"04/10/26 04:00:00","value":{"bpm":63,"confidence":3}}, …]``,
  ``dateTime`` in UTC with a 2-digit year, one LOCAL day per file expressed in UTC, 10k-70k rows (1-4 MB). Read
  columnar (``read_heart_rate_json``): the array is rewritten as JSON lines and parsed by ``pyarrow.json`` into
  arrays, with no Python object per row; a file that is not in that simple shape (or is damaged) falls back to the
  streaming ``ijson`` parser, which keeps the rows before any damage.
- ``resting_heart_rate-YYYY-MM-DD.json``: ``{"dateTime":"03/18/26 00:00:00","value":{"date":"03/18/26",
  "value":63.6,"error":6.8}}``; a missing day reads ``"date":null,"value":0.0`` (a placeholder: no document).
- The classic export's CSVs: ``Daily Heart Rate Variability Summary - 2026-04-(10).csv`` (``timestamp,rmssd,
  nremhr,entropy``), ``Heart Rate Variability Details - <date>.csv`` (5-min rows in local time),
  ``Daily Respiratory Rate Summary - <date>.csv``, ``Daily SpO2 - <from>-<to>.csv`` and ``Minute SpO2 - <date>.csv``
  (50 = no reading), ``Computed Temperature - <date>.csv`` (nightly skin temperature).

Daily rows carry a date label (``2026-04-10T00:00:00``: the local date). Detail rows are grouped into nights and
reported on the date the night ended, as the API reports them.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from pipeline.physiology_landing import HEART_RATE_DAILY
from pipeline.sources import physiology_shapes as shapes
from pipeline.sources.fitbit_export import reader
from pipeline.sources.heart_rate_days import samples_table
from pipeline.sources.physiology_shapes import ReadResult

FAMILY = "export-json"  # provenance source_family of the legacy JSON (the sleep logs' family name)
CSV_FAMILY = "export-classic-csv"  # the classic export's physiology CSVs

HEART_RATE_JSON_RE = re.compile(r"(?:^|/)heart_rate-(\d{4}-\d{2}-\d{2})\.json$", re.IGNORECASE)
RESTING_HR_JSON_RE = re.compile(r"(?:^|/)resting_heart_rate-(\d{4}-\d{2}-\d{2})\.json$", re.IGNORECASE)
HRV_SUMMARY_RE = re.compile(r"(?:^|/)Daily Heart Rate Variability Summary - [^/]*\.csv$", re.IGNORECASE)
HRV_DETAILS_RE = re.compile(r"(?:^|/)Heart Rate Variability Details - [^/]*\.csv$", re.IGNORECASE)
RESPIRATORY_RE = re.compile(r"(?:^|/)Daily Respiratory Rate Summary - [^/]*\.csv$", re.IGNORECASE)
DAILY_SPO2_RE = re.compile(r"(?:^|/)Daily SpO2 - [^/]*\.csv$", re.IGNORECASE)
MINUTE_SPO2_RE = re.compile(r"(?:^|/)Minute SpO2 - [^/]*\.csv$", re.IGNORECASE)
COMPUTED_TEMP_RE = re.compile(r"(?:^|/)Computed Temperature - [^/]*\.csv$", re.IGNORECASE)

# A day at one sample a second is 86,400 rows (real files: 10k-70k); far past that is not a heart-rate file.
MAX_SAMPLES_PER_FILE = 200_000
MAX_DAYS_PER_FILE = 10_000  # resting heart rate: a row a day
_LEGACY_FORMAT = "%m/%d/%y %H:%M:%S"
_RECORD_GAP = re.compile(rb"\}\s*,\s*\{")
_HR_SCHEMA = pa.schema([("dateTime", pa.string()), ("value", pa.struct([("bpm", pa.float64())]))])


def file_date(name: str, pattern: re.Pattern[str]) -> date | None:
    match = pattern.search(name)
    try:
        return date.fromisoformat(match.group(1)) if match else None
    except ValueError:
        return None


def read_heart_rate_json(data: bytes) -> ReadResult:
    """One ``heart_rate-*.json`` as samples (UTC, bpm): columnar when the file has the usual shape, else streamed."""
    lines = _json_lines(data)
    if lines is not None:
        try:
            table = pa_json.read_json(
                io.BytesIO(lines),
                parse_options=pa_json.ParseOptions(
                    explicit_schema=_HR_SCHEMA, unexpected_field_behavior="ignore"
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass  # not the usual shape (a bpm as text, a damaged record): the streaming parser says where
        else:
            if len(table) > MAX_SAMPLES_PER_FILE:
                return ReadResult(
                    samples=_legacy_samples(table.slice(0, MAX_SAMPLES_PER_FILE)),
                    damage=_too_many(MAX_SAMPLES_PER_FILE),
                )
            return ReadResult(samples=_legacy_samples(table))
    return _heart_rate_streamed(data)


def _too_many(limit: int) -> str:
    return (
        f"holds more than {limit} samples (a real day has at most 86,400); the rest of the file was skipped"
    )


def _json_lines(data: bytes) -> bytes | None:
    """A top-level JSON array of flat records rewritten as JSON lines, or None when the file is not that simple.

    Safe because a record holds no array (only one ``[`` and one ``]`` in the file) and JSON text holds no raw
    newline, so ``}`` ``,`` ``{`` can only separate two records. The export writes ``},{`` between records: a plain
    replace; other spacing takes a regular expression."""
    body = data.strip()
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:].lstrip()
    if not (body.startswith(b"[") and body.endswith(b"]")) or body.count(b"[") != 1 or body.count(b"]") != 1:
        return None
    inner = body[1:-1].translate(None, b"\r\n").strip()
    if not inner:
        return b""
    lines = inner.replace(b"},{", b"}\n{")
    return (lines if _RECORD_GAP.search(lines) is None else _RECORD_GAP.sub(b"}\n{", lines)) + b"\n"


def _legacy_samples(table: pa.Table) -> pa.Table:
    if not len(table):
        return samples_table(pa.array([], pa.timestamp("s")), pa.array([], pa.float64()))
    stamps = pc.strptime(table["dateTime"], format=_LEGACY_FORMAT, unit="s", error_is_null=True)
    bpm = pc.struct_field(table["value"], "bpm")
    return samples_table(stamps.cast(pa.timestamp("s", tz="UTC")), bpm)  # naive values are UTC already


def _heart_rate_streamed(data: bytes) -> ReadResult:
    """The fallback: record by record with ``ijson``; keeps what precedes damage, skips records it cannot read."""
    stamps: list[datetime | None] = []
    bpm: list[float | None] = []
    damage = None
    try:
        for record in reader.iter_json_array(
            data, limit=MAX_SAMPLES_PER_FILE, typical="a real day has at most 86,400 samples"
        ):
            value = record.get("value") if isinstance(record, dict) else None
            stamp = record.get("dateTime") if isinstance(record, dict) else None
            stamps.append(_legacy_instant(stamp))
            bpm.append(shapes.number(value.get("bpm")) if isinstance(value, dict) else None)
    except reader.JsonArrayError as exc:
        damage = str(exc)
    table = samples_table(pa.array(stamps, pa.timestamp("s", tz="UTC")), pa.array(bpm, pa.float64()))
    return ReadResult(samples=table, damage=damage)


def _legacy_instant(stamp: Any) -> datetime | None:
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.strptime(stamp.strip(), _LEGACY_FORMAT)
    except ValueError:
        return None


def read_resting_heart_rate(data: bytes, file: str) -> ReadResult:
    """One ``resting_heart_rate-*.json``: a document per day with a reading; placeholders counted, not landed."""
    result = ReadResult()
    try:
        for record in reader.iter_json_array(data, limit=MAX_DAYS_PER_FILE, typical="a row a day"):
            stamp = record.get("dateTime") if isinstance(record, dict) else None
            when = _legacy_instant(stamp)
            value = record.get("value") if isinstance(record, dict) else None
            if when is None or not isinstance(value, dict):
                result.unreadable += 1
                continue
            bpm = shapes.number(value.get("value"))
            if value.get("date") is None or not bpm:  # "date": null, "value": 0.0 = no reading that day
                result.no_reading += 1
                continue
            day = when.date()
            result.documents.append(
                shapes.DayDocument(
                    HEART_RATE_DAILY,
                    day,
                    shapes.heart_rate_daily(day, bpm),
                    {"source_family": FAMILY, "file": file, "error": shapes.number(value.get("error"))},
                )
            )
    except reader.JsonArrayError as exc:
        result.damage = str(exc)
    return result


def _daily_csv(
    data: bytes, file: str, build: Callable[[date, dict[str, str]], tuple[str, dict[str, Any] | None]]
) -> ReadResult:
    """A daily summary CSV: ``build(day, row) -> (kind, document or None)`` for each row with a date label."""
    return shapes.daily_documents(data, file, CSV_FAMILY, shapes.label_day, build)


def read_hrv_summary(data: bytes, file: str) -> ReadResult:
    """``timestamp,rmssd,nremhr,entropy`` -> ``hrv`` (``dailyRmssd``; this file has no deep-sleep RMSSD)."""
    return _daily_csv(
        data, file, lambda day, row: (shapes.HRV, shapes.hrv(day, shapes.number(row.get("rmssd")), None))
    )


def read_respiratory_rate(data: bytes, file: str) -> ReadResult:
    """``timestamp,daily_respiratory_rate`` -> ``breathing_rate``."""
    return _daily_csv(
        data,
        file,
        lambda day, row: (
            shapes.BREATHING_RATE,
            shapes.breathing_rate(day, shapes.number(row.get("daily_respiratory_rate"))),
        ),
    )


def read_daily_spo2(data: bytes, file: str) -> ReadResult:
    """``timestamp,average_value,lower_bound,upper_bound`` -> ``spo2``; a 50 is no reading."""
    return _daily_csv(
        data,
        file,
        lambda day, row: (
            shapes.SPO2,
            shapes.spo2(
                day,
                shapes.spo2_value(row.get("average_value")),
                shapes.spo2_value(row.get("lower_bound")),
                shapes.spo2_value(row.get("upper_bound")),
            ),
        ),
    )


def _detail_csv(
    data: bytes,
    file: str,
    zone: str,
    row_value: Callable[[datetime, dict[str, str]], dict[str, Any] | None],
    part: tuple[str, Callable[[date, list[dict[str, Any]]], dict[str, Any] | None]],
) -> ReadResult:
    """A detail CSV (rows during sleep): rows grouped by the date their night ended, a ``part`` document per date
    (``(kind, builder)``; ``shapes.combine`` merges it into that date's summary)."""
    result = ReadResult()
    try:
        rows = shapes.csv_records(data)
    except ValueError as exc:
        result.damage = str(exc)
        return result
    kept: list[tuple[datetime, dict[str, Any]]] = []
    for row in rows:
        when = shapes.local_datetime(row.get("timestamp", ""), zone)
        value = row_value(when, row) if when is not None else None
        if when is None:
            result.unreadable += 1
        elif value is None:
            result.no_reading += 1
        else:
            kept.append((when, value))
    kind, build = part
    for day, minutes in shapes.night_groups(kept).items():
        document = build(day, minutes)
        if document is not None:
            provenance = {"source_family": CSV_FAMILY, "file": file}
            result.documents.append(shapes.DayDocument(kind, day, document, provenance, samples=len(minutes)))
    return result


def _hrv_minute(when: datetime, row: dict[str, str]) -> dict[str, Any] | None:
    rmssd = shapes.number(row.get("rmssd"))
    if rmssd is None:
        return None
    value = {
        "rmssd": rmssd,
        "coverage": shapes.number(row.get("coverage")),
        "hf": shapes.number(row.get("high_frequency")),
        "lf": shapes.number(row.get("low_frequency")),
    }
    return {
        "minute": when.isoformat(timespec="seconds"),
        "value": {k: v for k, v in value.items() if v is not None},
    }


def read_hrv_details(data: bytes, file: str, zone: str) -> ReadResult:
    """``timestamp,rmssd,coverage,low_frequency,high_frequency`` (5 min, local) -> ``hrv`` minutes."""
    return _detail_csv(data, file, zone, _hrv_minute, (shapes.HRV_INTRADAY, shapes.hrv_intraday))


def _spo2_minute(when: datetime, row: dict[str, str]) -> dict[str, Any] | None:
    value = shapes.spo2_value(row.get("value"))
    return None if value is None else {"value": value, "minute": when.isoformat(timespec="seconds")}


def read_minute_spo2(data: bytes, file: str, zone: str) -> ReadResult:
    """``timestamp,value`` -> ``spo2`` minutes; 50 is no reading."""
    return _detail_csv(data, file, zone, _spo2_minute, (shapes.SPO2_INTRADAY, shapes.spo2_intraday))


def read_computed_temperature(data: bytes, file: str, zone: str) -> ReadResult:
    """``Computed Temperature``: a row per night (``sleep_start``, ``sleep_end``, ``temperature_samples``,
    ``nightly_temperature``, ``baseline_relative_sample_sum``, …) -> ``skin_temp`` on the date the sleep ended;
    ``nightlyRelative`` = the mean deviation from baseline = ``baseline_relative_sample_sum / temperature_samples``."""

    def day_of(row: dict[str, str]) -> date | None:
        end = shapes.local_datetime(row.get("sleep_end", ""), zone)
        return end.date() if end is not None else None

    def build(day: date, row: dict[str, str]) -> tuple[str, dict[str, Any] | None]:
        total = shapes.number(row.get("baseline_relative_sample_sum"))
        count = shapes.number(row.get("temperature_samples"))
        return shapes.SKIN_TEMP, shapes.skin_temp(day, total / count if total is not None and count else None)

    return shapes.daily_documents(data, file, CSV_FAMILY, day_of, build)


# Daily kinds: (pattern, reader taking (data, file, zone)).
CLASSIC_CSV_READERS: list[tuple[re.Pattern[str], Callable[[bytes, str, str], ReadResult]]] = [
    (HRV_SUMMARY_RE, lambda data, file, zone: read_hrv_summary(data, file)),
    (HRV_DETAILS_RE, read_hrv_details),
    (RESPIRATORY_RE, lambda data, file, zone: read_respiratory_rate(data, file)),
    (DAILY_SPO2_RE, lambda data, file, zone: read_daily_spo2(data, file)),
    (MINUTE_SPO2_RE, read_minute_spo2),
    (COMPUTED_TEMP_RE, read_computed_temperature),
]
