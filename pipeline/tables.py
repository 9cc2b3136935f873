"""Month-compacted Parquet tables built from the raw landing: ``tables/<name>/month=YYYY-MM/part-0.parquet``.

Why months: a per-day file layout makes DuckDB 100-200x slower to read at 10 years (thousands of tiny files), while
one file for everything would make updating the last 3 days rewrite 10 years. A month is both: ~120 files for a
decade, and an update touches at most the one or two months of its dates (plus the previous month's nights).

Why a month is rebuilt from ALL raw files of that month (not patched): the partition is then a pure function of the
landing. Re-fetching a date replaces every log of that date (a log deleted, split or stitched upstream simply is no
longer there; no phantom rows), the result does not depend on the order of past updates, and the same landing gives
byte-identical Parquet: rows are sorted on stable keys, ``ingested_at`` is the raw file's ``fetched_at`` (never the
wall clock), and the writer options are fixed. Files whose new bytes equal the old ones are not rewritten at all.
A log can move to the next or previous ``dateOfSleep`` upstream (see ``pipeline.transform``): each batch of months
also reads the raw days just outside it as context, and an update of date D rebuilds the months of D-1, D and D+1,
so the stale copy left in the other date's file never becomes a phantom row, even across a month boundary.

``nights`` (one row per ``night_date``) are aggregated from ``sleep_logs`` by the night model in ``sql/nights.sql``
(documented in ``docs/night-model.md``: the main period is the night's longest sleep whatever Fitbit flagged, the
parts of a split night are one period, the other logs are naps). A night's logs end on its ``night_date`` ..
``night_date + 2``, so the nights of month N are computed from the logs of months N and N+1, and an update of
month M recomputes the nights of months M-1 and M.

Writes are atomic (temp file in the partition directory + ``os.replace``), so a reader globbing ``*.parquet`` sees
either the old or the new month, never half of one.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.atomic import atomic_write_bytes
from pipeline.landing import landed_files
from pipeline.paths import StoragePaths
from pipeline.transform import DEFAULT_NIGHT_OFFSET_HOURS, install_macros, transform_files, validate_tz
from pipeline.writer_lock import writer_lock

PART_FILE = "part-0.parquet"
# Bumped when a table gains or changes columns: tables built by an earlier version are rebuilt whole on the next
# update (2: sleep_logs.main_sleep_inferred and the night model's nights columns; 3: provenance columns and
# sleep_alternatives).
TABLES_SCHEMA = 3
# Months transformed in one DuckDB pass during a rebuild: large enough to amortise the per-query cost, small enough
# to keep the peak memory of a 10-year rebuild flat. Measured (bench/bench_tables.py (d), 2 cores): 12 months ->
# ~290 MB peak RSS, 6 -> ~250 MB for ~10% more time, 1 -> ~230 MB at 2.5x the time; ~150 MB of any of these is the
# DuckDB + pyarrow libraries themselves.
MONTHS_PER_BATCH = 6

# the tables built from the raw days by the transform, month by month.
_LOG_TABLES = ("sleep_logs", "sleep_segments", "sleep_alternatives", "quarantine")
# column used to place a row in its month partition.
_MONTH_KEY = {
    "sleep_logs": "date_of_sleep",
    "sleep_segments": "date_of_sleep",
    "sleep_alternatives": "date_of_sleep",
    "quarantine": "date",
    "nights": "night_date",
}

# The night model (docs/night-model.md): main period, split nights, naps. Run per month over the view ``logs``.
NIGHTS_SQL = (Path(__file__).resolve().parents[1] / "sql" / "nights.sql").read_text(encoding="utf-8")


@dataclass
class TablesResult:
    """What one ``update_tables`` did: the counts a run reports and the figures the bench reads."""

    dates: int = 0
    months: list[str] = field(default_factory=list)
    files_written: int = 0
    files_unchanged: int = 0
    files_deleted: int = 0
    bytes_written: int = 0
    logs: int = 0
    segments: int = 0
    nights_rebuilt: int = 0  # nights recomputed (all of them in a full rebuild)
    quarantined: int = 0
    superseded: int = 0
    scores: int = 0  # rows in sleep_scores
    scores_without_log: int = 0  # archive score rows left out: their log is not in sleep_logs
    scores_problems: list[str] = field(default_factory=list)  # score rows rejected as unreadable
    unknown_keys: dict[str, int] = field(default_factory=dict)
    unknown_levels: dict[str, int] = field(default_factory=dict)
    tz: str = "UTC"
    rebuilt_all: str = ""  # why every month was rebuilt although only some dates were asked for


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _month_bounds(month: str) -> tuple[date, date]:
    year, mon = (int(x) for x in month.split("-"))
    first = date(year, mon, 1)
    after = date(year + (mon == 12), mon % 12 + 1, 1)
    return first, after


def _shift(month: str, delta: int) -> str:
    year, mon = (int(x) for x in month.split("-"))
    index = year * 12 + (mon - 1) + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def partition_file(paths: StoragePaths, name: str, month: str) -> Path:
    return paths.table_dir(name) / f"month={month}" / PART_FILE


def existing_months(paths: StoragePaths, name: str) -> list[str]:
    base = paths.table_dir(name)
    if not base.is_dir():
        return []
    return sorted(p.parent.name.removeprefix("month=") for p in base.glob(f"month=*/{PART_FILE}"))


def table_files(paths: StoragePaths, name: str) -> list[Path]:
    """Every partition file of a table, in month order (what the warehouse and the benches read)."""
    return [partition_file(paths, name, m) for m in existing_months(paths, name)]


def read_tables_meta(paths: StoragePaths) -> dict[str, Any] | None:
    """How the tables on disk were built (``tables/_meta.json``), or None (no tables yet, or built before it)."""
    try:
        meta = json.loads(paths.tables_meta_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _has_tables(paths: StoragePaths) -> bool:
    return any(
        existing_months(paths, name) for name in ("sleep_logs", "sleep_segments", "nights", "quarantine")
    )


def _parquet_bytes(table: pa.Table) -> bytes:
    """Fixed writer options: the same rows always give the same bytes (for one pyarrow version)."""
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        compression="zstd",
        compression_level=3,
        use_dictionary=True,
        write_statistics=True,
        row_group_size=1_000_000,
    )
    return bytes(sink.getvalue().to_pybytes())


def _write_partition(
    paths: StoragePaths, name: str, month: str, table: pa.Table, result: TablesResult
) -> None:
    """Atomically replace (or delete, when empty) one month of one table; skip identical bytes."""
    target = partition_file(paths, name, month)
    if table.num_rows == 0:
        if target.exists():
            target.unlink()
            shutil.rmtree(target.parent, ignore_errors=True)
            result.files_deleted += 1
        return
    data = _parquet_bytes(table)
    if target.exists() and target.stat().st_size == len(data) and target.read_bytes() == data:
        result.files_unchanged += 1
        return
    atomic_write_bytes(target, data)
    result.files_written += 1
    result.bytes_written += len(data)


def _split_by_month(table: pa.Table, column: str, months: Iterable[str]) -> dict[str, pa.Table]:
    """Rows of ``table`` per month of ``column`` (order preserved, so sorted input stays sorted)."""
    out = {}
    keys = pc.strftime(table.column(column), format="%Y-%m") if table.num_rows else None
    for month in months:
        out[month] = table.filter(pc.equal(keys, month)) if keys is not None else table.slice(0, 0)
    return out


def _batches(months: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(months), size):
        yield months[i : i + size]


def _merge_counts(into: dict[str, int], new: dict[str, int]) -> None:
    for key, n in new.items():
        into[key] = into.get(key, 0) + n


def update_tables(
    paths: StoragePaths,
    dates: Iterable[date] | None = None,
    *,
    tz: str | None = None,
    night_offset_hours: int | None = None,
) -> TablesResult:
    """Rebuild the months of ``dates`` (None = every month) of every table from the raw landing.

    ``tz``: the zone to read local times in (see ``pipeline.timezones``: ``FITBIT_SLEEP_TZ``, then the zone the
    tables were built in, then the login profile's; none known raises ``TimezoneUnknown``). ``night_offset_hours``
    defaults to the one the tables were built with. The tables record both (``tables/_meta.json``): when either
    differs from what the tables on disk were built with, or the tables predate the current schema, *every*
    month is rebuilt instead of ``dates`` alone (``TablesResult.rebuilt_all`` says why), so no table ever mixes
    two zones. Runs under the data root's writer lock (``pipeline.writer_lock``).
    """
    with writer_lock(paths, "updating the tables"):
        return _update_tables(paths, dates, tz=tz, night_offset_hours=night_offset_hours)


def _update_tables(
    paths: StoragePaths,
    dates: Iterable[date] | None,
    *,
    tz: str | None,
    night_offset_hours: int | None,
) -> TablesResult:
    from pipeline.timezones import resolve_zone

    meta = read_tables_meta(paths) or {}
    zone = validate_tz(resolve_zone(paths, explicit=tz)[0])
    if night_offset_hours is None:
        night_offset_hours = int(meta.get("night_offset_hours", DEFAULT_NIGHT_OFFSET_HOURS))
    wanted = {"timezone": zone, "night_offset_hours": night_offset_hours, "schema": TABLES_SCHEMA}
    result = TablesResult(tz=zone)
    if dates is not None and _has_tables(paths) and meta != wanted:
        dates = None
        result.rebuilt_all = (
            f"time zone {meta.get('timezone')} -> {zone}"
            if meta.get("timezone") not in (None, zone)
            else f"night offset {meta.get('night_offset_hours')} -> {night_offset_hours} h"
            if meta.get("night_offset_hours") not in (None, night_offset_hours)
            else "tables built by an earlier version"
        )
    raw_by_month: dict[str, list[Path]] = {}
    raw_by_day: dict[date, Path] = {}
    for day, path in landed_files(paths):
        raw_by_month.setdefault(month_of(day), []).append(path)
        raw_by_day[day] = path

    if dates is None:
        stale = {m for name in _LOG_TABLES for m in existing_months(paths, name)}
        log_months = sorted(set(raw_by_month) | stale)
    else:
        log_months = sorted({month_of(d + timedelta(days=k)) for d in dates for k in (-1, 0, 1)})
    result.months = log_months

    con = duckdb.connect()
    try:
        install_macros(con)
        for batch in _batches(log_months, MONTHS_PER_BATCH):
            files = [p for m in batch for p in raw_by_month.get(m, [])]
            edges = (_month_bounds(batch[0])[0] - timedelta(days=1), _month_bounds(batch[-1])[1])
            context = [raw_by_day[d] for d in edges if d in raw_by_day]
            out = transform_files(
                files, tz=zone, night_offset_hours=night_offset_hours, con=con, context_files=context
            )
            result.dates += out.files
            result.logs += out.sleep_logs.num_rows
            result.segments += out.sleep_segments.num_rows
            result.quarantined += out.quarantined
            result.superseded += out.superseded
            _merge_counts(result.unknown_keys, out.unknown_keys)
            _merge_counts(result.unknown_levels, out.unknown_levels)
            for name, table in (
                ("sleep_logs", out.sleep_logs),
                ("sleep_segments", out.sleep_segments),
                ("sleep_alternatives", out.sleep_alternatives),
                ("quarantine", out.quarantine),
            ):
                for month, part in _split_by_month(table, _MONTH_KEY[name], batch).items():
                    _write_partition(paths, name, month, part, result)

        if dates is None:
            night_months = sorted(
                set(existing_months(paths, "nights")) | set(existing_months(paths, "sleep_logs"))
            )
        else:
            night_months = sorted({_shift(m, d) for m in log_months for d in (-1, 0)})
        _update_nights(paths, con, night_months, result)
    finally:
        con.close()
    if meta != wanted:  # rewritten only when it changes: an idempotent update leaves every file alone
        paths.tables_meta_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(paths.tables_meta_file, (json.dumps(wanted, indent=1) + "\n").encode())
    # sleep_scores come only from export archives (pipeline/sleep_scores.py owns their raw landing and table). The
    # table keeps the scores whose log is in sleep_logs, so it is rebuilt (whole: one row per night, and only changed
    # months are written) after every update of sleep_logs; `rebuild` needs nothing but raw/.
    from pipeline.sleep_scores import build_scores_table

    scores = build_scores_table(paths)
    result.scores = scores.rows
    result.scores_without_log = scores.without_log
    result.scores_problems = scores.problems
    result.files_written += len(scores.months_written)
    result.files_deleted += len(scores.months_removed)
    return result


def _update_nights(
    paths: StoragePaths, con: duckdb.DuckDBPyConnection, months: list[str], result: TablesResult
) -> None:
    """Recompute the nights of ``months`` from the sleep_logs partitions of each month and the next one."""
    for month in months:
        sources = [
            str(f)
            for f in (
                partition_file(paths, "sleep_logs", month),
                partition_file(paths, "sleep_logs", _shift(month, 1)),
            )
            if f.exists()
        ]
        if not sources:
            _write_partition(paths, "nights", month, pa.table({}), result)
            continue
        first, after = _month_bounds(month)
        listing = ", ".join("'" + s.replace("'", "''") + "'" for s in sources)
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW logs AS SELECT * FROM read_parquet([{listing}], hive_partitioning = false)"
        )
        nights = con.sql(NIGHTS_SQL, params={"first": first, "after": after}).to_arrow_table()
        result.nights_rebuilt += nights.num_rows
        _write_partition(paths, "nights", month, nights, result)
