"""Data checks on the landing and the tables, shared by Dagster (asset checks) and the CLI import.

Why two kinds, and which is which (issue 13, ``../shared/DESIGN.md`` "Fitbit facts"):

- **Blocking** checks guard invariants that only our own code can break: a duplicated ``log_id``, a log counted in
  two nights (or in none), overlapping logs (Fitbit does not produce them; a stale copy of a moved log would), rows
  outside the run window or left over from a re-fetch, and a landed log that is neither in ``sleep_logs`` nor in the
  quarantine. If one fails, every number downstream is wrong, so the run stops.
- **Warnings** count Fitbit's own quirks, which real accounts have at known rates
  (``../shared/reference/real-fitbit-data.md`` §1): classic minutes that do not add up to the time in bed, segment
  sums off by an epoch, levels we do not know (``unknown``), very long "main" sleeps, records in quarantine. The data
  lands as Fitbit sent it; the metadata says how many and gives examples, and the run goes on.

Why outside Dagster: the CLI import (``fitbit-sleep import``) and the Dagster ``archive_import_job`` must run the
same rules and agree on the outcome, so the rules are plain functions over an in-memory DuckDB with one view per
Parquet table (never the warehouse file, which only its builder writes). ``dagster_project/checks.py`` binds them to
asset checks. In a partitioned run they look at the run's window; otherwise (an import, or a check run from the UI)
at the whole history.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

from pipeline.paths import StoragePaths

EPOCH_S = 30  # the resolution of stages data; segments may run one epoch past duration (DESIGN.md)
ONE_MINUTE_EPOCH_S = 60  # real stages logs have segments one 60-s epoch longer than their duration
LONG_MAIN_SLEEP_MIN = 15 * 60  # DESIGN.md: main sleeps range from about 1.5 h to 15 h
KNOWN_LEVELS = ("deep", "light", "rem", "wake", "asleep", "restless", "awake")
TABLES = ("sleep_logs", "sleep_segments", "nights", "quarantine")
MAX_EXAMPLES = 5


@contextmanager
def tables_connection(paths: StoragePaths) -> Iterator[duckdb.DuckDBPyConnection]:
    """In-memory DuckDB with one view per Parquet table (an empty view when the table has no files yet)."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        for name in TABLES:
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


