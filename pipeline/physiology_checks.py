"""Data checks on the physiology landing and tables, in the style of ``pipeline.checks`` (same ``Check`` type, same
inputs, bound to Dagster asset checks by ``dagster_project/checks.py``).

Blocking (our invariants): every landed document is about its own date and no heart-rate sample lies outside the day
of the file it came from; no bpm outside 25-220 and no SpO2 value of 50 reached the tables (the transform moves them
to ``physiology_quarantine``); each night's heart rate while asleep comes from one source only. Warnings (upstream
quirks, counted with examples): what the quarantine holds, and nights whose samples came from two sources (one was
set aside by the rule of docs/physiology.md).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from pipeline.checks import Check, CheckInputs, Verdict, examples
from pipeline.physiology_landing import (
    HEART_RATE_INTRADAY,
    KINDS,
    landed_physiology_files,
    read_physiology_file,
)
from pipeline.physiology_tables import BPM_MAX, BPM_MIN, PHYSIOLOGY_TABLES, SCHEMAS, SPO2_SENTINEL
from pipeline.tables import table_files

_READY = "physiology_views"


def physiology_con(inp: CheckInputs) -> duckdb.DuckDBPyConnection:
    """The checks' connection with a view per physiology table (typed and empty when there is no file yet),
    ``heart_rate_asleep`` and ``nightly_physiology`` over them; created once per inputs."""
    from pipeline.warehouse import install_nightly_physiology

    con = inp.con
    if _has_view(con, _READY):
        return con
    for name in PHYSIOLOGY_TABLES:
        files = table_files(inp.paths, name)
        if files:
            listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
            con.execute(
                f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{listed}], hive_partitioning = false)"
            )
        else:
            con.register(f"empty_{name}", SCHEMAS[name].empty_table())
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM empty_{name}")
    if inp.has_rows("nights") and inp.has_rows("sleep_segments"):
        # one participant's Parquet tables: give them the participant_id column the shared SQL joins on
        who = "'" + inp.paths.participant_id.replace("'", "''") + "'"
        sources = {
            name: f"(SELECT {who} AS participant_id, * FROM {name})"
            for name in ("nights", "sleep_segments", *PHYSIOLOGY_TABLES)
        }
        install_nightly_physiology(con, table=False, sources=sources)
    con.execute(f"CREATE VIEW {_READY} AS SELECT 1")
    return con


def _has_view(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ?", [name]).fetchall() != [(0,)]


def _has_nightly(con: duckdb.DuckDBPyConnection) -> bool:
    return _has_view(con, "nightly_physiology")


def _in_window(inp: CheckInputs, day: date) -> bool:
    return inp.window is None or inp.window[0] <= day <= inp.window[1]


# --- blocking ------------------------------------------------------------------------------------------------------


def documents_on_their_date(inp: CheckInputs) -> Verdict:
    """Every landed physiology file of the window holds its own date in its header and in every ``dateTime``."""
    wrong: list[str] = []
    files = 0
    for kind in KINDS:
        for day, path in landed_physiology_files(inp.paths, kind):
            if not _in_window(inp, day):
                continue
            files += 1
            record = read_physiology_file(path)
            document = record.get("payload")
            stated = {str(record.get("date"))}
            entries: list[Any] = []
            if isinstance(document, dict):
                entries = [document] if kind == "spo2" and document else []
                for value in document.values():
                    if isinstance(value, list):
                        entries += value
            stated |= {str(e["dateTime"]) for e in entries if isinstance(e, dict) and "dateTime" in e}
            if stated != {day.isoformat()}:
                wrong.append(f"{kind} {day}: holds {', '.join(sorted(stated - {day.isoformat()}))}")
    return not wrong, {
        "files_checked": files,
        "files_about_other_dates": len(wrong),
        "examples": examples(wrong, str),
    }


def samples_inside_their_day(inp: CheckInputs) -> Verdict:
    """Every heart_rate sample of the window lies on a date whose intraday file holds samples, and no date has more
    samples in the table than its file has (a sample outside its file's day would break one of them)."""
    con = physiology_con(inp)
    where, params = inp.where("ts_local::DATE")
    in_table = dict(
        con.execute(
            f"SELECT ts_local::DATE, count(*) FROM heart_rate WHERE {where} GROUP BY 1", params
        ).fetchall()
    )
    in_raw: dict[date, int] = {}
    for day, path in landed_physiology_files(inp.paths, HEART_RATE_INTRADAY):
        if _in_window(inp, day):
            intraday = (read_physiology_file(path).get("payload") or {}).get(
                "activities-heart-intraday"
            ) or {}
            in_raw[day] = len(intraday.get("dataset") or [])
    wrong = [
        f"{day}: {n} samples in heart_rate, {in_raw.get(day, 0)} in its file"
        for day, n in sorted(in_table.items())
        if n > in_raw.get(day, 0)
    ]
    return not wrong, {
        "dates_checked": len(in_table),
        "samples": sum(in_table.values()),
        "dates_with_foreign_samples": len(wrong),
        "examples": examples(wrong, str),
    }


def values_plausible(inp: CheckInputs) -> Verdict:
    """No bpm outside 25-220 in heart_rate and no SpO2 value of exactly 50 in spo2_daily (the transform quarantines
    both)."""
    con = physiology_con(inp)
    where, params = inp.where("ts_local::DATE")
    bad_hr = con.execute(
        f"SELECT ts_local, bpm FROM heart_rate WHERE (bpm < {BPM_MIN} OR bpm > {BPM_MAX}) AND {where} LIMIT 100",
        params,
    ).fetchall()
    where, params = inp.where("date")
    bad_spo2 = con.execute(
        f"SELECT date FROM spo2_daily WHERE {SPO2_SENTINEL} IN (spo2_avg, spo2_min, spo2_max) AND {where}",
        params,
    ).fetchall()
    return not (bad_hr or bad_spo2), {
        "bpm_out_of_range": len(bad_hr),
        "spo2_sentinels": len(bad_spo2),
        "examples": examples(
            [f"{t}: {b} bpm" for t, b in bad_hr] + [f"{d[0]}: SpO2 50" for d in bad_spo2], str
        ),
    }


def one_source_per_night(inp: CheckInputs) -> Verdict:
    """Each night's heart rate while asleep comes from one source: the samples used (``chosen``) have one source,
    and nightly_physiology counts exactly those."""
    con = physiology_con(inp)
    if not _has_nightly(con):
        return True, {"nights_checked": 0, "nights_mixing_sources": 0}
    where, params = inp.where("n.night_date")
    rows = con.execute(
        f"""
        WITH used AS (
            SELECT night_date, count(DISTINCT source) AS sources, count(*) AS samples
            FROM heart_rate_asleep WHERE chosen GROUP BY 1
        )
        SELECT n.night_date, coalesce(u.sources, 0), coalesce(u.samples, 0), coalesce(n.hr_samples_asleep, 0)
        FROM nightly_physiology n LEFT JOIN used u USING (night_date)
        WHERE {where} AND (coalesce(u.sources, 0) > 1 OR coalesce(u.samples, 0) != coalesce(n.hr_samples_asleep, 0))
        ORDER BY 1
        """,
        params,
    ).fetchall()
    checked = con.execute(f"SELECT count(*) FROM nightly_physiology n WHERE {where}", params).fetchall()[0]
    return not rows, {
        "nights_checked": int(checked[0]) if checked else 0,
        "nights_mixing_sources": len(rows),
        "examples": examples(
            rows, lambda r: f"night {r[0]}: {r[1]} sources, {r[2]} samples used, {r[3]} counted"
        ),
    }


# --- warnings ------------------------------------------------------------------------------------------------------


def physiology_quarantine_empty(inp: CheckInputs) -> Verdict:
    """WARN with counts per reason when samples or values were set aside (bpm outside 25-220, SpO2 50, unreadable)."""
    con = physiology_con(inp)
    where, params = inp.where("date")
    rows = con.execute(
        f"""
        SELECT kind, reason, count(*), min(date), any_value(value)
        FROM physiology_quarantine WHERE {where} GROUP BY 1, 2 ORDER BY 3 DESC
        """,
        params,
    ).fetchall()
    metadata: dict[str, Any] = {"quarantined": sum(int(r[2]) for r in rows)}
    metadata.update({f"{r[0]}: {r[1]}": int(r[2]) for r in rows})
    metadata["examples"] = examples(rows, lambda r: f"{r[0]} {r[1]}: {r[2]} (first {r[3]}, e.g. {r[4]})")
    return not rows, metadata


def nights_with_two_sources(inp: CheckInputs) -> Verdict:
    """WARN when a night's samples asleep came from two sources (e.g. an archive day next to an API day): one was
    used, the other set aside (docs/physiology.md)."""
    con = physiology_con(inp)
    if not _has_nightly(con):
        return True, {"nights": 0}
    where, params = inp.where("night_date")
    rows = con.execute(
        f"""
        SELECT night_date, string_agg(DISTINCT source, ' + ' ORDER BY source),
               count(*) FILTER (WHERE NOT chosen)
        FROM heart_rate_asleep WHERE {where}
        GROUP BY 1 HAVING count(DISTINCT source) > 1 ORDER BY 1
        """,
        params,
    ).fetchall()
    return not rows, {
        "nights": len(rows),
        "examples": examples(rows, lambda r: f"night {r[0]}: {r[1]}, {r[2]} samples set aside"),
    }


PHYSIOLOGY_CHECKS: tuple[Check, ...] = (
    Check(
        "documents_on_their_date",
        "raw_physiology",
        "BLOCK unless every landed physiology file of the run window is about its own date (header and every "
        "dateTime).",
        documents_on_their_date,
        blocking=True,
    ),
    Check(
        "samples_inside_their_day",
        "physiology_tables",
        "BLOCK unless every heart_rate sample lies on the date of the intraday file it came from.",
        samples_inside_their_day,
        blocking=True,
    ),
    Check(
        "values_plausible",
        "physiology_tables",
        f"BLOCK when a bpm outside {BPM_MIN}-{BPM_MAX} or a SpO2 value of 50 (no reading) reached the tables.",
        values_plausible,
        blocking=True,
    ),
    Check(
        "one_source_per_night",
        "physiology_tables",
        "BLOCK unless each night's heart rate while asleep comes from one source and nightly_physiology counts "
        "exactly those samples.",
        one_source_per_night,
        blocking=True,
    ),
    Check(
        "physiology_quarantine_empty",
        "physiology_tables",
        "WARN with counts per reason when samples or values were quarantined (bpm outside 25-220, SpO2 50, "
        "unreadable samples).",
        physiology_quarantine_empty,
    ),
    Check(
        "nights_with_two_sources",
        "physiology_tables",
        "WARN when a night's samples asleep came from two sources; one was used (most samples), the other set aside.",
        nights_with_two_sources,
    ),
)
