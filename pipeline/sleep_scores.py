"""Sleep Score rows from an export archive: raw landing and the ``sleep_scores`` table.

Why a module of its own: the Sleep Score is not available from the Web API at all; the only source is
``sleep_score.csv`` in the account archive. It is landed raw first (one JSON file per archive under
``raw/sleep_scores/``, cells kept verbatim as strings, with provenance and a payload hash), and the table is derived
from every landed file, so it can be rebuilt from raw like the other tables.

CSV quirks handled here:

- ``sleep_log_entry_id`` is the sleep ``logId``; the table calls it ``log_id`` so it joins ``sleep_logs``.
- ``timestamp`` ends in ``Z`` but its digits are the *local* wake time (they equal the local ``endTime`` of the
  log in the sleep JSON). The ``Z`` is dropped and the value is stored as a naive local timestamp,
  ``score_timestamp_local``; converting it as UTC would shift every score by the UTC offset.
- Columns are often empty (``composition_score``, ``duration_score`` in newer exports): empty cells become NULL.

Merge rule when several archives were imported: per ``log_id`` the row from the archive exported last wins
(``fetched_at`` of the raw file, then ``source_ref``), mirroring the sleep-day policy in ``export_archive``.

The table holds only scores whose log is in ``sleep_logs``: a score is a property of one sleep log, and an archive's
log can be absent because its date came from the API (which wins), from a newer archive with other logs, or because
it was quarantined. Such rows are left out of the table and counted (``ScoreTableResult.without_log``); they stay
in the raw score files, so nothing is lost, and an import that brings the log back brings its score back.
``pipeline.tables.update_tables`` rebuilds this table after every update of ``sleep_logs``, so the two agree.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.atomic import atomic_write_bytes
from pipeline.paths import StoragePaths

TABLE = "sleep_scores"
INT_COLUMNS = (
    "overall_score",
    "composition_score",
    "revitalization_score",
    "duration_score",
    "deep_sleep_in_minutes",
    "resting_heart_rate",
)
SCHEMA = pa.schema(
    [
        pa.field("log_id", pa.int64(), nullable=False),
        pa.field("score_timestamp_local", pa.timestamp("s"), nullable=False),
        *(pa.field(name, pa.int32()) for name in INT_COLUMNS),
        pa.field("restlessness", pa.float64()),
        pa.field("source_ref", pa.string()),
    ]
)
CSV_ID = "sleep_log_entry_id"
CSV_TIMESTAMP = "timestamp"


@dataclass
class ScoreLanding:
    """Outcome of landing one archive's ``sleep_score.csv``."""

    rows: int = 0
    state: str = "none"  # "written" | "unchanged" | "none" (no score file in the archive)
    problems: list[str] = field(default_factory=list)


@dataclass
class ScoreTableResult:
    rows: int = 0
    rejected: int = 0
    without_log: int = 0  # valid score rows left out because their log_id is not in sleep_logs
    months_written: list[str] = field(default_factory=list)
    months_removed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def land_scores(
    paths: StoragePaths, csv_bytes: list[bytes], *, source_ref: str, fetched_at: datetime
) -> ScoreLanding:
    """Land the rows of one archive's score CSV(s) verbatim; re-landing the same archive rewrites nothing."""
    header: list[str] | None = None
    rows: list[list[str]] = []
    result = ScoreLanding()
    for blob in csv_bytes:
        try:
            reader = csv.reader(io.StringIO(blob.decode("utf-8-sig")))
            file_header = [h.strip() for h in next(reader, [])]
            if CSV_ID not in file_header or CSV_TIMESTAMP not in file_header:
                result.problems.append(f"sleep_score.csv has no {CSV_ID}/{CSV_TIMESTAMP} header; skipped")
                continue
            if header is None:
                header = file_header
            index = [file_header.index(h) if h in file_header else None for h in header]
            for raw in reader:
                if any(cell.strip() for cell in raw):
                    rows.append([raw[i].strip() if i is not None and i < len(raw) else "" for i in index])
        except (UnicodeDecodeError, csv.Error) as exc:
            result.problems.append(f"sleep_score.csv is unreadable ({exc}); skipped")
    if header is None:
        return result
    payload = {"header": header, "rows": rows}
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    doc = {
        "source": "export",
        "source_ref": source_ref,
        "fetched_at": fetched_at.isoformat(),
        "payload_sha256": hashlib.sha256(body.encode()).hexdigest(),
        "payload": payload,
    }
    # Content-addressed: the same archive as a zip or unzipped (or renamed) lands the same file once.
    stamp = fetched_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = paths.raw_sleep_scores_dir / f"export-{stamp}-{str(doc['payload_sha256'])[:16]}.json"
    result.rows = len(rows)
    if target.exists():
        try:
            if json.loads(target.read_text(encoding="utf-8")).get("payload_sha256") == doc["payload_sha256"]:
                result.state = "unchanged"
                return result
        except (OSError, ValueError):
            pass  # a damaged raw file is simply replaced
    atomic_write_bytes(target, json.dumps(doc, indent=1, ensure_ascii=False).encode())
    result.state = "written"
    return result


