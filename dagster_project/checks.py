"""Asset checks on the landing and the tables.

Why these: each blocking check guards an invariant that, if broken, would make every number downstream wrong (a
duplicated log doubles a night; segments that do not add up break the hypnogram and the stage shares; overlapping
logs double-count sleep; a log filed under the wrong date lands in the wrong partition). The WARN checks report
things a person should look at but that are not errors in the data (a quarantined record, a night not synced yet,
a login about to be lost).

Checks read the Parquet tables with an in-memory DuckDB (never the warehouse file, which only its builder
writes). In a partitioned run they look at the run's window, read from the run's partition tags; run on their own
from the UI they look at everything.
"""

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    asset_check,
)

from dagster_project.resources import StorageResource
from pipeline.paths import StoragePaths

SEGMENT_TOLERANCE_S = 30
RECENT_NIGHTS_DAYS = 7
TOKEN_IDLE_WARN_DAYS = 10
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"


def run_window(tags: dict[str, str]) -> tuple[date, date] | None:
    """The inclusive date window of a run from its partition tags; None for an unpartitioned (whole) check run."""
    if RANGE_START_TAG in tags and RANGE_END_TAG in tags:
        return date.fromisoformat(tags[RANGE_START_TAG]), date.fromisoformat(tags[RANGE_END_TAG])
    if PARTITION_TAG in tags:
        day = date.fromisoformat(tags[PARTITION_TAG])
        return day, day
    return None


@contextmanager
def tables_connection(paths: StoragePaths) -> Iterator[duckdb.DuckDBPyConnection]:
    """In-memory DuckDB with one view per Parquet table (an empty view when the table has no files yet)."""
    con = duckdb.connect()
    try:
        for name in ("sleep_logs", "sleep_segments", "nights", "quarantine"):
            files = sorted(str(p) for p in paths.table_dir(name).glob("month=*/*.parquet"))
            if files:
                listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
                con.execute(
                    f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{listed}], union_by_name = true)"
                )
            else:
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM (SELECT 1 AS _empty) WHERE false")
        yield con
    finally:
        con.close()


