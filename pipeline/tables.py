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

``nights`` (one row per ``night_date``) are aggregated from ``sleep_logs``: a night's logs end on its
``night_date`` .. ``night_date + 2``, so the nights of month N are computed from the logs of months N and N+1, and an
update of month M recomputes the nights of months M-1 and M.
Definitions: ``minutes_asleep``/``time_in_bed`` sum the main sleep and the naps (logs with ``isMainSleep=false``,
which includes the earlier part of a split night); ``efficiency = 100 * asleep / in bed``; ``minutes_lost = in bed -
asleep``; stage shares are each stage's minutes over deep+light+rem+wake (stages logs only; NULL for classic-only
nights); ``is_weekend`` = the night began on a Friday or Saturday evening (the night before a weekend day);
``bedtime_local``/``waketime_local`` are the main sleep's start and end (any log's when a night has only naps).

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

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.atomic import atomic_write_bytes
from pipeline.landing import landed_files
from pipeline.paths import StoragePaths
from pipeline.transform import DEFAULT_NIGHT_OFFSET_HOURS, install_macros, transform_files, validate_tz

PART_FILE = "part-0.parquet"
# Months transformed in one DuckDB pass during a rebuild: large enough to amortise the per-query cost, small enough
# to keep the peak memory of a 10-year rebuild flat. Measured (bench/bench_tables.py (d), 2 cores): 12 months ->
# ~290 MB peak RSS, 6 -> ~250 MB for ~10% more time, 1 -> ~230 MB at 2.5x the time; ~150 MB of any of these is the
# DuckDB + pyarrow libraries themselves.
MONTHS_PER_BATCH = 6

# column used to place a row in its month partition.
_MONTH_KEY = {
    "sleep_logs": "date_of_sleep",
    "sleep_segments": "date_of_sleep",
    "quarantine": "date",
    "nights": "night_date",
}

NIGHTS_SQL = """
SELECT night_date,
       first(log_id ORDER BY minutes_asleep DESC, log_id) FILTER (WHERE is_main_sleep) AS main_log_id,
       count(*)::INTEGER AS log_count,
       list(log_id ORDER BY start_local, log_id) AS log_ids,
       sum(minutes_asleep)::INTEGER AS minutes_asleep,
       sum(time_in_bed)::INTEGER AS time_in_bed,
       (count(*) FILTER (WHERE NOT is_main_sleep))::INTEGER AS nap_count,
       coalesce(sum(minutes_asleep) FILTER (WHERE NOT is_main_sleep), 0)::INTEGER AS nap_minutes,
       dayofweek(night_date) IN (5, 6) AS is_weekend,
       CASE WHEN sum(time_in_bed) > 0 THEN round(100.0 * sum(minutes_asleep) / sum(time_in_bed), 2) END
           AS efficiency,
       (sum(time_in_bed) - sum(minutes_asleep))::INTEGER AS minutes_lost,
       sum(deep_minutes)::INTEGER AS deep_minutes,
       sum(light_minutes)::INTEGER AS light_minutes,
       sum(rem_minutes)::INTEGER AS rem_minutes,
       sum(wake_minutes)::INTEGER AS wake_minutes,
       round(sum(deep_minutes) / nullif(sum(deep_minutes + light_minutes + rem_minutes + wake_minutes), 0), 4)
           AS deep_share,
       round(sum(light_minutes) / nullif(sum(deep_minutes + light_minutes + rem_minutes + wake_minutes), 0), 4)
           AS light_share,
       round(sum(rem_minutes) / nullif(sum(deep_minutes + light_minutes + rem_minutes + wake_minutes), 0), 4)
           AS rem_share,
       round(sum(wake_minutes) / nullif(sum(deep_minutes + light_minutes + rem_minutes + wake_minutes), 0), 4)
           AS wake_share,
       coalesce(min(start_local) FILTER (WHERE is_main_sleep), min(start_local)) AS bedtime_local,
       coalesce(max(end_local) FILTER (WHERE is_main_sleep), max(end_local)) AS waketime_local,
       max(ingested_at) AS ingested_at
FROM logs
WHERE night_date >= $first AND night_date < $after
GROUP BY night_date
ORDER BY night_date
"""


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
    nights: int = 0
    quarantined: int = 0
    superseded: int = 0
    unknown_keys: dict[str, int] = field(default_factory=dict)
    unknown_levels: dict[str, int] = field(default_factory=dict)
    tz: str = "UTC"


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


def profile_timezone(paths: StoragePaths) -> str:
    """The IANA zone saved at login, or UTC when there is no profile (documented fallback)."""
    try:
        tz = json.loads(paths.profile_file.read_text(encoding="utf-8")).get("timezone")
    except (FileNotFoundError, json.JSONDecodeError, AttributeError):
        return "UTC"
    return str(tz) if tz else "UTC"


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
    night_offset_hours: int = DEFAULT_NIGHT_OFFSET_HOURS,
) -> TablesResult:
    """Rebuild the months of ``dates`` (None = every month) of every table from the raw landing.

    ``tz`` defaults to the profile's zone (``StoragePaths.profile_file``), else UTC.
    """
    zone = validate_tz(tz or profile_timezone(paths))
    result = TablesResult(tz=zone)
    raw_by_month: dict[str, list[Path]] = {}
    raw_by_day: dict[date, Path] = {}
    for day, path in landed_files(paths):
        raw_by_month.setdefault(month_of(day), []).append(path)
        raw_by_day[day] = path

    if dates is None:
        stale = {
            m for name in ("sleep_logs", "sleep_segments", "quarantine") for m in existing_months(paths, name)
        }
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
    if dates is None:
        # sleep_scores come only from export archives (pipeline/sleep_scores.py owns their raw landing and table);
        # a full rebuild rebuilds them from their raw files too, so `rebuild` needs nothing but raw/.
        from pipeline.sleep_scores import build_scores_table

        scores = build_scores_table(paths)
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
        result.nights += nights.num_rows
        _write_partition(paths, "nights", month, nights, result)
