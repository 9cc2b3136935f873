"""The DuckDB warehouse (``warehouse.duckdb``): a small file of views over Parquet parts, built new and swapped in.

Why a new file each time: DuckDB allows one writer process per file, and a read-only reader in another process
makes a writer that opens the same file fail at once ("Could not set lock on file"). Building into a fresh file and
``os.replace``-ing it over the old one never opens the reader's file for writing: a reader keeps its snapshot (the old
inode), new readers see the new file, and nobody ever sees a half-built database.

Why parts (issue 19): a file holding every row made the daily run write the whole history again (9.8 MB at 10 years
against 4.3 MB at 1, and hundreds of MB once heart-rate samples are in). The relations of one row per segment or
sample (``sleep_segments``, ``heart_rate`` and the derived ``sleep_bouts``: ~90% of the rows) are now views over
immutable Parquet parts (``pipeline/warehouse_parts.py``): the tables' month files, copied only when a month changed,
and ``sleep_bouts`` computed at build and written per period only where its bytes changed. The tables of one row per
night, log or day stay tables in the file: they are small (~1.2 MB at 10 years, inside DuckDB's 256 kB blocks that
a table takes anyway), a read-only table is what `fitbit-sleep sql` refuses to change, and the figures query them
fastest. A reader's snapshot names parts no later build rewrites, nor deletes while the reader is open.

One warehouse serves every participant (docs/participants.md): each participant's Parquet is read with a
``participant_id`` column and unioned, and ``sql/warehouse.sql`` / ``sql/metrics.sql`` keep participants apart in every
join and window. A participant's figures and report read it through ``connect_participant``.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from pipeline.atomic import kill_point, remove_stale_temps, temp_prefix
from pipeline.errors import FitbitSleepError
from pipeline.landing import landed_files, read_header
from pipeline.metric_settings import MetricSettings
from pipeline.participants import list_participants, with_data
from pipeline.paths import StoragePaths
from pipeline.physiology_tables import PHYSIOLOGY_TABLES
from pipeline.physiology_tables import SCHEMAS as PHYSIOLOGY_SCHEMAS
from pipeline.tables import NIGHTS_SQL, _parquet_bytes, table_files
from pipeline.transform import transform_files
from pipeline.warehouse_parts import Part, PartStore, build_lock, period_of

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
WAREHOUSE_SQL = SQL_DIR / "warehouse.sql"
METRICS_SQL = SQL_DIR / "metrics.sql"
PHYSIOLOGY_SQL = SQL_DIR / "physiology.sql"
NIGHTLY_PHYSIOLOGY_SQL = SQL_DIR / "nightly_physiology.sql"
HEART_RATE_ASLEEP_SQL = SQL_DIR / "heart_rate_asleep.sql"
SLEEP_BOUTS_SQL = SQL_DIR / "sleep_bouts.sql"
QUERIES_DIR = SQL_DIR / "queries"
COUNTS_SQL = QUERIES_DIR / "counts.sql"
WAREHOUSE_TABLES = (
    "sleep_logs",
    "sleep_segments",
    "sleep_alternatives",
    "nights",
    "quarantine",
    "sleep_scores",
    "coverage",
)
PARQUET_TABLES = WAREHOUSE_TABLES[
    :-1
]  # coverage comes from the landing (and `participants` from the registry)
# The relations of one row per segment or sample: views over the warehouse's parts, not tables in its file.
PART_TABLES = ("sleep_segments", "heart_rate")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


class WarehouseMissing(FitbitSleepError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"No warehouse at {path} yet. Run `fitbit-sleep rebuild` (or `fitbit-sleep fetch`) first."
        )


@dataclass
class WarehouseResult:
    path: Path
    rows: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # nights, main_sleeps, naps (sql/queries/counts.sql)
    physiology_rows: dict[str, int] = field(
        default_factory=dict
    )  # the physiology tables and nightly_physiology
    bytes: int = 0  # the size of warehouse.duckdb itself
    bytes_written: int = 0  # what this build wrote: warehouse.duckdb and the new parts
    parts_written: int = 0
    parts_reused: int = 0
    seconds: float = 0.0


def _empty_schemas() -> dict[str, pa.Table]:
    """Zero-row tables with the right columns, for tables that have no partition file yet."""
    empty = transform_files([], tz="UTC")
    con = duckdb.connect()
    try:
        con.register("logs_arrow", empty.sleep_logs)
        con.execute("CREATE TEMP VIEW logs AS SELECT * FROM logs_arrow")
        nights = con.sql(
            NIGHTS_SQL, params={"first": date(2000, 1, 1), "after": date(2000, 1, 2)}
        ).to_arrow_table()
    finally:
        con.close()
    from pipeline.sleep_scores import SCHEMA as SCORES_SCHEMA

    return {
        "sleep_logs": empty.sleep_logs,
        "sleep_segments": empty.sleep_segments,
        "sleep_alternatives": empty.sleep_alternatives,
        "quarantine": empty.quarantine,
        "nights": nights,
        "sleep_scores": SCORES_SCHEMA.empty_table(),
    }


def coverage_table(paths: StoragePaths) -> pa.Table:
    """One row per landed date, from the first bytes of each raw file (the payload is not parsed)."""
    headers = [read_header(path) for _, path in landed_files(paths)]
    return pa.table(
        {
            "participant_id": pa.array([paths.participant_id] * len(headers), pa.string()),
            "date": pa.array([h.date for h in headers], pa.date32()),
            "state": pa.array([h.state for h in headers], pa.string()),
            "source": pa.array([h.source for h in headers], pa.string()),
            "source_ref": pa.array([h.source_ref for h in headers], pa.string()),
            "fetched_at_text": pa.array([h.fetched_at for h in headers], pa.string()),
        }
    )


def participants_table(paths: StoragePaths) -> pa.Table:
    """The registry as a table: every participant, active or retired, with its zone and dates."""
    people = list_participants(paths)
    return pa.table(
        {
            "participant_id": pa.array([p.id for p in people], pa.string()),
            "status": pa.array([p.status for p in people], pa.string()),
            "timezone": pa.array([p.timezone for p in people], pa.string()),
            "added_at": pa.array([p.added_at for p in people], pa.string()),
            "retired_at": pa.array([p.retired_at for p in people], pa.string()),
        }
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def install_metric_settings(con: duckdb.DuckDBPyConnection, settings: MetricSettings) -> None:
    """The tables ``sql/metrics.sql`` reads its variants from: ``metric_settings`` (one row) and ``free_dates``."""
    con.execute(
        "CREATE TABLE metric_settings AS SELECT $epoch::INTEGER AS sri_epoch_seconds, "
        "$awakening::DOUBLE AS awakening_minutes, $weekdays::INTEGER[] AS free_weekdays, "
        "$goal::DOUBLE AS sleep_goal_hours",
        {
            "epoch": settings.sri_epoch_seconds,
            "awakening": settings.awakening_minutes,
            "weekdays": list(settings.free_weekdays),
            "goal": settings.sleep_goal_hours,
        },
    )
    con.register("free_dates_arrow", pa.table({"day": pa.array(settings.free_dates, pa.date32())}))
    con.execute("CREATE TABLE free_dates AS SELECT day FROM free_dates_arrow ORDER BY day")
    con.unregister("free_dates_arrow")


def fill_placeholders(sql: str, sources: dict[str, str]) -> str:
    """``{{name}}`` -> ``sources[name]`` (or ``name`` itself when not given: a relation of the connection)."""
    return _PLACEHOLDER.sub(lambda m: sources.get(m.group(1), m.group(1)), sql)


def install_nightly_physiology(
    con: duckdb.DuckDBPyConnection, *, table: bool, sources: dict[str, str] | None = None
) -> None:
    """The view ``heart_rate_asleep`` and ``nightly_physiology`` (a table in the warehouse, a view for the checks
    over one participant's Parquet tables, whose ``sources`` give them a ``participant_id``)."""
    sources = sources or {}
    con.execute(
        "CREATE VIEW heart_rate_asleep AS " + fill_placeholders(HEART_RATE_ASLEEP_SQL.read_text(), sources)
    )
    kind = "TABLE" if table else "VIEW"
    con.execute(
        f"CREATE {kind} nightly_physiology AS "
        + fill_placeholders(NIGHTLY_PHYSIOLOGY_SQL.read_text(), sources)
    )


def participants_source(inputs: list[StoragePaths], name: str) -> str | None:
    """Every participant's partition files of table ``name`` as one relation with a ``participant_id`` column
    (None when no participant has a file of it)."""
    parts = [
        f"(SELECT {_literal(p.participant_id)} AS participant_id, * FROM read_parquet([{listing}], "
        "hive_partitioning = false))"
        for p in inputs
        if (listing := ", ".join(_literal(str(f)) for f in table_files(p, name)))
    ]
    return "(" + " UNION ALL BY NAME ".join(parts) + ")" if parts else None


def _read_parts(parts: list[Part]) -> str:
    listing = ", ".join(_literal(p.path) for p in parts)
    return f"read_parquet([{listing}], hive_partitioning = false)"


def _parts_source(store: PartStore, inputs: list[StoragePaths], name: str, empty: pa.Table) -> str:
    """Every participant's month files of table ``name`` as the warehouse's own parts (a closed year in one), in
    one relation with a ``participant_id`` column (an empty part with the table's columns when nobody has one)."""
    selects = []
    for p in inputs:
        by_period: dict[str, list[Path]] = {}
        files = table_files(p, name)
        open_year = files[-1].parent.name.removeprefix("month=")[:4] if files else ""
        for f in files:
            month = f.parent.name.removeprefix("month=")
            by_period.setdefault(period_of(month, open_year), []).append(f)
        parts = [store.merge(name, p.participant_id, period, group) for period, group in by_period.items()]
        if parts:
            selects.append(
                f"(SELECT {_literal(p.participant_id)} AS participant_id, * FROM {_read_parts(parts)})"
            )
    if not selects:
        empty = empty.add_column(0, "participant_id", pa.array([], pa.string()))
        return _read_parts([store.put(name, "", "", _parquet_bytes(empty))])
    return "(" + " UNION ALL BY NAME ".join(selects) + ")"


def _sources(
    con: duckdb.DuckDBPyConnection,
    store: PartStore,
    inputs: list[StoragePaths],
    empties: Callable[[str], pa.Table],
    names: tuple[str, ...],
) -> dict[str, str]:
    """The relation each placeholder of ``names`` stands for: the partition files (a table copied into the file),
    or the warehouse's parts for the relations of one row per segment or sample (``PART_TABLES``, views)."""
    sources: dict[str, str] = {}
    for name in names:
        if name in PART_TABLES:
            sources[name] = _parts_source(store, inputs, name, empties(name))
            continue
        source = participants_source(inputs, name)
        if source is None:
            con.register(f"empty_{name}", empties(name))
            source = f"(SELECT NULL::VARCHAR AS participant_id, * FROM empty_{name})"
        sources[name] = source
    return sources


def _materialize_bouts(con: duckdb.DuckDBPyConnection, store: PartStore, view: str) -> None:
    """Compute ``sleep_bouts`` (``sql/sleep_bouts.sql``) once, store its rows as parts by participant and period of
    ``night_date`` (``warehouse_parts.period_of``; only parts whose bytes changed are written), and point the view
    at the parts (``view``: its statement in ``sql/metrics.sql``, with its ORDER BY)."""
    rows = con.sql(
        "SELECT *, CASE WHEN year(night_date) < max(year(night_date)) OVER (PARTITION BY participant_id) "
        "THEN strftime(night_date, '%Y') ELSE strftime(night_date, '%Y-%m') END AS __period FROM sleep_bouts "
        "ORDER BY participant_id, __period, start_sec, period_id, bout_no"
    ).to_arrow_table()
    keys = list(
        zip(rows.column("participant_id").to_pylist(), rows.column("__period").to_pylist(), strict=True)
    )
    rows = rows.drop_columns(["__period"])
    parts, start = [], 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            who, period = keys[start]
            parts.append(store.put("sleep_bouts", who, period, _parquet_bytes(rows.slice(start, i - start))))
            start = i
    if not parts:
        parts.append(store.put("sleep_bouts", "", "", _parquet_bytes(rows)))
    con.execute(
        view.replace("CREATE VIEW", "CREATE OR REPLACE VIEW").replace("{{sleep_bouts}}", _read_parts(parts))
    )


def _install(
    con: duckdb.DuckDBPyConnection, store: PartStore, paths: StoragePaths, metrics: MetricSettings
) -> None:
    """Every relation of the warehouse on ``con``: the tables, and the views over parts."""
    inputs = with_data(paths)
    cache: dict[str, pa.Table] = {}

    def empties(name: str) -> pa.Table:
        """Zero rows of table ``name`` (the sleep tables' schemas cost a transform: made only when needed)."""
        if name in PHYSIOLOGY_SCHEMAS:
            return PHYSIOLOGY_SCHEMAS[name].empty_table()
        if not cache:
            cache.update(_empty_schemas())
        return cache[name]

    sources = _sources(con, store, inputs, empties, PARQUET_TABLES)
    con.register("coverage_arrow", pa.concat_tables([coverage_table(p) for p in inputs]))
    sources["coverage"] = (
        "(SELECT participant_id, date, state, source, source_ref, fetched_at_text::TIMESTAMPTZ AS fetched_at "
        "FROM coverage_arrow)"
    )
    con.register("participants_arrow", participants_table(paths))
    sources["participants"] = "participants_arrow"
    con.execute(fill_placeholders(WAREHOUSE_SQL.read_text(encoding="utf-8"), sources))
    physiology = _sources(con, store, inputs, empties, PHYSIOLOGY_TABLES)
    con.execute(fill_placeholders(PHYSIOLOGY_SQL.read_text(encoding="utf-8"), physiology))
    install_nightly_physiology(con, table=True)
    install_metric_settings(con, metrics)
    # metrics.sql up to the sleep_bouts view (computing it inline), the bouts stored as parts, then the rest, which
    # reads the parts (sri_pairs, a table, would otherwise compute the bouts a second time)
    script = METRICS_SQL.read_text(encoding="utf-8")
    found = re.search(r"CREATE VIEW sleep_bouts AS .*?;\n", script)
    assert found is not None, "sql/metrics.sql defines the view sleep_bouts"
    bouts = {"sleep_bouts": "(\n" + SLEEP_BOUTS_SQL.read_text(encoding="utf-8") + "\n)"}
    con.execute(fill_placeholders(script[: found.end()], bouts))
    _materialize_bouts(con, store, found.group(0))
    con.execute(script[found.end() :])


def _record_parts(con: duckdb.DuckDBPyConnection, parts: list[Part]) -> None:
    """``warehouse_files``: the parts this warehouse's views read (the sealed SQL shell may read these and no other
    file)."""
    con.register(
        "parts_arrow",
        pa.table(
            {
                "table_name": pa.array([p.table for p in parts], pa.string()),
                "participant_id": pa.array([p.participant_id or None for p in parts], pa.string()),
                "month": pa.array([p.month or None for p in parts], pa.string()),
                "path": pa.array([p.path for p in parts], pa.string()),
                "bytes": pa.array([p.bytes for p in parts], pa.int64()),
            }
        ),
    )
    con.execute("CREATE TABLE warehouse_files AS SELECT * FROM parts_arrow ORDER BY path")
    con.unregister("parts_arrow")


def build_warehouse(paths: StoragePaths, metrics: MetricSettings | None = None) -> WarehouseResult:
    """Build ``warehouse.duckdb`` from the Parquet tables and the landing; readers are never blocked.

    ``metrics`` picks the variants of the sleep-science views (default: ``MetricSettings.from_env``)."""
    started = time.perf_counter()
    metrics = metrics or MetricSettings.from_env(paths)
    target = paths.warehouse_file
    target.parent.mkdir(parents=True, exist_ok=True)
    with build_lock(paths):
        store = PartStore(paths)  # after the lock: the parts in place are the last build's
        remove_stale_temps(target.parent)  # a build killed before its swap left its temp file (and .wal)
        fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(target.name), suffix=".tmp", dir=target.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        tmp.unlink()  # DuckDB must create the file itself
        try:
            # One DuckDB thread: a second one added ~12 MB to the build's peak at 10 years (the backfill's), no time.
            con = duckdb.connect(str(tmp), config={"threads": 1})
            try:
                con.execute("SET TimeZone = 'UTC'")
                _install(con, store, paths, metrics)
                _record_parts(con, store.parts)
                rows, physiology_rows = (
                    {
                        name: int(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0])
                        for name in names
                    }
                    for names in (WAREHOUSE_TABLES, (*PHYSIOLOGY_TABLES, "nightly_physiology"))
                )
                counts = count_nights(con)
                con.execute("CHECKPOINT")
            finally:
                con.close()
            with tmp.open("rb+") as handle:
                os.fsync(handle.fileno())
            size = tmp.stat().st_size
            kill_point(target)
            store.publish(tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            Path(str(tmp) + ".wal").unlink(missing_ok=True)
            raise
        store.collect()
    return WarehouseResult(
        path=target,
        rows=rows,
        physiology_rows=physiology_rows,
        counts=counts,
        bytes=size,
        bytes_written=size + store.bytes_written,
        parts_written=store.written,
        parts_reused=store.reused,
        seconds=time.perf_counter() - started,
    )


def count_nights(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """``nights``, ``main_sleeps`` and ``naps`` as every summary prints them (``sql/queries/counts.sql``).

    It reads only the ``nights`` table, so ``con`` can be the warehouse or the Parquet views of the checks."""
    cur = con.execute(COUNTS_SQL.read_text(encoding="utf-8"))
    row = cur.fetchone() or ()
    return {d[0]: int(v or 0) for d, v in zip(cur.description or [], row, strict=True)}


def connect_readonly(paths: StoragePaths, *, sealed: bool = False) -> duckdb.DuckDBPyConnection:
    """A read-only connection on the current warehouse file (a snapshot: a later rebuild does not disturb it).

    ``sealed`` (the SQL shell): no file outside the warehouse (the file and the parts its views read, listed in
    ``warehouse_files``) can be read or written (``COPY … TO``, ``read_text``, ``ATTACH``, extension installs), and
    the setting is locked so SQL cannot lift it. ``read_only`` alone protects only the warehouse file itself."""
    if not paths.warehouse_file.exists():
        raise WarehouseMissing(paths.warehouse_file)
    con = duckdb.connect(str(paths.warehouse_file), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    if sealed:
        files = [r[0] for r in con.execute("SELECT path FROM warehouse_files").fetchall()]
        con.execute(f"SET allowed_paths = [{', '.join(_literal(f) for f in files)}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    return con


def connect_participant(paths: StoragePaths) -> duckdb.DuckDBPyConnection:
    """The shared warehouse as one participant (``paths.participant_id``) sees it, read-only.

    Why views of the same names: every query written for one person (the figures, the report, status) runs unchanged.
    An in-memory database attaches the warehouse read-only and defines each of its tables and views under the same
    name, filtered to the participant; the warehouse's macros stay reachable through the search path. Filtering a
    view's output is exact because every view keeps participants apart. A root whose only participant is the default
    one gets the plain connection (nothing to filter)."""
    if not paths.warehouse_file.exists():
        raise WarehouseMissing(paths.warehouse_file)
    if [p.id for p in list_participants(paths)] == [paths.participant_id]:
        return connect_readonly(paths)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"ATTACH {_literal(str(paths.warehouse_file))} AS cohort (READ_ONLY)")
        relations = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'cohort' "
            "UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name = 'cohort' AND NOT internal"
        ).fetchall()
        with_id = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_columns() "
                "WHERE database_name = 'cohort' AND column_name = 'participant_id'"
            ).fetchall()
        }
        who = _literal(paths.participant_id)
        for (name,) in relations:
            where = f" WHERE participant_id = {who}" if name in with_id else ""
            con.execute(f'CREATE VIEW main."{name}" AS SELECT * FROM cohort.main."{name}"{where}')
        con.execute("SET search_path = 'memory.main,cohort.main'")
    except BaseException:
        con.close()
        raise
    return con