def has_rows(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """False when the table has no partition file yet (its view is the ``_empty`` placeholder)."""
    cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    return cols != ["_empty"]


@dataclass
class CheckInputs:
    """What every check reads: the data root, the run window (None = whole history) and the user's today (only the
    freshness checks of ``dagster_project/checks.py`` need it).

    The DuckDB view over the Parquet tables is opened once, on first use, and shared by the checks."""

    paths: StoragePaths
    window: tuple[date, date] | None
    today: date | None = None
    _stack: ExitStack = field(default_factory=ExitStack)
    _con: duckdb.DuckDBPyConnection | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = self._stack.enter_context(tables_connection(self.paths))
        return self._con

    def __enter__(self) -> CheckInputs:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def has_rows(self, table: str) -> bool:
        return has_rows(self.con, table)

    def where(self, column: str) -> tuple[str, list[Any]]:
        """SQL condition (and its parameters) keeping ``column`` inside the run window."""
        if self.window is None:
            return "true", []
        return f"{column} BETWEEN ? AND ?", [self.window[0], self.window[1]]

    def window_days(self) -> Iterator[tuple[date, Any]]:
        """(date, raw file) of every landed date inside the window."""
        from pipeline.landing import landed_files

        for day, path in landed_files(self.paths):
            if self.window is None or self.window[0] <= day <= self.window[1]:
                yield day, path


Verdict = tuple[bool, dict[str, Any]]


@dataclass(frozen=True)
class Check:
    """One check: which asset it guards, whether a failure stops the run (blocking) or only warns, and its rule."""

    name: str
    asset: str  # "raw_sleep" | "sleep_tables"
    description: str
    rule: Callable[[CheckInputs], Verdict]
    blocking: bool = False


@dataclass(frozen=True)
class CheckOutcome:
    """The result of one check, as the CLI prints it and Dagster records it."""

    name: str
    blocking: bool
    passed: bool
    metadata: dict[str, Any]


def examples(rows: list[Any], fmt: Callable[[Any], str]) -> str:
    return "\n".join(fmt(r) for r in rows[:MAX_EXAMPLES])


def _valid_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


def _raw_logs(inp: CheckInputs) -> Iterator[tuple[date, str, Any, Any]]:
    """(landed date, file name, file's date, log) of every log in the raw files of the window."""
    for day, path in inp.window_days():
        try:
            record = json.loads(path.read_bytes())
        except ValueError:
            continue  # an unreadable raw file is quarantined as a whole by the transform
        payload = record.get("payload") if isinstance(record, dict) else None
        logs = payload.get("sleep") if isinstance(payload, dict) else None
        for log in logs if isinstance(logs, list) else []:
            yield day, path.name, record.get("date"), log


# --- blocking: what our own code could get wrong ----------------------------------------------------------------


def raw_dates_inside_run_window(inp: CheckInputs) -> Verdict:
    misplaced = 0
    found: list[str] = []
    for day, name, file_date, log in _raw_logs(inp):
        log_date = _valid_date(log.get("dateOfSleep")) if isinstance(log, dict) else None
        # A record without a readable dateOfSleep is the quarantine's (it lands wherever an import could place
        # it); a readable one filed under another date is ours.
        if (log_date is not None and log_date != day) or file_date != day.isoformat():
            misplaced += 1
            if len(found) < MAX_EXAMPLES:
                log_id = log.get("logId") if isinstance(log, dict) else None
                found.append(f"{name}: logId {log_id} dateOfSleep {log_date}")
    dates_checked = sum(1 for _ in inp.window_days())
    return misplaced == 0, {
        "dates_checked": dates_checked,
        "misplaced_logs": misplaced,
        "examples": "\n".join(found),
    }


def log_id_unique(inp: CheckInputs) -> Verdict:
    if not inp.has_rows("sleep_logs"):
        return True, {"logs": 0, "duplicates": 0}
    rows = inp.con.execute(
        "SELECT log_id, count(*) FROM sleep_logs GROUP BY log_id HAVING count(*) > 1 ORDER BY log_id"
    ).fetchall()
    logs = inp.con.execute("SELECT count(*) FROM sleep_logs").fetchone()
    return not rows, {
        "logs": int(logs[0]) if logs else 0,
        "duplicates": sum(int(n) - 1 for _, n in rows),
        "examples": examples(rows, lambda r: f"log {r[0]}: {r[1]} rows"),
    }


def log_in_one_night(inp: CheckInputs) -> Verdict:
    """Every log of sleep_logs is in exactly one night (its own night_date), and no night lists an absent log."""
    if not inp.has_rows("sleep_logs"):
        return True, {"logs_checked": 0, "in_two_nights": 0, "in_no_night": 0, "unknown_logs": 0}
    if not inp.has_rows("nights"):
        listed = "(SELECT NULL::BIGINT AS log_id, NULL::DATE AS night_date WHERE false)"
    else:
        listed = "(SELECT unnest(log_ids) AS log_id, night_date FROM nights)"
    where, params = inp.where("l.date_of_sleep")
    rows = inp.con.execute(
        f"""
        WITH listed AS {listed},
        per_log AS (
            SELECT l.log_id, l.night_date, list_sort(list(n.night_date) FILTER (WHERE n.night_date IS NOT NULL))
                   AS nights
            FROM sleep_logs l LEFT JOIN listed n USING (log_id)
            WHERE {where}
            GROUP BY l.log_id, l.night_date
        )
        SELECT log_id, night_date, nights FROM per_log
        WHERE len(nights) <> 1 OR nights[1] <> night_date
        ORDER BY log_id
        """,
        params,
    ).fetchall()
    checked = inp.con.execute(f"SELECT count(*) FROM sleep_logs l WHERE {where}", params).fetchone()
    unknown = (
        inp.con.execute(
            f"WITH listed AS {listed} SELECT n.log_id, n.night_date FROM listed n "
            "ANTI JOIN sleep_logs l USING (log_id) ORDER BY 1"
        ).fetchall()
        if inp.window is None
        else []
    )
    two = [r for r in rows if len(r[2]) > 1]
    none = [r for r in rows if len(r[2]) == 0]
    wrong = [r for r in rows if len(r[2]) == 1]
    return not rows and not unknown, {
        "logs_checked": int(checked[0]) if checked else 0,
        "in_two_nights": len(two),
        "in_no_night": len(none),
        "in_another_night": len(wrong),
        "unknown_logs": len(unknown),
        "examples": examples(
            rows,
            lambda r: f"log {r[0]} (night {r[1]}): in nights {', '.join(str(d) for d in r[2]) or 'none'}",
        )
        + ("\n" if rows and unknown else "")
        + examples(unknown, lambda r: f"night {r[1]} lists log {r[0]}, which is not in sleep_logs"),
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
        ORDER BY a.date_of_sleep, a.log_id
        """,
        params,
    ).fetchall()
    return not rows, {
        "overlaps": len(rows),
        "examples": examples(rows, lambda r: f"logs {r[0]} and {r[1]} ({r[2]})"),
    }


def _raw_log_ids(inp: CheckInputs) -> dict[int, date]:
    """logId -> landed date of every log with an integer id in the raw files of the window."""
    found: dict[int, date] = {}
    for day, _name, _file_date, log in _raw_logs(inp):
        log_id = log.get("logId") if isinstance(log, dict) else None
        if isinstance(log_id, int) and not isinstance(log_id, bool):
            found[log_id] = day
    return found


def table_dates_inside_run_window(inp: CheckInputs) -> Verdict:
    window = inp.window
    if window is None:
        return True, {"window": "none (whole history)"}
    raw_ids = set(_raw_log_ids(inp))
    rows = (
        inp.con.execute(
            "SELECT log_id FROM sleep_logs WHERE log_id IS NOT NULL AND date_of_sleep BETWEEN ? AND ?",
            [window[0], window[1]],
        ).fetchall()
        if inp.has_rows("sleep_logs")
        else []
    )
    stale = sorted({int(r[0]) for r in rows} - raw_ids)
    return not stale, {
        "window": f"{window[0]}..{window[1]}",
        "logs_in_window": len(rows),
        "rows_not_in_raw": len(stale),
        "examples": ", ".join(map(str, stale[:MAX_EXAMPLES])),
    }


def landed_logs_in_tables(inp: CheckInputs) -> Verdict:
    """Every landed log with an id is in sleep_logs (on any date: a moved log keeps its newest copy) or quarantined."""
    raw = _raw_log_ids(inp)
    present: set[int] = set()
    for table in ("sleep_logs", "quarantine"):
        if inp.has_rows(table) and raw:
            present.update(
                int(r[0])
                for r in inp.con.execute(
                    f"SELECT DISTINCT log_id FROM {table} WHERE log_id IS NOT NULL"
                ).fetchall()
            )
    missing = sorted(set(raw) - present)
    return not missing, {
        "landed_logs": len(raw),
        "missing_from_tables": len(missing),
        "examples": examples(missing, lambda log_id: f"log {log_id} landed on {raw[log_id]}"),
    }


# --- warnings: Fitbit's quirks, counted -------------------------------------------------------------------------


def segments_add_up(inp: CheckInputs) -> Verdict:
    if not (inp.has_rows("sleep_logs") and inp.has_rows("sleep_segments")):
        return True, {"logs_checked": 0, "off_by_one_epoch": 0, "off_by_more": 0}
    where, params = inp.where("l.date_of_sleep")
    rows = inp.con.execute(
        f"""
        WITH s AS (SELECT log_id, sum(seconds) AS seconds FROM sleep_segments WHERE NOT is_short GROUP BY 1)
        SELECT l.log_id, l.type, (l.duration_ms // 1000)::BIGINT AS duration_s, s.seconds
        FROM sleep_logs l JOIN s USING (log_id)
        WHERE {where}
        ORDER BY l.date_of_sleep, l.log_id
        """,
        params,
    ).fetchall()
    one = [r for r in rows if EPOCH_S < abs(r[3] - r[2]) <= ONE_MINUTE_EPOCH_S]
    more = [r for r in rows if abs(r[3] - r[2]) > ONE_MINUTE_EPOCH_S]
    return not (one or more), {
        "logs_checked": len(rows),
        "off_by_one_epoch": len(one),
        "off_by_more": len(more),
        "examples": examples(
            one + more,
            lambda r: f"{r[1]} log {r[0]}: segments {r[3]} s vs duration {r[2]} s ({r[3] - r[2]:+d} s)",
        ),
    }


def minutes_add_up(inp: CheckInputs) -> Verdict:
    """asleep + awake = in bed, allowing minutes in 'unknown' segments and before/after sleep (±1 min)."""
    if not inp.has_rows("sleep_logs"):
        return True, {"logs_checked": 0, "classic_mismatched": 0, "stages_mismatched": 0}
    where, params = inp.where("date_of_sleep")
    rows = inp.con.execute(
        f"""
        SELECT log_id, type, time_in_bed, minutes_asleep + minutes_awake AS accounted
        FROM sleep_logs
        WHERE {where}
          AND abs(time_in_bed - minutes_asleep - minutes_awake)
              > coalesce(unknown_minutes, 0) + coalesce(minutes_to_fall_asleep, 0)
                + coalesce(minutes_after_wakeup, 0) + 1
        ORDER BY date_of_sleep, log_id
        """,
        params,
    ).fetchall()
    checked = inp.con.execute(f"SELECT count(*) FROM sleep_logs WHERE {where}", params).fetchone()
    classic = [r for r in rows if r[1] == "classic"]
    return not rows, {
        "logs_checked": int(checked[0]) if checked else 0,
        "classic_mismatched": len(classic),
        "stages_mismatched": len(rows) - len(classic),
        "examples": examples(rows, lambda r: f"{r[1]} log {r[0]}: in bed {r[2]} vs asleep+awake {r[3]}"),
    }


def unknown_levels(inp: CheckInputs) -> Verdict:
    if not inp.has_rows("sleep_segments"):
        return True, {"segments": 0, "logs": 0}
    known = ", ".join(f"'{level}'" for level in KNOWN_LEVELS)
    where, params = inp.where("date_of_sleep")
    rows = inp.con.execute(
        f"""
        SELECT level, count(*) AS segments, count(DISTINCT log_id) AS logs, round(sum(seconds) / 60.0, 1),
               min(log_id)
        FROM sleep_segments
        WHERE NOT is_short AND level NOT IN ({known}) AND {where}
        GROUP BY level ORDER BY level
        """,
        params,
    ).fetchall()
    return not rows, {
        "segments": sum(int(r[1]) for r in rows),
        "logs": sum(int(r[2]) for r in rows),
        "examples": examples(
            rows, lambda r: f"level {r[0]!r}: {r[1]} segments in {r[2]} logs, {r[3]} min, first in log {r[4]}"
        ),
    }


def long_main_sleeps(inp: CheckInputs) -> Verdict:
    if not inp.has_rows("sleep_logs"):
        return True, {"long_main_sleeps": 0}
    where, params = inp.where("date_of_sleep")
    rows = inp.con.execute(
        f"""
        SELECT log_id, type, time_in_bed, strftime(start_local, '%Y-%m-%d %H:%M'), strftime(end_local, '%H:%M')
        FROM sleep_logs WHERE is_main_sleep AND time_in_bed > {LONG_MAIN_SLEEP_MIN} AND {where}
        ORDER BY date_of_sleep, log_id
        """,
        params,
    ).fetchall()
    return not rows, {
        "long_main_sleeps": len(rows),
        "threshold_minutes": LONG_MAIN_SLEEP_MIN,
        "examples": examples(rows, lambda r: f"{r[1]} log {r[0]}: {r[2]} min, {r[3]}-{r[4]}"),
    }


def quarantine_empty(inp: CheckInputs) -> Verdict:
    if not inp.has_rows("quarantine"):
        return True, {"quarantined": 0}
    where, params = inp.where("date")
    rows = inp.con.execute(
        f"SELECT date, log_id, reason FROM quarantine WHERE {where} ORDER BY date, position NULLS FIRST",
        params,
    ).fetchall()
    return not rows, {
        "quarantined": len(rows),
        "examples": examples(rows, lambda r: f"{r[0]} log {r[1]}: {r[2]}"),
    }


DATA_CHECKS: tuple[Check, ...] = (
    Check(
        "raw_dates_inside_run_window",
        "raw_sleep",
        "Every landed log sits in the file of its own dateOfSleep, and every date of the run window is inside the "
        "window the API was asked for.",
        raw_dates_inside_run_window,
        blocking=True,
    ),
    Check("log_id_unique", "sleep_tables", "log_id is unique in sleep_logs.", log_id_unique, blocking=True),
    Check(
        "log_in_one_night",
        "sleep_tables",
        "Every sleep log is counted in exactly one night (its own night_date), and no night lists a log that is "
        "not in sleep_logs.",
        log_in_one_night,
        blocking=True,
    ),
    Check(
        "no_overlapping_logs",
        "sleep_tables",
        "No two sleep logs overlap in time (Fitbit does not produce them; a stale copy of a moved log would).",
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
        "landed_logs_in_tables",
        "sleep_tables",
        "Every landed log with a logId is in sleep_logs or, with its reason, in the quarantine: nothing is lost.",
        landed_logs_in_tables,
        blocking=True,
    ),
    Check(
        "segments_add_up",
        "sleep_tables",
        f"WARN (Fitbit's arithmetic) when the 'data' segments of a log differ from its duration by more than "
        f"{EPOCH_S} s: counts logs off by one 60-s epoch (seen in real stages logs) and off by more. shortData "
        "wakes overlay the data and are not counted.",
        segments_add_up,
    ),
    Check(
        "minutes_add_up",
        "sleep_tables",
        "WARN (Fitbit's arithmetic) when minutes asleep + awake differ from the time in bed beyond the minutes in "
        "'unknown' segments and before/after sleep (±1 min); real classic logs often do (restless minutes counted "
        "differently).",
        minutes_add_up,
    ),
    Check(
        "unknown_levels",
        "sleep_tables",
        "WARN when segments carry a level we do not know (e.g. Fitbit's 'unknown'): kept as given, counted as not "
        "asleep.",
        unknown_levels,
    ),
    Check(
        "long_main_sleeps",
        "sleep_tables",
        f"WARN when a log Fitbit flagged as main sleep is longer than {LONG_MAIN_SLEEP_MIN // 60} h: it lands, but "
        "it skews means and plots.",
        long_main_sleeps,
    ),
    Check(
        "quarantine_empty",
        "sleep_tables",
        "WARN when the quarantine holds records that could not be read (no id, no times, unparseable).",
        quarantine_empty,
    ),
)


def run_checks(
    paths: StoragePaths,
    window: tuple[date, date] | None = None,
    *,
    checks: tuple[Check, ...] = DATA_CHECKS,
    asset: str | None = "sleep_tables",
) -> list[CheckOutcome]:
    """Run ``checks`` (those of ``asset``; None = all) and return their outcomes, in order."""
    selected = [c for c in checks if asset is None or c.asset == asset]
    with CheckInputs(paths, window) as inputs:
        return [CheckOutcome(c.name, c.blocking, *evaluate(c, inputs)) for c in selected]


def evaluate(check: Check, inputs: CheckInputs) -> Verdict:
    """The check's verdict; a rule that raises (a row of a shape nobody foresaw) fails the check with the error as
    its cause instead of failing the whole run with a message that hides which check and why."""
    try:
        return check.rule(inputs)
    except Exception as exc:  # noqa: BLE001 - any rule error is reported, never raised
        return False, {"error": f"{check.name} could not finish: {type(exc).__name__}: {exc}"}


def describe(outcome: CheckOutcome) -> str:
    """One line for a terminal: the check's counts and its first example."""
    counts = ", ".join(
        f"{key.replace('_', ' ')} {value}"
        for key, value in outcome.metadata.items()
        if isinstance(value, int) and not isinstance(value, bool)
    )
    first = str(outcome.metadata.get("error") or outcome.metadata.get("examples") or "").split("\n")[0]
    return f"{outcome.name}:" + (f" {counts}" if counts else "") + (f" (e.g. {first})" if first else "")
