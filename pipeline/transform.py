"""Raw landing files -> Arrow tables (sleep_logs, sleep_segments, quarantine), in DuckDB SQL over the JSON.

Why SQL over the JSON: DuckDB reads the raw files in parallel and unnests ``levels.data``/``shortData`` in
vectorised operators, so no Python code runs per log or per segment (the seed looped in pandas; see
bench/bench_tables.py). Every field is pulled out with ``json_type`` checks and ``TRY_CAST``, so a record of the wrong
shape never aborts the batch: it becomes a quarantine row with a reason and its raw text, and the rest lands.

Rules (documented here because users see their effect):

- **Validation: quarantine only what cannot be read.** Required: ``logId`` (integer), ``dateOfSleep`` (date equal
  to the landed date), ``startTime`` and ``endTime`` (local date-times, end >= start), ``duration`` (ms, 1..48 h),
  ``timeInBed``/``minutesAsleep``/``minutesAwake`` (integers >= 0), ``type`` string, ``levels.data`` array of
  ``{dateTime, level (string), seconds (> 0)}``. Optional fields (``isMainSleep``/``mainSleep`` boolean,
  ``efficiency``, ``infoCode``, ``logType``, ``minutesToFallAsleep``, ``minutesAfterWakeup``, ``shortData``) are
  checked for their type only when present. A second copy of a ``logId`` in the same raw file is quarantined.
  Fitbit's own arithmetic is *not* validated here (classic logs whose minutes do not add up, an ``efficiency`` above
  100, segments one epoch longer than the log): real accounts have all of these (``../shared/reference/
  real-fitbit-data.md`` §1), so such logs land and the checks (``pipeline/checks.py``) count them as warnings.
- **Main sleep when Fitbit does not say.** Classic-era logs from ``sleep/list.json`` and range calls (2016-2017)
  carry no ``isMainSleep`` (and no ``logType``). Such a log is decided the way Fitbit defines the main sleep: the
  longest sleep (minutes asleep, then duration) of its ``dateOfSleep``; ``main_sleep_inferred`` is true for it.
  ``is_main_sleep`` is Fitbit's flag (or this inference) and nothing more: the night model (``sql/nights.sql``,
  ``docs/night-model.md``) decides a night's main period by itself.
- **A log that moved to another date.** Editing a log upstream can change its ``dateOfSleep`` (its end moves past
  midnight); a re-fetch of the new date then lands it there while the old date's file, not fetched again, still
  holds the old copy. Of two valid copies of a ``logId`` in different files, the most recently fetched one wins
  (then the later date) and the other is dropped and counted as ``superseded``, so no phantom row or doubled night
  remains. ``context_files`` (the days next to a batch) take part in this choice but produce no rows.
- **Unknown keys** are ignored and counted (``TransformResult.unknown_keys``); **unknown level values** (e.g.
  ``unknown``, or a future stage) are kept as given and counted (``unknown_levels``).
- **Efficiency** is ours: ``100 * minutesAsleep / timeInBed`` (the API's value is wrong for stages logs, so it is
  only kept as ``api_efficiency``).
- **UTC.** Local times are converted with the profile's IANA zone. Each timestamp is converted on its own. In a
  DST fold (an hour that happens twice) the *first* occurrence is taken (Python's ``fold=0``); in a DST gap (a
  wall time that never happens) the time is shifted forward by the gap (02:30 on a spring-forward night in
  Los Angeles -> 03:30 PDT = 10:30 UTC), again as Python's ``fold=0`` does.
- **night_date** = the local date of ``startTime - night_offset_hours`` (12 h by default): the evening the night
  began, so a sleep starting at 01:30 belongs to the previous evening's night.
- **shortData** rows are kept with ``is_short = true``: they overlay ``data`` (short wakes inside longer stages) and
  are never summed with it. Stage minutes come from ``levels.summary``, which Fitbit computes after the overlay.
- ``ingested_at`` is the raw file's ``fetched_at``, not the wall clock, so rebuilding from the same landing gives
  byte-identical tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

DEFAULT_NIGHT_OFFSET_HOURS = 12

KNOWN_LOG_KEYS = (
    "dateOfSleep",
    "duration",
    "efficiency",
    "endTime",
    "infoCode",
    "isMainSleep",
    "mainSleep",
    "levels",
    "logId",
    "logType",
    "minutesAfterWakeup",
    "minutesAsleep",
    "minutesAwake",
    "minutesToFallAsleep",
    "provenance",
    "startTime",
    "timeInBed",
    "type",
)
KNOWN_LEVELS_KEYS = ("data", "shortData", "summary")
KNOWN_SEGMENT_KEYS = ("dateTime", "level", "seconds")
KNOWN_LEVEL_VALUES = ("deep", "light", "rem", "wake", "asleep", "restless", "awake")

_SUMMARY_KEYS_READ = ("count", "minutes")  # of levels.summary.<level>; thirtyDayAvgMinutes is not read


def table_fields(log: dict[str, Any]) -> dict[str, Any]:
    """The part of a log the tables are built from: two copies that agree here give the same rows.

    Why: the same log in two overlapping archive files often differs only in ``levels.summary.*.thirtyDayAvgMinutes``
    (a rolling average Fitbit recomputes) or in keys we do not know; that is no difference worth reporting."""
    out: dict[str, Any] = {k: log[k] for k in KNOWN_LOG_KEYS if k in log and k != "levels"}
    levels = log.get("levels")
    if isinstance(levels, dict):
        summary = levels.get("summary")
        out["levels"] = {
            "data": levels.get("data"),
            "shortData": levels.get("shortData"),
            "summary": (
                {
                    level: (
                        {k: v for k, v in entry.items() if k in _SUMMARY_KEYS_READ}
                        if isinstance(entry, dict)
                        else entry
                    )
                    for level, entry in summary.items()
                }
                if isinstance(summary, dict)
                else summary
            ),
        }
    elif "levels" in log:
        out["levels"] = levels
    return out


_INT_TYPES = "('BIGINT', 'UBIGINT')"

# column -> (JSON key, required); integers.
_INT_FIELDS: dict[str, tuple[str, bool]] = {
    "log_id": ("logId", True),
    "duration_ms": ("duration", True),
    "time_in_bed": ("timeInBed", True),
    "minutes_asleep": ("minutesAsleep", True),
    "minutes_awake": ("minutesAwake", True),
    "minutes_to_fall_asleep": ("minutesToFallAsleep", False),
    "minutes_after_wakeup": ("minutesAfterWakeup", False),
    "api_efficiency": ("efficiency", False),
    "info_code": ("infoCode", False),
}
_STR_FIELDS: dict[str, tuple[str, bool]] = {
    "type": ("type", True),
    "log_type": ("logType", False),
    "date_of_sleep_text": ("dateOfSleep", True),
    "start_text": ("startTime", True),
    "end_text": ("endTime", True),
}
_STAGE_KEYS = ("deep", "light", "rem", "wake", "asleep", "restless", "awake")
# Provenance a source adds to a log (``pipeline.sources``): the source family, the file and the algorithm version
# the log was read from, and the Google ids of a Takeout session. An API or legacy-export log has none: its family
# is derived from the raw file's ``source``.
_PROVENANCE_FIELDS = {
    "provenance_family": "provenance.family",
    "source_file": "provenance.file",
    "algorithm_version": "provenance.algorithmVersion",
    "sleep_id_v1": "provenance.sleepIds.sleep_session_v1",
    "sleep_id_v2": "provenance.sleepIds.sleep_session_v2",
}


@dataclass
class TransformResult:
    """Arrow tables for one batch of raw files, plus the counts a run reports."""

    sleep_logs: pa.Table
    sleep_segments: pa.Table
    quarantine: pa.Table
    sleep_alternatives: pa.Table  # Takeout sessions: every description of a session, the winner marked
    files: int = 0
    quarantined: int = 0
    superseded: int = 0
    unknown_keys: dict[str, int] = field(default_factory=dict)
    unknown_levels: dict[str, int] = field(default_factory=dict)


def _q(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


# Every JSON path the transform reads from a log, extracted in ONE json_extract call per log (``v``): DuckDB parses
# the JSON text once per call, so 50 separate extractions of a 15 kB log would parse it 50 times.
_PATHS: list[str] = []


def _v(key: str) -> str:
    """``v[i]``: the JSON value at ``$.key`` of the current log (registered on first use)."""
    if key not in _PATHS:
        _PATHS.append(key)
    return f"v[{_PATHS.index(key) + 1}]"


def _t(key: str) -> str:
    return f"json_type({_v(key)})"


def _s(key: str) -> str:
    return f"json_extract_string({_v(key)}, '$')"


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """``local_to_utc(ts, tz)``: DuckDB's ICU picks the *later* offset in a fold; we want the first occurrence.

    ``u`` is ICU's answer. ``c`` re-applies the offset in force 3 h before ``u``; if ``c`` is earlier than ``u`` and
    still shows the same wall time, the wall time happened twice and ``c`` is its first occurrence. Gaps keep ICU's
    shift-forward answer.
    """
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        """
        CREATE OR REPLACE TEMP MACRO _off_before(u, tzname) AS
            timezone(tzname, u - INTERVAL 3 HOUR) - timezone('UTC', u - INTERVAL 3 HOUR);
        CREATE OR REPLACE TEMP MACRO _utc_first(ts, tzname, u) AS
            CASE WHEN timezone('UTC', ts - _off_before(u, tzname)) < u
                  AND timezone(tzname, timezone('UTC', ts - _off_before(u, tzname))) = ts
                 THEN timezone('UTC', ts - _off_before(u, tzname)) ELSE u END;
        CREATE OR REPLACE TEMP MACRO local_to_utc(ts, tzname) AS _utc_first(ts, tzname, timezone(tzname, ts));
        """
    )


def _field_sql() -> tuple[str, str]:
    """SELECT list that extracts typed columns, and the list of reason expressions for validation."""
    cols: list[str] = []
    reasons: list[str] = []
    for fields, accepted, value, word in (
        (_INT_FIELDS, f"IN {_INT_TYPES}", "TRY_CAST({} AS BIGINT)", "an integer"),
        (_STR_FIELDS, "= 'VARCHAR'", "{}", "a string"),
    ):
        for col, (key, required) in fields.items():
            t = _t(key)
            cols.append(f"CASE WHEN {t} {accepted} THEN {value.format(_s(key))} END AS {col}")
            if required:
                reasons.append(f"CASE WHEN {t} IS NULL OR {t} = 'NULL' THEN 'missing {key}' END")
            reasons.append(
                f"CASE WHEN {t} IS NOT NULL AND {t} <> 'NULL' AND NOT ({t} {accepted}) "
                f"THEN '{key}: expected {word}, got ' || lower({t}) END"
            )
    main = f"coalesce({_t('isMainSleep')}, {_t('mainSleep')})"
    cols.append(
        "CASE WHEN " + main + " = 'BOOLEAN' THEN "
        f"TRY_CAST(coalesce({_s('isMainSleep')}, {_s('mainSleep')}) AS BOOLEAN) END AS is_main_sleep"
    )
    reasons.append(
        f"CASE WHEN {main} NOT IN ('NULL', 'BOOLEAN') THEN 'isMainSleep: expected a boolean, got ' || lower({main}) END"
    )
    for key, want in (("levels", "OBJECT"), ("levels.data", "ARRAY")):
        t = _t(key)
        reasons.append(f"CASE WHEN {t} IS NULL OR {t} = 'NULL' THEN 'missing {key}' END")
        reasons.append(
            f"CASE WHEN {t} NOT IN ('NULL', '{want}') THEN '{key}: expected {want.lower()}, got ' || lower({t}) END"
        )
    t = _t("levels.shortData")
    reasons.append(f"CASE WHEN {t} NOT IN ('NULL', 'ARRAY') THEN 'levels.shortData: expected array' END")
    for stage in _STAGE_KEYS:
        for what in ("minutes", "count"):
            cols.append(f"TRY_CAST({_s(f'levels.summary.{stage}.{what}')} AS INTEGER) AS {stage}_{what}")
    for col, key in _PROVENANCE_FIELDS.items():
        cols.append(f"{_s(key)} AS {col}")
    return ",\n    ".join(cols), ",\n        ".join(reasons)


_FIELDS_SQL, _REASONS_SQL = _field_sql()
_DATA, _SHORT = _v("levels.data"), _v("levels.shortData")
_ALTERNATIVES = _v("provenance.alternatives")
_EXTRACT_ALL = "json_extract(j, [" + ", ".join(_q(f"$.{key}") for key in _PATHS) + "])"

_VALUE_REASONS = [
    "CASE WHEN date_of_sleep_text IS NOT NULL AND TRY_CAST(date_of_sleep_text AS DATE) IS NULL "
    "THEN 'dateOfSleep: not a date' END",
    "CASE WHEN TRY_CAST(date_of_sleep_text AS DATE) <> day "
    "THEN 'dateOfSleep ' || date_of_sleep_text || ' differs from the landed date ' || day END",
    "CASE WHEN start_text IS NOT NULL AND start_local IS NULL THEN 'startTime: not a local date-time' END",
    "CASE WHEN end_text IS NOT NULL AND end_local IS NULL THEN 'endTime: not a local date-time' END",
    "CASE WHEN end_local < start_local THEN 'endTime is before startTime' END",
    "CASE WHEN duration_ms <= 0 OR duration_ms > 172800000 THEN 'duration out of range (1 ms .. 48 h)' END",
    "CASE WHEN time_in_bed < 0 OR minutes_asleep < 0 OR minutes_awake < 0 "
    "OR minutes_to_fall_asleep < 0 OR minutes_after_wakeup < 0 THEN 'negative minutes' END",
]


def _sql(tz: str, night_offset_hours: int) -> list[str]:
    """The statements of one batch, in order. ``$files`` is the list of raw file paths."""
    tzq = _q(tz)
    known_log = "[" + ", ".join(_q(k) for k in KNOWN_LOG_KEYS) + "]"
    known_levels = "[" + ", ".join(_q(k) for k in KNOWN_LEVELS_KEYS) + "]"
    known_seg = "[" + ", ".join(_q(k) for k in KNOWN_SEGMENT_KEYS) + "]"
    known_values = "[" + ", ".join(_q(k) for k in KNOWN_LEVEL_VALUES) + "]"
    return [
        # 1. raw files (registered as ``raw_texts``: file_day, text) -> one row per file; the payload stays JSON.
        # A file that is not valid JSON or not an object (damaged by hand) keeps its text for the quarantine.
        """
        CREATE OR REPLACE TEMP TABLE t_raw AS
        SELECT coalesce(TRY_CAST(x[1] ->> '$' AS DATE), file_day) AS day, x[2] ->> '$' AS source,
               TRY_CAST(x[3] ->> '$' AS TIMESTAMPTZ) AS ingested_at, json_extract(x[4], '$[*]') AS js,
               x IS NULL AS broken, text, context
        FROM (SELECT file_day, text, context,
                     CASE WHEN json_valid(text) AND json_type(text) = 'OBJECT'
                          THEN json_extract(text, ['$.date', '$.source', '$.fetched_at', '$.payload.sleep']) END AS x
              FROM raw_texts)
        """,
        # 2. one row per log (still JSON), with its position in the file and the values of every path we read.
        f"""
        CREATE OR REPLACE TEMP TABLE t_lj AS
        SELECT row_number() OVER (ORDER BY day, ord) AS rid, *,
               CASE WHEN json_type(j) = 'OBJECT' THEN {_EXTRACT_ALL} END AS v
        FROM (SELECT day, source, ingested_at, context, unnest(js) AS j, unnest(range(len(js))) AS ord
              FROM t_raw WHERE NOT broken)
        """,
        # 3. one row per segment (data and shortData), still JSON.
        f"""
        CREATE OR REPLACE TEMP TABLE t_sj AS
        WITH x AS (
            SELECT rid, context, false AS is_short, json_extract({_DATA}, '$[*]') AS ss
            FROM t_lj WHERE json_type({_DATA}) = 'ARRAY'
            UNION ALL
            SELECT rid, context, true AS is_short, json_extract({_SHORT}, '$[*]') AS ss
            FROM t_lj WHERE json_type({_SHORT}) = 'ARRAY'
        )
        SELECT rid, context, is_short, unnest(ss) AS s, unnest(range(len(ss))) AS seq FROM x
        """,
        # 4. typed segments with a reason when one is unusable.
        """
        CREATE OR REPLACE TEMP TABLE t_seg AS
        SELECT rid, context, is_short, seq,
               json_extract_string(s, '$.level') AS level,
               CASE WHEN json_type(s, '$.seconds') IN ('BIGINT', 'UBIGINT')
                    THEN TRY_CAST(json_extract_string(s, '$.seconds') AS BIGINT) END AS seconds,
               TRY_CAST(json_extract_string(s, '$.dateTime') AS TIMESTAMP) AS start_local,
               CASE WHEN json_type(s) <> 'OBJECT' THEN 'not an object'
                    WHEN json_type(s, '$.level') IS DISTINCT FROM 'VARCHAR' THEN 'level missing or not a string'
                    WHEN json_type(s, '$.seconds') NOT IN ('BIGINT', 'UBIGINT') OR json_type(s, '$.seconds') IS NULL
                        THEN 'seconds missing or not an integer'
                    WHEN TRY_CAST(json_extract_string(s, '$.seconds') AS BIGINT) <= 0 THEN 'seconds must be > 0'
                    WHEN TRY_CAST(json_extract_string(s, '$.dateTime') AS TIMESTAMP) IS NULL
                        THEN 'dateTime missing or not a local date-time'
               END AS bad,
               CASE WHEN json_type(s) = 'OBJECT' THEN json_keys(s) END AS keys
        FROM t_sj
        """,
        "DROP TABLE t_sj",  # intermediates go as soon as they are used: they hold copies of the JSON text
        # 5. typed logs with every reason they fail validation.
        f"""
        CREATE OR REPLACE TEMP TABLE t_typed AS
        SELECT rid, day, ord, source, ingested_at, context, j, json_type(j) = 'OBJECT' AS is_obj,
               {_FIELDS_SQL},
               list_filter([
                   CASE WHEN json_type(j) <> 'OBJECT' THEN 'not a JSON object' END,
                   {_REASONS_SQL}
               ], lambda x: x IS NOT NULL) AS field_reasons
        FROM t_lj
        """,
        f"""
        CREATE OR REPLACE TEMP TABLE t_checked AS
        WITH seg_bad AS (
            SELECT rid, arg_min(CASE WHEN is_short THEN 'levels.shortData[' ELSE 'levels.data[' END
                                || seq || ']: ' || bad, (is_short, seq)) AS reason
            FROM t_seg WHERE bad IS NOT NULL GROUP BY rid
        ), typed AS (
            SELECT *, TRY_CAST(start_text AS TIMESTAMP) AS start_local, TRY_CAST(end_text AS TIMESTAMP) AS end_local,
                   TRY_CAST(date_of_sleep_text AS DATE) AS date_of_sleep
            FROM t_typed
        ), reasons AS (
            SELECT typed.*,
                   list_concat(field_reasons,
                               CASE WHEN is_obj THEN list_filter([{", ".join(_VALUE_REASONS)}], lambda x: x IS NOT NULL)
                                    ELSE [] END,
                               CASE WHEN seg_bad.reason IS NOT NULL THEN [seg_bad.reason] ELSE [] END) AS reasons
            FROM typed LEFT JOIN seg_bad USING (rid)
        ), ranked AS (
            -- valid copies of one logId: the most recently fetched wins, then the later date (see "moved" above).
            SELECT *,
                   row_number() OVER w AS copy_rank, first_value(day) OVER w AS winner_day
            FROM reasons
            WINDOW w AS (PARTITION BY log_id, len(reasons) = 0
                         ORDER BY ingested_at DESC NULLS LAST, day DESC, ord)
        )
        SELECT * EXCLUDE (copy_rank, winner_day),
               CASE WHEN len(reasons) = 0 AND copy_rank > 1 AND day = winner_day
                    THEN ['duplicate logId ' || log_id || ' in the same file'] ELSE reasons END AS all_reasons,
               len(reasons) = 0 AND copy_rank > 1 AND day <> winner_day AS superseded
        FROM ranked
        """,
        "DROP TABLE t_typed",
        # 6. outputs.
        f"""
        CREATE OR REPLACE TEMP TABLE t_logs AS
        WITH unk AS (
            SELECT rid, sum(seconds) / 60.0 AS unknown_minutes
            FROM t_seg WHERE NOT is_short AND level = 'unknown' GROUP BY rid
        ), longest AS (
            -- Fitbit's definition of the main sleep, for logs that do not carry the flag: the longest sleep of
            -- its dateOfSleep (minutes asleep, then duration; ties by start and logId).
            SELECT rid, row_number() OVER (PARTITION BY day ORDER BY minutes_asleep DESC, duration_ms DESC,
                                                                     start_local, log_id) = 1 AS is_longest
            FROM t_checked WHERE len(all_reasons) = 0 AND NOT superseded
        )
        SELECT log_id::BIGINT AS log_id, date_of_sleep,
               CAST(start_local - INTERVAL {int(night_offset_hours)} HOUR AS DATE) AS night_date,
               start_local, end_local, {tzq} AS tz,
               local_to_utc(start_local, {tzq}) AS start_utc, local_to_utc(end_local, {tzq}) AS end_utc,
               coalesce(is_main_sleep, is_longest) AS is_main_sleep, is_main_sleep IS NULL AS main_sleep_inferred,
               type, log_type, info_code::INTEGER AS info_code, duration_ms::BIGINT AS duration_ms,
               time_in_bed::INTEGER AS time_in_bed, minutes_asleep::INTEGER AS minutes_asleep,
               minutes_awake::INTEGER AS minutes_awake,
               minutes_to_fall_asleep::INTEGER AS minutes_to_fall_asleep,
               minutes_after_wakeup::INTEGER AS minutes_after_wakeup,
               CASE WHEN time_in_bed > 0 THEN round(100.0 * minutes_asleep / time_in_bed, 2) END AS efficiency,
               api_efficiency::INTEGER AS api_efficiency,
               {", ".join(f"{s}_minutes" for s in _STAGE_KEYS)},
               {", ".join(f"{s}_count" for s in _STAGE_KEYS)},
               coalesce(unk.unknown_minutes, 0)::DOUBLE AS unknown_minutes,
               source, ingested_at,
               coalesce(provenance_family, CASE WHEN source = 'export' THEN 'export-json' ELSE source END)
                   AS source_family,
               source_file, algorithm_version, sleep_id_v1, sleep_id_v2
        FROM t_checked LEFT JOIN unk USING (rid) LEFT JOIN longest USING (rid)
        WHERE len(all_reasons) = 0 AND NOT superseded AND NOT context
        ORDER BY date_of_sleep, start_local, log_id
        """,
        f"""
        CREATE OR REPLACE TEMP TABLE t_segments AS
        SELECT c.log_id::BIGINT AS log_id, c.date_of_sleep, s.seq::INTEGER AS seq, s.level, s.start_local,
               local_to_utc(s.start_local, {tzq}) AS start_utc, s.seconds::INTEGER AS seconds, s.is_short
        FROM t_seg s JOIN t_checked c USING (rid)
        WHERE len(c.all_reasons) = 0 AND NOT c.superseded AND NOT c.context
        ORDER BY c.date_of_sleep, log_id, is_short, seq
        """,
        # every description of a Takeout session (legacy log, v1 row, v2 row), the winner marked
        f"""
        CREATE OR REPLACE TEMP TABLE t_alternatives AS
        SELECT c.log_id::BIGINT AS log_id, c.date_of_sleep, a ->> 'version' AS version,
               TRY_CAST(a ->> 'is_winner' AS BOOLEAN) AS is_winner, a ->> 'sleep_id' AS sleep_id,
               TRY_CAST(a ->> 'start_local' AS TIMESTAMP) AS start_local,
               TRY_CAST(a ->> 'end_local' AS TIMESTAMP) AS end_local,
               TRY_CAST(a ->> 'minutes_asleep' AS INTEGER) AS minutes_asleep,
               TRY_CAST(a ->> 'minutes_awake' AS INTEGER) AS minutes_awake,
               a ->> 'type' AS type, a ->> 'file' AS file
        FROM (SELECT rid, unnest(json_extract({_ALTERNATIVES}, '$[*]')) AS a
              FROM t_lj WHERE json_type({_ALTERNATIVES}) = 'ARRAY') x
        JOIN t_checked c USING (rid)
        WHERE len(c.all_reasons) = 0 AND NOT c.superseded AND NOT c.context
        ORDER BY c.date_of_sleep, log_id, version
        """,
        """
        CREATE OR REPLACE TEMP TABLE t_quarantine AS
        SELECT day AS date, log_id::BIGINT AS log_id, ord::INTEGER AS position,
               array_to_string(all_reasons, '; ') AS reason, j::VARCHAR AS raw, source, ingested_at
        FROM t_checked WHERE len(all_reasons) > 0 AND NOT context
        UNION ALL
        SELECT day, NULL, NULL,
               CASE WHEN json_valid(text) THEN 'raw file is not a JSON object' ELSE 'raw file is not valid JSON' END,
               text, NULL, NULL
        FROM t_raw WHERE broken AND NOT context
        ORDER BY date, position NULLS FIRST
        """,
        # 7. what we did not recognise (reported, never fatal).
        f"""
        CREATE OR REPLACE TEMP TABLE t_unknown AS
        SELECT 'key' AS kind, k AS name, count(*) AS n
        FROM (SELECT unnest(json_keys(j)) AS k FROM t_lj WHERE json_type(j) = 'OBJECT' AND NOT context)
        WHERE NOT list_contains({known_log}, k) GROUP BY k
        UNION ALL
        SELECT 'key', 'levels.' || k, count(*)
        FROM (SELECT unnest(json_keys({_v("levels")})) AS k FROM t_lj WHERE {_t("levels")} = 'OBJECT' AND NOT context)
        WHERE NOT list_contains({known_levels}, k) GROUP BY k
        UNION ALL
        SELECT 'key', 'levels.data[].' || k, count(*)
        FROM (SELECT unnest(keys) AS k FROM t_seg WHERE NOT context) WHERE NOT list_contains({known_seg}, k)
        GROUP BY k
        UNION ALL
        SELECT 'level', level, count(*) FROM t_seg
        WHERE level IS NOT NULL AND NOT context AND NOT list_contains({known_values}, level) GROUP BY level
        """,
    ]


_TEMP_TABLES = (
    "t_raw",
    "t_lj",
    "t_seg",
    "t_checked",
    "t_logs",
    "t_segments",
    "t_alternatives",
    "t_quarantine",
    "t_unknown",
)


def validate_tz(tz: str) -> str:
    """Fail early, with the name in the message, on a zone name the system does not know."""
    try:
        ZoneInfo(tz)
    except Exception as exc:  # ZoneInfoNotFoundError, ValueError for malformed keys
        raise ValueError(f"unknown time zone {tz!r} (expected an IANA name like 'Europe/Berlin')") from exc
    return tz


def _file_day(path: Path) -> date | None:
    try:
        return date.fromisoformat(Path(path).stem.removeprefix("date="))
    except ValueError:
        return None


def transform_files(
    files: Sequence[Path],
    *,
    tz: str,
    night_offset_hours: int = DEFAULT_NIGHT_OFFSET_HOURS,
    con: duckdb.DuckDBPyConnection | None = None,
    context_files: Sequence[Path] = (),
) -> TransformResult:
    """Transform raw landing files (any number of dates) into Arrow tables, sorted deterministically.

    ``context_files`` are read only to pick the newest copy of a log that moved between dates; they give no rows.
    """
    validate_tz(tz)
    own = con is None
    db = duckdb.connect() if con is None else con
    try:
        install_macros(db)
        # Reading the files here and handing DuckDB one column of texts is ~10x faster than read_json over
        # thousands of small files (per-file open/scan overhead); everything per log/segment stays in SQL.
        every = [*files, *context_files]
        texts = pa.table(
            {
                "file_day": pa.array([_file_day(p) for p in every], pa.date32()),
                "text": pa.array(
                    [Path(p).read_bytes().decode("utf-8", errors="replace") for p in every], pa.large_string()
                ),
                "context": pa.array([i >= len(files) for i in range(len(every))], pa.bool_()),
            }
        )
        db.register("raw_texts", texts)
        for statement in _sql(tz, night_offset_hours):
            db.execute(statement)
        db.unregister("raw_texts")
        logs = db.sql("FROM t_logs").to_arrow_table()
        segments = db.sql("FROM t_segments").to_arrow_table()
        alternatives = db.sql("FROM t_alternatives").to_arrow_table()
        quarantine = db.sql("FROM t_quarantine").to_arrow_table()
        unknown = db.sql("FROM t_unknown ORDER BY kind, name").fetchall()
        superseded = db.sql("SELECT count(*) FROM t_checked WHERE superseded AND NOT context").fetchall()[0][
            0
        ]
        for table in _TEMP_TABLES:  # free the batch's memory now, not when the next batch replaces it
            db.execute(f"DROP TABLE IF EXISTS {table}")
    finally:
        if own:
            db.close()
    return TransformResult(
        sleep_logs=logs,
        sleep_segments=segments,
        quarantine=quarantine,
        sleep_alternatives=alternatives,
        files=len(files),
        quarantined=quarantine.num_rows,
        superseded=int(superseded),
        unknown_keys={name: int(n) for kind, name, n in unknown if kind == "key"},
        unknown_levels={name: int(n) for kind, name, n in unknown if kind == "level"},
    )
