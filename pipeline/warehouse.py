"""The DuckDB warehouse (``warehouse.duckdb``): a small file of views over Parquet parts, built new and swapped in.

Why a new file each time: DuckDB allows one writer process per file, and a read-only reader in another process
makes a writer that opens the same file fail at once ("Could not set lock on file"). Building into a fresh file and
``os.replace``-ing it over the old one never opens the reader's file for writing: a reader keeps its snapshot (the old
inode), new readers see the new file, and nobody ever sees a half-built database.

Why views over parts (issue 19): a file holding every row made the daily run write the whole history again (9.8 MB
at 10 years against 4.3 MB at 1, and far more with heart-rate samples). The file now holds views, the metric
settings, ``coverage``, ``participants`` and ``warehouse_files``; the rows are immutable Parquet parts
(``pipeline/warehouse_parts.py``): the tables' month files, copied only when a month changed, and the costly derived
relations (``sleep_bouts``, ``sri_pairs``, ``nightly_physiology``), computed at build and written per night month
only where their bytes changed. A reader's snapshot names parts no later build rewrites or deletes while it is open.

One warehouse serves every participant (docs/participants.md): each participant's Parquet is read with a
``participant_id`` column and unioned, and ``sql/warehouse.sql`` / ``sql/metrics.sql`` keep participants apart in every
join and window. A participant's figures and report read it through ``connect_participant``.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
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
from pipeline.warehouse_parts import Part, PartStore, period_of

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
WAREHOUSE_SQL = SQL_DIR / "warehouse.sql"
METRICS_SQL = SQL_DIR / "metrics.sql"
PHYSIOLOGY_SQL = SQL_DIR / "physiology.sql"
NIGHTLY_PHYSIOLOGY_SQL = SQL_DIR / "nightly_physiology.sql"
HEART_RATE_ASLEEP_SQL = SQL_DIR / "heart_rate_asleep.sql"
SLEEP_BOUTS_SQL = SQL_DIR / "sleep_bouts.sql"
SRI_PAIRS_SQL = SQL_DIR / "sri_pairs.sql"
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
    """The view ``heart_rate_asleep`` and ``nightly_physiology`` (a table when ``table``, else a view: the checks'
    view over one participant's Parquet tables, whose ``sources`` give them a ``participant_id``; the build's
    computing view, which it then stores as parts)."""
    sources = sources or {}
    con.execute(
        "CREATE VIEW heart_rate_asleep AS " + fill_placeholders(HEART_RATE_ASLEEP_SQL.read_text(), sources)
    )
    kind = "TABLE" if table else "VIEW"
    con.execute(
        f"CREATE {kind} nightly_physiology AS "
        + fill_placeholders(NIGHTLY_PHYSIOLOGY_SQL.read_text(), sources)
    )


def _read_parts(parts: list[Part]) -> str:
    listing = ", ".join(_literal(p.path) for p in parts)
    return f"read_parquet([{listing}], hive_partitioning = false)"


def _with_participant_id(empty: pa.Table) -> pa.Table:
    return empty.add_column(0, "participant_id", pa.array([], pa.string()))


def _copied_source(store: PartStore, inputs: list[StoragePaths], name: str, empty: pa.Table) -> str:
    """Every participant's month files of table ``name``, as the warehouse's own parts, in one relation with a
    ``participant_id`` column (an empty part with the table's columns when no participant has one)."""
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
        return _read_parts([store.put(name, "", "", _parquet_bytes(_with_participant_id(empty)))])
    return "(" + " UNION ALL BY NAME ".join(selects) + ")"


# The derived relations stored as parts by night month, with the order that makes their parts' bytes deterministic.
DERIVED_ORDER = {
    "sleep_bouts": "start_sec, period_id, bout_no",
    "sri_pairs": "night_date",
    "nightly_physiology": "night_date",
}


def _materialize(con: duckdb.DuckDBPyConnection, store: PartStore, name: str) -> None:
    """Compute the view ``name`` once, store its rows as parts by participant and period of ``night_date``
    (``warehouse_parts.period_of``; rewriting only the parts whose bytes changed), and point the view at the parts,
    keeping its ORDER BY."""
    rows = con.sql(
        f"SELECT *, CASE WHEN year(night_date) < max(year(night_date)) OVER (PARTITION BY participant_id) "
        f"THEN strftime(night_date, '%Y') ELSE strftime(night_date, '%Y-%m') END AS __period FROM {name} "
        f"ORDER BY participant_id, __period, {DERIVED_ORDER[name]}"
    ).to_arrow_table()
    keys = list(
        zip(rows.column("participant_id").to_pylist(), rows.column("__period").to_pylist(), strict=True)
    )
    rows = rows.drop_columns(["__period"])
    parts, start = [], 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            who, month = keys[start]
            parts.append(store.put(name, who, month, _parquet_bytes(rows.slice(start, i - start))))
            start = i
    if not parts:
        parts.append(store.put(name, "", "", _parquet_bytes(rows)))
    order = "participant_id, night_date" if name == "nightly_physiology" else None
    if order is None:
        statement = re.search(rf"CREATE VIEW {name} AS .*? ORDER BY ([^;]+);", METRICS_SQL.read_text())
        assert statement is not None, name
        order = statement.group(1)
    con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {_read_parts(parts)} ORDER BY {order}")


def _inline(path: Path) -> str:
    return "(\n" + path.read_text(encoding="utf-8") + "\n)"


def _install(
    con: duckdb.DuckDBPyConnection, store: PartStore, paths: StoragePaths, metrics: MetricSettings
) -> None:
    """Every relation of the warehouse on ``con``: views over parts, and the small tables."""
    inputs = with_data(paths)
    sources: dict[str, str] = {}
    empties: dict[str, pa.Table] | None = None
    for name in PARQUET_TABLES:
        if not any(table_files(p, name) for p in inputs):
            empties = empties or _empty_schemas()
        sources[name] = _copied_source(store, inputs, name, (empties or {}).get(name, pa.table({})))
    con.register("coverage_arrow", pa.concat_tables([coverage_table(p) for p in inputs]))
    sources["coverage"] = (
        "(SELECT participant_id, date, state, source, source_ref, fetched_at_text::TIMESTAMPTZ AS fetched_at "
        "FROM coverage_arrow)"
    )
    con.register("participants_arrow", participants_table(paths))
    sources["participants"] = "participants_arrow"
    con.execute(fill_placeholders(WAREHOUSE_SQL.read_text(encoding="utf-8"), sources))
    physiology = {
        name: _copied_source(store, inputs, name, PHYSIOLOGY_SCHEMAS[name].empty_table())
        for name in PHYSIOLOGY_TABLES
    }
    con.execute(fill_placeholders(PHYSIOLOGY_SQL.read_text(encoding="utf-8"), physiology))
    install_nightly_physiology(con, table=False)
    _materialize(con, store, "nightly_physiology")
    install_metric_settings(con, metrics)
    derived = {"sleep_bouts": _inline(SLEEP_BOUTS_SQL), "sri_pairs": _inline(SRI_PAIRS_SQL)}
    con.execute(fill_placeholders(METRICS_SQL.read_text(encoding="utf-8"), derived))
    _materialize(con, store, "sleep_bouts")
    _materialize(con, store, "sri_pairs")


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
    with PartStore(paths).lock():
        store = PartStore(paths)  # after the lock: the parts in place are the last build's
        remove_stale_temps(target.parent)  # a build killed before its swap left its temp file (and .wal)
        fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(target.name), suffix=".tmp", dir=target.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        tmp.unlink()  # DuckDB must create the file itself
        try:
            con = duckdb.connect(str(tmp))
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
