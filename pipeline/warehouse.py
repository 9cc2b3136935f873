"""The DuckDB warehouse (``warehouse.duckdb``): built from ``sql/warehouse.sql`` into a temp file, then swapped in.

Why a new file each time: DuckDB allows one writer process per file, and a read-only reader in another process
makes a writer that opens the same file fail at once ("Could not set lock on file"). Building into a fresh file and
``os.replace``-ing it over the old one never opens the reader's file for writing: a reader keeps its snapshot (the old
inode), new readers see the new file, and nobody ever sees a half-built database. Rebuilding whole is cheap because
the inputs are ~120 month files per table at 10 years (see bench/bench_tables.py).

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
from pipeline.tables import NIGHTS_SQL, table_files
from pipeline.transform import transform_files

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
WAREHOUSE_SQL = SQL_DIR / "warehouse.sql"
METRICS_SQL = SQL_DIR / "metrics.sql"
PHYSIOLOGY_SQL = SQL_DIR / "physiology.sql"
NIGHTLY_PHYSIOLOGY_SQL = SQL_DIR / "nightly_physiology.sql"
HEART_RATE_ASLEEP_SQL = SQL_DIR / "heart_rate_asleep.sql"
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
    bytes: int = 0
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


def _add_physiology(con: duckdb.DuckDBPyConnection, inputs: list[StoragePaths]) -> None:
    """The physiology tables (``sql/physiology.sql``) of every participant and ``nightly_physiology``, after the
    sleep tables it reads."""
    sources: dict[str, str] = {}
    for name in PHYSIOLOGY_TABLES:
        source = participants_source(inputs, name)
        if source is None:
            con.register(f"empty_{name}", PHYSIOLOGY_SCHEMAS[name].empty_table())
            source = f"(SELECT NULL::VARCHAR AS participant_id, * FROM empty_{name})"
        sources[name] = source
    con.execute(fill_placeholders(PHYSIOLOGY_SQL.read_text(encoding="utf-8"), sources))
    install_nightly_physiology(con, table=True)


def build_warehouse(paths: StoragePaths, metrics: MetricSettings | None = None) -> WarehouseResult:
    """Build ``warehouse.duckdb`` from the Parquet tables and the landing; readers are never blocked.

    ``metrics`` picks the variants of the sleep-science views (default: ``MetricSettings.from_env``)."""
    started = time.perf_counter()
    metrics = metrics or MetricSettings.from_env(paths)
    target = paths.warehouse_file
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target.parent)  # a build killed before its swap left its temp file (and .wal)
    fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(target.name), suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # DuckDB must create the file itself
    empties: dict[str, pa.Table] | None = None
    try:
        # One DuckDB thread: a second one added ~12 MB to the build's peak at 10 years (the backfill's), no time.
        con = duckdb.connect(str(tmp), config={"threads": 1})
        try:
            con.execute("SET TimeZone = 'UTC'")
            inputs = with_data(paths)
            sources: dict[str, str] = {}
            for name in PARQUET_TABLES:
                source = participants_source(inputs, name)
                if source is None:
                    empties = empties or _empty_schemas()
                    con.register(f"empty_{name}", empties[name])
                    source = f"(SELECT NULL::VARCHAR AS participant_id, * FROM empty_{name})"
                sources[name] = source
            con.register("coverage_arrow", pa.concat_tables([coverage_table(p) for p in inputs]))
            sources["coverage"] = (
                "(SELECT participant_id, date, state, source, source_ref, fetched_at_text::TIMESTAMPTZ AS fetched_at "
                "FROM coverage_arrow)"
            )
            con.register("participants_arrow", participants_table(paths))
            sources["participants"] = "participants_arrow"
            script = _PLACEHOLDER.sub(
                lambda m: sources[m.group(1)], WAREHOUSE_SQL.read_text(encoding="utf-8")
            )
            con.execute(script)
            _add_physiology(con, inputs)
            install_metric_settings(con, metrics)
            con.execute(METRICS_SQL.read_text(encoding="utf-8"))
            rows, physiology_rows = (
                {name: int(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]) for name in names}
                for names in (WAREHOUSE_TABLES, (*PHYSIOLOGY_TABLES, "nightly_physiology"))
            )
            counts = count_nights(con)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        with tmp.open("rb+") as handle:
            os.fsync(handle.fileno())
        kill_point(target)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
        raise
    return WarehouseResult(
        path=target,
        rows=rows,
        physiology_rows=physiology_rows,
        counts=counts,
        bytes=target.stat().st_size,
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

    ``sealed`` (the SQL shell): no file outside the warehouse can be read or written (``COPY … TO``,
    ``read_text``, ``ATTACH``, extension installs), and the setting is locked so SQL cannot lift it. ``read_only``
    alone protects only the warehouse file itself."""
    if not paths.warehouse_file.exists():
        raise WarehouseMissing(paths.warehouse_file)
    config: dict[str, str | bool | int | float | list[str]] = (
        {"enable_external_access": False} if sealed else {}
    )
    con = duckdb.connect(str(paths.warehouse_file), read_only=True, config=config)
    con.execute("SET TimeZone = 'UTC'")
    if sealed:
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