def build_scores_table(paths: StoragePaths, log_ids: Collection[int] | None = None) -> ScoreTableResult:
    """Rebuild ``tables/sleep_scores/month=YYYY-MM/part-0.parquet`` from every landed score file, keeping the rows
    whose log is in ``log_ids`` (default: the ``sleep_logs`` table as it is on disk).

    The table is small (one row per night), so it is rebuilt whole; a month file is rewritten only when its
    content changed, which keeps a re-import byte-identical and cheap.
    """
    result = ScoreTableResult()
    present = set(log_ids) if log_ids is not None else _sleep_log_ids(paths)
    best: dict[int, tuple[tuple[str, str], dict[str, Any]]] = {}
    directory = paths.raw_sleep_scores_dir
    for raw_file in sorted(directory.glob("*.json")) if directory.exists() else []:
        try:
            doc = json.loads(raw_file.read_text(encoding="utf-8"))
            header, rows = doc["payload"]["header"], doc["payload"]["rows"]
            rank = (str(doc["fetched_at"]), str(doc["source_ref"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            result.problems.append(f"{raw_file.name} is unreadable ({exc}); its scores are left out")
            continue
        for cells in rows:
            row, why = _parse_row(dict(zip(header, cells, strict=False)))
            if row is None:
                result.rejected += 1
                if len(result.problems) < 20:
                    result.problems.append(f"{raw_file.name}: score row rejected ({why})")
                continue
            row["source_ref"] = doc["source_ref"]
            current = best.get(row["log_id"])
            if current is None or rank >= current[0]:
                best[row["log_id"]] = (rank, row)
    by_month: dict[str, list[dict[str, Any]]] = {}
    for _, row in best.values():
        if row["log_id"] not in present:
            result.without_log += 1
            continue
        by_month.setdefault(row["score_timestamp_local"].strftime("%Y-%m"), []).append(row)
    table_dir = paths.table_dir(TABLE)
    for month, month_rows in sorted(by_month.items()):
        month_rows.sort(key=lambda r: (r["score_timestamp_local"], r["log_id"]))
        table = pa.Table.from_pylist(month_rows, schema=SCHEMA)
        target = table_dir / f"month={month}" / "part-0.parquet"
        result.rows += table.num_rows
        buffer = pa.BufferOutputStream()
        pq.write_table(table, buffer, compression="zstd", compression_level=3)  # fixed options: stable bytes
        data = buffer.getvalue().to_pybytes()
        if target.exists() and target.stat().st_size == len(data) and target.read_bytes() == data:
            continue
        atomic_write_bytes(target, data)
        result.months_written.append(month)
    if table_dir.exists():
        for month_dir in sorted(table_dir.glob("month=*")):
            if month_dir.name.removeprefix("month=") not in by_month:
                shutil.rmtree(month_dir)
                result.months_removed.append(month_dir.name.removeprefix("month="))
    return result


def _sleep_log_ids(paths: StoragePaths) -> set[int]:
    """Every ``log_id`` in the ``sleep_logs`` table (one column of small month files)."""
    found: set[int] = set()
    for part in sorted(paths.table_dir("sleep_logs").glob("month=*/part-0.parquet")):
        found.update(pq.read_table(part, columns=["log_id"]).column("log_id").to_pylist())
    return found


def _parse_row(cells: dict[str, str]) -> tuple[dict[str, Any] | None, str]:
    try:
        log_id = int(cells.get(CSV_ID, ""))
    except ValueError:
        return None, f"{CSV_ID} {cells.get(CSV_ID)!r} is not an integer"
    stamp = cells.get(CSV_TIMESTAMP, "")
    try:
        # The trailing Z is a mislabel: the digits are local wall-clock time (see the module docstring).
        local = datetime.fromisoformat(re.sub(r"(Z|[+-]00:?00)$", "", stamp))
    except ValueError:
        return None, f"timestamp {stamp!r} of log {log_id} is not an ISO date-time"
    row: dict[str, Any] = {
        "log_id": log_id,
        "score_timestamp_local": local.replace(tzinfo=None, microsecond=0),
    }
    for name in INT_COLUMNS:
        row[name] = _number(cells.get(name, ""), integral=True)
    row["restlessness"] = _number(cells.get("restlessness", ""), integral=False)
    return row, ""


def _number(text: str, *, integral: bool) -> int | float | None:
    """Empty or unparseable cells become NULL: the CSV leaves whole columns empty in some exports."""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    if value != value:  # NaN
        return None
    if integral:
        return int(round(value))
    return value
