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
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    multi_asset_check,
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


@dataclass
class CheckInputs:
    """What every check reads: the data root, the run window (None = whole history) and the user's today.

    The DuckDB view over the Parquet tables is opened once per step, on first use, and shared by the checks."""

    paths: StoragePaths
    window: tuple[date, date] | None
    today: date
    _stack: ExitStack = field(default_factory=ExitStack)
    _con: duckdb.DuckDBPyConnection | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = self._stack.enter_context(tables_connection(self.paths))
        return self._con

    def __enter__(self) -> "CheckInputs":
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def has_rows(self, table: str) -> bool:
        return _has_rows(self.con, table)

    def where(self, column: str) -> tuple[str, list[Any]]:
        return _window_sql(self.window, column)


Verdict = tuple[bool, dict[str, Any]]


@dataclass(frozen=True)
class Check:
    """One check: which asset it guards, whether a failure stops the run (blocking) or only warns, and its rule."""

    name: str
    asset: str  # "raw_sleep" | "sleep_tables"
    description: str
    rule: Callable[[CheckInputs], Verdict]
    blocking: bool = False

    @property
    def severity(self) -> AssetCheckSeverity:
        return AssetCheckSeverity.ERROR if self.blocking else AssetCheckSeverity.WARN


def _examples(rows: list[Any], fmt: Callable[[Any], str]) -> str:
    return "\n".join(fmt(r) for r in rows[:5])


def raw_dates_inside_run_window(inp: CheckInputs) -> Verdict:
    from pipeline.landing import landed_files

    checked = misplaced = 0
    examples: list[str] = []
    for day, path in landed_files(inp.paths):
        if inp.window is not None and not inp.window[0] <= day <= inp.window[1]:
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
    return misplaced == 0, {
        "dates_checked": checked,
        "misplaced_logs": misplaced,
        "examples": "\n".join(examples),
    }


def pending_dates(inp: CheckInputs) -> Verdict:
    from pipeline.landing import landed_files, read_header

    window = inp.window
    pending = [
        day.isoformat()
        for day, path in landed_files(inp.paths)
        if (window is None or window[0] <= day <= window[1]) and read_header(path).state == "pending"
    ]
    return not pending, {"pending_dates": len(pending), "dates": ", ".join(pending[-20:])}


def token_health(inp: CheckInputs) -> Verdict:
    return token_health_facts(inp.paths)


def log_id_unique(inp: CheckInputs) -> Verdict:
    if not inp.has_rows("sleep_logs"):
        return True, {"logs": 0, "duplicates": 0}
    logs, distinct = inp.con.execute(
        "SELECT count(*), count(DISTINCT log_id) FROM sleep_logs"
    ).fetchone() or (0, 0)
    return logs == distinct, {"logs": logs, "duplicates": logs - distinct}


def segments_add_up(inp: CheckInputs) -> Verdict:
    if not (inp.has_rows("sleep_logs") and inp.has_rows("sleep_segments")):
        return True, {"logs_checked": 0, "mismatched": 0}
    where, params = inp.where("l.date_of_sleep")
    rows = inp.con.execute(
        f"""
        WITH s AS (SELECT log_id, sum(seconds) AS seconds FROM sleep_segments WHERE NOT is_short GROUP BY 1)
        SELECT l.log_id, l.duration_ms / 1000 AS duration_s, s.seconds
        FROM sleep_logs l JOIN s USING (log_id)
        WHERE {where}
        """,
        params,
    ).fetchall()
    bad = [r for r in rows if abs(r[2] - r[1]) > SEGMENT_TOLERANCE_S]
    return not bad, {
        "logs_checked": len(rows),
        "mismatched": len(bad),
        "examples": _examples(bad, lambda r: f"log {r[0]}: segments {r[2]} s vs duration {r[1]:.0f} s"),
    }