def _has_rows(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    return cols != ["_empty"]


def _window_sql(window: tuple[date, date] | None, column: str = "date_of_sleep") -> tuple[str, list[Any]]:
    if window is None:
        return "true", []
    return f"{column} BETWEEN ? AND ?", [window[0], window[1]]


def _context_window(context: AssetCheckExecutionContext) -> tuple[date, date] | None:
    return run_window(dict(context.run.tags))


def build_checks(
    raw_sleep: Any, sleep_tables: Any, timezone: str, archive_import: Any
) -> list[AssetChecksDefinition]:
    """Every check, bound to the project's assets (built per Definitions so tests can use their own).

    The table checks also depend on the archive import, so in an import run they run after it.
    """
    after_import = [archive_import]

    @asset_check(
        asset=raw_sleep,
        blocking=True,
        description="Every landed log sits in the file of its own "
        "dateOfSleep, and every date of the run window is inside the window the API was asked for.",
    )
    def raw_dates_inside_run_window(
        context: AssetCheckExecutionContext, storage: StorageResource
    ) -> AssetCheckResult:
        from pipeline.landing import landed_files

        paths = storage.paths()
        window = _context_window(context)
        checked = misplaced = 0
        examples: list[str] = []
        for day, path in landed_files(paths):
            if window is not None and not window[0] <= day <= window[1]:
                continue
            record = json.loads(path.read_bytes())
            checked += 1
            for log in record.get("payload", {}).get("sleep", []):
                if log.get("dateOfSleep") != day.isoformat() or record.get("date") != day.isoformat():
                    misplaced += 1
                    if len(examples) < 5:
                        examples.append(
                            f"{path.name}: logId {log.get('logId')} dateOfSleep {log.get('dateOfSleep')}"
                        )
        return AssetCheckResult(
            passed=misplaced == 0,
            metadata={"dates_checked": checked, "misplaced_logs": misplaced, "examples": "\n".join(examples)},
        )

    @asset_check(
        asset=raw_sleep,
        description="WARN while dates of the run window are still 'pending' at Fitbit "
        "(not final); the next daily run fetches them again.",
    )
    def pending_dates(context: AssetCheckExecutionContext, storage: StorageResource) -> AssetCheckResult:
        from pipeline.landing import landed_files, read_header

        window = _context_window(context)
        pending = [
            day.isoformat()
            for day, path in landed_files(storage.paths())
            if (window is None or window[0] <= day <= window[1]) and read_header(path).state == "pending"
        ]
        return AssetCheckResult(
            passed=not pending,
            severity=AssetCheckSeverity.WARN,
            metadata={"pending_dates": len(pending), "dates": ", ".join(pending[-20:])},
        )

    @asset_check(
        asset=raw_sleep,
        description="WARN before the Fitbit login is lost: the last token refresh "
        "failed, a refresh was interrupted, or the refresh token has not been used for "
        f"{TOKEN_IDLE_WARN_DAYS}+ days (FITBIT_SLEEP_TOKEN_IDLE_DAYS). No token value is ever shown.",
    )
    def token_health(storage: StorageResource) -> AssetCheckResult:
        passed, facts = token_health_facts(storage.paths())
        return AssetCheckResult(passed=passed, severity=AssetCheckSeverity.WARN, metadata=facts)

    @asset_check(
        asset=sleep_tables,
        additional_deps=after_import,
        blocking=True,
        description="log_id is unique in sleep_logs.",
    )
    def log_id_unique(storage: StorageResource) -> AssetCheckResult:
        with tables_connection(storage.paths()) as con:
            if not _has_rows(con, "sleep_logs"):
                return AssetCheckResult(passed=True, metadata={"logs": 0, "duplicates": 0})
            logs, distinct = con.execute(
                "SELECT count(*), count(DISTINCT log_id) FROM sleep_logs"
            ).fetchone() or (0, 0)
        return AssetCheckResult(
            passed=logs == distinct, metadata={"logs": logs, "duplicates": logs - distinct}
        )

    @asset_check(
        asset=sleep_tables,
        additional_deps=after_import,
        blocking=True,
        description="The 'data' segments of each log add up to its "
        f"duration (±{SEGMENT_TOLERANCE_S} s); shortData wakes overlay them and are not counted.",
    )
    def segments_add_up(context: AssetCheckExecutionContext, storage: StorageResource) -> AssetCheckResult:
        where, params = _window_sql(_context_window(context), "l.date_of_sleep")
        with tables_connection(storage.paths()) as con:
            if not (_has_rows(con, "sleep_logs") and _has_rows(con, "sleep_segments")):
                return AssetCheckResult(passed=True, metadata={"logs_checked": 0, "mismatched": 0})
            rows = con.execute(
                f"""
                WITH s AS (SELECT log_id, sum(seconds) AS seconds FROM sleep_segments WHERE NOT is_short GROUP BY 1)
                SELECT l.log_id, l.duration_ms / 1000 AS duration_s, s.seconds
                FROM sleep_logs l JOIN s USING (log_id)
                WHERE {where}
                """,
                params,
            ).fetchall()
        bad = [r for r in rows if abs(r[2] - r[1]) > SEGMENT_TOLERANCE_S]
        return AssetCheckResult(
            passed=not bad,
            metadata={
                "logs_checked": len(rows),
                "mismatched": len(bad),
                "examples": "\n".join(
                    f"log {r[0]}: segments {r[2]} s vs duration {r[1]:.0f} s" for r in bad[:5]
                ),
            },
        )

    @asset_check(
        asset=sleep_tables,
        additional_deps=after_import,
        blocking=True,
        description="minutes_asleep + minutes_awake equals "
        "time_in_bed, allowing for minutes in 'unknown' segments and before/after sleep (±1 min).",
    )
    def minutes_add_up(context: AssetCheckExecutionContext, storage: StorageResource) -> AssetCheckResult:
        where, params = _window_sql(_context_window(context), "l.date_of_sleep")
        with tables_connection(storage.paths()) as con:
            if not _has_rows(con, "sleep_logs"):
                return AssetCheckResult(passed=True, metadata={"logs_checked": 0, "mismatched": 0})
            unknown = (
                "(SELECT log_id, sum(seconds) / 60.0 AS minutes FROM sleep_segments "
                "WHERE level = 'unknown' AND NOT is_short GROUP BY 1)"
                if _has_rows(con, "sleep_segments")
                else "(SELECT NULL::BIGINT AS log_id, 0.0 AS minutes WHERE false)"
            )
            rows = con.execute(
                f"""
                SELECT l.log_id, l.time_in_bed, l.minutes_asleep + l.minutes_awake AS accounted,
                       coalesce(u.minutes, 0) + coalesce(l.minutes_to_fall_asleep, 0)
                         + coalesce(l.minutes_after_wakeup, 0) + 1 AS allowance
                FROM sleep_logs l LEFT JOIN {unknown} u USING (log_id)
                WHERE {where}
                """,
                params,
            ).fetchall()
        bad = [r for r in rows if abs(r[1] - r[2]) > r[3]]
        return AssetCheckResult(
            passed=not bad,
            metadata={
                "logs_checked": len(rows),
                "mismatched": len(bad),
                "examples": "\n".join(f"log {r[0]}: in bed {r[1]} vs asleep+awake {r[2]}" for r in bad[:5]),
            },
        )

    @asset_check(
        asset=sleep_tables,
        additional_deps=after_import,
        blocking=True,
        description="No two sleep logs overlap in time.",
    )
    def no_overlapping_logs(
        context: AssetCheckExecutionContext, storage: StorageResource
    ) -> AssetCheckResult:
        window = _context_window(context)
        where, params = _window_sql(window, "a.date_of_sleep")
        with tables_connection(storage.paths()) as con:
            if not _has_rows(con, "sleep_logs"):
                return AssetCheckResult(passed=True, metadata={"overlaps": 0})
            rows = con.execute(
                f"""
                SELECT a.log_id, b.log_id, a.date_of_sleep
                FROM sleep_logs a JOIN sleep_logs b
                  ON a.log_id < b.log_id AND a.start_utc < b.end_utc AND b.start_utc < a.end_utc
                 AND b.date_of_sleep BETWEEN a.date_of_sleep - 2 AND a.date_of_sleep + 2
                WHERE {where}
                """,
                params,
            ).fetchall()
        return AssetCheckResult(
            passed=not rows,
            metadata={
                "overlaps": len(rows),
                "examples": "\n".join(f"logs {r[0]} and {r[1]} ({r[2]})" for r in rows[:5]),
            },
        )

    @asset_check(
        asset=sleep_tables,
        additional_deps=after_import,
        blocking=True,
        description="The table rows dated inside the run window are "
        "exactly logs of the window's raw files: no log survives a re-fetch that dropped it, and none is "
        "filed under another date.",
    )
    def table_dates_inside_run_window(
        context: AssetCheckExecutionContext, storage: StorageResource
    ) -> AssetCheckResult:
        from pipeline.landing import read_day

        window = _context_window(context)
        if window is None:
            return AssetCheckResult(passed=True, metadata={"window": "none (whole history)"})
        paths = storage.paths()
        raw_ids: set[int] = set()
        day = window[0]
        while day <= window[1]:
            record = read_day(paths, day) or {}
            raw_ids.update(
                int(log["logId"]) for log in record.get("payload", {}).get("sleep", []) if "logId" in log
            )
            day += timedelta(days=1)
        with tables_connection(paths) as con:
            rows = (
                con.execute(
                    "SELECT log_id FROM sleep_logs WHERE date_of_sleep BETWEEN ? AND ?",
                    [window[0], window[1]],
                ).fetchall()
                if _has_rows(con, "sleep_logs")
                else []
            )
        stale = sorted({int(r[0]) for r in rows} - raw_ids)
        return AssetCheckResult(
            passed=not stale,
            metadata={
                "window": f"{window[0]}..{window[1]}",
                "logs_in_window": len(rows),
                "rows_not_in_raw": len(stale),
                "examples": ", ".join(map(str, stale[:5])),
            },
        )

    @asset_check(
        asset=sleep_tables,
        additional_deps=after_import,
        description="WARN when the quarantine holds records that failed validation.",
    )
    def quarantine_empty(storage: StorageResource) -> AssetCheckResult:
        with tables_connection(storage.paths()) as con:
            count = (
                con.execute("SELECT count(*) FROM quarantine").fetchone()
                if _has_rows(con, "quarantine")
                else (0,)
            )
        n = (count or (0,))[0]
        return AssetCheckResult(passed=n == 0, severity=AssetCheckSeverity.WARN, metadata={"quarantined": n})

    @asset_check(
        asset=sleep_tables,
        additional_deps=after_import,
        description=f"WARN when any of the last {RECENT_NIGHTS_DAYS} dates before "
        "today has no sleep log (not synced, device not worn, or not fetched yet).",
    )
    def recent_nights_present(storage: StorageResource) -> AssetCheckResult:
        today = datetime.now(ZoneInfo(timezone)).date()
        wanted = [today - timedelta(days=i) for i in range(1, RECENT_NIGHTS_DAYS + 1)]
        with tables_connection(storage.paths()) as con:
            have = (
                {
                    r[0]
                    for r in con.execute(
                        "SELECT DISTINCT date_of_sleep FROM sleep_logs WHERE date_of_sleep BETWEEN ? AND ?",
                        [wanted[-1], wanted[0]],
                    ).fetchall()
                }
                if _has_rows(con, "sleep_logs")
                else set()
            )
        missing = sorted(d.isoformat() for d in wanted if d not in have)
        return AssetCheckResult(
            passed=not missing,
            severity=AssetCheckSeverity.WARN,
            metadata={"missing_dates": len(missing), "dates": ", ".join(missing)},
        )

    @asset_check(
        asset=sleep_tables,
        additional_deps=after_import,
        description="Freshness: WARN when last night's main sleep (dateOfSleep = "
        "today in the user's time zone) has not arrived yet.",
    )
    def last_night_arrived(storage: StorageResource) -> AssetCheckResult:
        today = datetime.now(ZoneInfo(timezone)).date()
        with tables_connection(storage.paths()) as con:
            latest = (
                con.execute("SELECT max(date_of_sleep) FROM sleep_logs WHERE is_main_sleep").fetchone()
                if _has_rows(con, "sleep_logs")
                else (None,)
            )
        last = (latest or (None,))[0]
        return AssetCheckResult(
            passed=last is not None and last >= today,
            severity=AssetCheckSeverity.WARN,
            metadata={
                "today": today.isoformat(),
                "latest_main_sleep": last.isoformat() if last else "none",
                "hint": "Open the Fitbit app to sync; the next daily run re-fetches the last days.",
            },
        )

    return [
        raw_dates_inside_run_window,
        pending_dates,
        token_health,
        log_id_unique,
        segments_add_up,
        minutes_add_up,
        no_overlapping_logs,
        table_dates_inside_run_window,
        quarantine_empty,
        recent_nights_present,
        last_night_arrived,
    ]


def token_health_facts(paths: StoragePaths) -> tuple[bool, dict[str, Any]]:
    """(healthy, secret-free facts) about the saved login; shared by the check and the sensor."""
    from pipeline.errors import FitbitSleepError
    from pipeline.tokens import token_health as read_health

    idle_days = float(os.environ.get("FITBIT_SLEEP_TOKEN_IDLE_DAYS") or TOKEN_IDLE_WARN_DAYS)
    try:
        health = read_health(paths)
    except FitbitSleepError as exc:
        return False, {"problem": str(exc)}
    problems = []
    if health.get("last_refresh_error"):
        problems.append(f"the last token refresh failed ({health['last_refresh_error']})")
    if health.get("refresh_in_flight"):
        problems.append("a token refresh was interrupted; the next run replays it")
    age = health.get("refresh_token_age_days")
    if age is not None and age >= idle_days:
        problems.append(f"the refresh token has not been used for {age:.0f} days")
    facts: dict[str, Any] = {k: v for k, v in health.items() if isinstance(v, int | float | str)}
    facts["problem"] = "; ".join(problems) or "none"
    if problems:
        facts["hint"] = (
            "Run the daily job (or `fitbit-sleep fetch`) to use the login; if it fails, `fitbit-sleep login`."
        )
    return not problems, facts