def minutes_add_up(inp: CheckInputs) -> Verdict:
    if not inp.has_rows("sleep_logs"):
        return True, {"logs_checked": 0, "mismatched": 0}
    unknown = (
        "(SELECT log_id, sum(seconds) / 60.0 AS minutes FROM sleep_segments "
        "WHERE level = 'unknown' AND NOT is_short GROUP BY 1)"
        if inp.has_rows("sleep_segments")
        else "(SELECT NULL::BIGINT AS log_id, 0.0 AS minutes WHERE false)"
    )
    where, params = inp.where("l.date_of_sleep")
    rows = inp.con.execute(
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
    return not bad, {
        "logs_checked": len(rows),
        "mismatched": len(bad),
        "examples": _examples(bad, lambda r: f"log {r[0]}: in bed {r[1]} vs asleep+awake {r[2]}"),
    }


def no_overlapping_logs(inp: CheckInputs) -> Verdict:
    if not inp.has_rows("sleep_logs"):
        return True, {"overlaps": 0}
    where, params = inp.where("a.date_of_sleep")
    rows = inp.con.execute(
        f"""
        SELECT a.log_id, b.log_id, a.date_of_sleep
        FROM sleep_logs a JOIN sleep_logs b
          ON a.log_id < b.log_id AND a.start_utc < b.end_utc AND b.start_utc < a.end_utc
         AND b.date_of_sleep BETWEEN a.date_of_sleep - 2 AND a.date_of_sleep + 2
        WHERE {where}
        """,
        params,
    ).fetchall()
    return not rows, {
        "overlaps": len(rows),
        "examples": _examples(rows, lambda r: f"logs {r[0]} and {r[1]} ({r[2]})"),
    }


def table_dates_inside_run_window(inp: CheckInputs) -> Verdict:
    from pipeline.landing import read_day

    window = inp.window
    if window is None:
        return True, {"window": "none (whole history)"}
    raw_ids: set[int] = set()
    day = window[0]
    while day <= window[1]:
        record = read_day(inp.paths, day) or {}
        raw_ids.update(
            int(log["logId"]) for log in record.get("payload", {}).get("sleep", []) if "logId" in log
        )
        day += timedelta(days=1)
    rows = (
        inp.con.execute(
            "SELECT log_id FROM sleep_logs WHERE date_of_sleep BETWEEN ? AND ?", [window[0], window[1]]
        ).fetchall()
        if inp.has_rows("sleep_logs")
        else []
    )
    stale = sorted({int(r[0]) for r in rows} - raw_ids)
    return not stale, {
        "window": f"{window[0]}..{window[1]}",
        "logs_in_window": len(rows),
        "rows_not_in_raw": len(stale),
        "examples": ", ".join(map(str, stale[:5])),
    }


def quarantine_empty(inp: CheckInputs) -> Verdict:
    row = (
        inp.con.execute("SELECT count(*) FROM quarantine").fetchone() if inp.has_rows("quarantine") else None
    )
    n = row[0] if row else 0
    return n == 0, {"quarantined": n}


def _main_sleep_dates(inp: CheckInputs, first: date, last: date) -> set[date]:
    if not inp.has_rows("sleep_logs"):
        return set()
    rows = inp.con.execute(
        "SELECT DISTINCT date_of_sleep FROM sleep_logs WHERE is_main_sleep AND date_of_sleep BETWEEN ? AND ?",
        [first, last],
    ).fetchall()
    return {r[0] for r in rows}


def recent_nights_present(inp: CheckInputs) -> Verdict:
    today = inp.today
    wanted = [today - timedelta(days=i) for i in range(1, RECENT_NIGHTS_DAYS + 1)]
    have = _main_sleep_dates(inp, wanted[-1], wanted[0])
    gaps = [d for d in wanted if d not in have]
    without_sleep = nights_known_without_sleep(inp, gaps, today)
    missing = sorted(d.isoformat() for d in gaps if d not in without_sleep)
    return not missing, {
        "missing_dates": len(missing),
        "dates": ", ".join(missing),
        "nights_without_sleep": ", ".join(sorted(d.isoformat() for d in without_sleep)) or "none",
    }


def nights_known_without_sleep(inp: CheckInputs, gaps: list[date], today: date) -> set[date]:
    """The dates among ``gaps`` that Fitbit answered as final without a main sleep *after* a later night had synced.

    Why this tells "no sleep recorded" from "not synced yet": a tracker syncs its nights in order, so once a later
    night is at Fitbit, an answer for an earlier date is final. A date's raw file says when its current answer was
    first seen (``fetched_at``); when that is no earlier than the arrival of a later main sleep, the date was
    fetched after the sync (a backfill, or one range call covering both). A gap fetched before any later night
    arrived (the tracker may not have synced then) stays a warning.
    """
    from pipeline.landing import read_header

    candidates: dict[date, datetime] = {}
    for day in gaps:
        path = inp.paths.raw_sleep_file(day)
        if path.exists():
            header = read_header(path)
            if header.state != "pending":
                candidates[day] = _parse_utc(header.fetched_at)
    if not candidates:
        return set()
    later_nights = _main_sleep_dates(inp, min(candidates) + timedelta(days=1), today)
    arrived = {
        night: _parse_utc(read_header(inp.paths.raw_sleep_file(night)).fetched_at)
        for night in later_nights
        if inp.paths.raw_sleep_file(night).exists()
    }
    return {
        day
        for day, fetched in candidates.items()
        if any(night > day and seen <= fetched for night, seen in arrived.items())
    }


def _parse_utc(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def last_night_arrived(inp: CheckInputs) -> Verdict:
    today = inp.today
    latest = None
    if inp.has_rows("sleep_logs"):
        row = inp.con.execute("SELECT max(date_of_sleep) FROM sleep_logs WHERE is_main_sleep").fetchone()
        latest = row[0] if row else None
    arrived = latest is not None and latest >= today
    facts: dict[str, Any] = {
        "night_of": (today - timedelta(days=1)).isoformat(),
        "date_of_sleep": today.isoformat(),
        "latest_main_sleep": latest.isoformat() if latest else "none",
    }
    if not arrived:
        facts["problem"] = (
            f"Yesterday's night ({facts['night_of']}, dateOfSleep {today}) has not arrived: the newest main sleep "
            f"is from {facts['latest_main_sleep']}."
        )
        facts["hint"] = "Open the Fitbit app to sync; the next daily run re-fetches the last days."
    return arrived, facts


CHECKS: tuple[Check, ...] = (
    Check(
        "raw_dates_inside_run_window",
        "raw_sleep",
        "Every landed log sits in the file of its own dateOfSleep, and every date of the run window is inside the "
        "window the API was asked for.",
        raw_dates_inside_run_window,
        blocking=True,
    ),
    Check(
        "pending_dates",
        "raw_sleep",
        "WARN while dates of the run window are still 'pending' at Fitbit (not final); the next daily run fetches "
        "them again.",
        pending_dates,
    ),
    Check(
        "token_health",
        "raw_sleep",
        "WARN before the Fitbit login is lost: the last token refresh failed, a refresh was interrupted, or the "
        f"refresh token has not been used for {TOKEN_IDLE_WARN_DAYS}+ days (FITBIT_SLEEP_TOKEN_IDLE_DAYS). No "
        "token value is ever shown.",
        token_health,
    ),
    Check("log_id_unique", "sleep_tables", "log_id is unique in sleep_logs.", log_id_unique, blocking=True),
    Check(
        "segments_add_up",
        "sleep_tables",
        f"The 'data' segments of each log add up to its duration (±{SEGMENT_TOLERANCE_S} s); shortData wakes "
        "overlay them and are not counted.",
        segments_add_up,
        blocking=True,
    ),
    Check(
        "minutes_add_up",
        "sleep_tables",
        "minutes_asleep + minutes_awake equals time_in_bed, allowing for minutes in 'unknown' segments and "
        "before/after sleep (±1 min).",
        minutes_add_up,
        blocking=True,
    ),
    Check(
        "no_overlapping_logs",
        "sleep_tables",
        "No two sleep logs overlap in time.",
        no_overlapping_logs,
        blocking=True,
    ),
    Check(
        "table_dates_inside_run_window",
        "sleep_tables",
        "The table rows dated inside the run window are exactly logs of the window's raw files: no log survives a "
        "re-fetch that dropped it, and none is filed under another date.",
        table_dates_inside_run_window,
        blocking=True,
    ),
    Check(
        "quarantine_empty",
        "sleep_tables",
        "WARN when the quarantine holds records that failed validation.",
        quarantine_empty,
    ),
    Check(
        "recent_nights_present",
        "sleep_tables",
        f"WARN when any of the last {RECENT_NIGHTS_DAYS} dates before today has no main sleep that may still come "
        "(not fetched yet, pending, or fetched before the tracker synced a later night). A date Fitbit answered "
        "without sleep after a later night had synced is a night without sleep, listed in nights_without_sleep.",
        recent_nights_present,
    ),
    Check(
        "last_night_arrived",
        "sleep_tables",
        "Freshness: WARN when yesterday's night (its main sleep has dateOfSleep = today in the user's time zone) "
        "has not arrived yet.",
        last_night_arrived,
    ),
)


def build_checks(
    raw_sleep: Any, sleep_tables: Any, today: Callable[[], date], archive_import: Any
) -> list[AssetChecksDefinition]:
    """Every check, bound to the project's assets (built per Definitions so tests can use their own).

    Why two multi-asset checks (one step per asset) instead of one step per check: each step costs a dozen
    event-log writes and its own DuckDB set-up, which made the checks a quarter of a 100-day run. Each check keeps
    its own key, result and history in the UI, and ``can_subset`` still lets the UI (or the token-health job) run
    one alone. Blocking checks fail their step after every result is recorded, which skips the steps downstream.
    The table checks also depend on the archive import, so in an import run they run after it.
    """
    assets = {"raw_sleep": raw_sleep, "sleep_tables": sleep_tables}
    return [
        _multi_check(f"{name}_checks", assets[name], [c for c in CHECKS if c.asset == name], today, extra)
        for name, extra in (("raw_sleep", []), ("sleep_tables", [archive_import]))
    ]


def _multi_check(
    step: str, asset: Any, checks: list[Check], today: Callable[[], date], additional_deps: list[Any]
) -> AssetChecksDefinition:
    by_name = {c.name: c for c in checks}
    specs = [
        AssetCheckSpec(
            c.name,
            asset=asset,
            description=c.description,
            blocking=c.blocking,
            additional_deps=additional_deps,
        )
        for c in checks
    ]

    @multi_asset_check(name=step, specs=specs, can_subset=True)
    def run_checks(
        context: AssetCheckExecutionContext, storage: StorageResource
    ) -> Iterator[AssetCheckResult]:
        with CheckInputs(storage.paths(), run_window(dict(context.run.tags)), today()) as inputs:
            for key in sorted(context.selected_asset_check_keys, key=lambda k: list(by_name).index(k.name)):
                check = by_name[key.name]
                passed, metadata = check.rule(inputs)
                yield AssetCheckResult(
                    asset_key=key.asset_key,
                    check_name=key.name,
                    passed=passed,
                    severity=check.severity,
                    metadata=metadata,
                )

    return run_checks


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
