"""Bench of the landing -> tables -> warehouse path over 10 years of sandbox history. Prints one ratio per figure.

(a) transform throughput (nights/s) against a fair pandas baseline (``pandas_baseline``: the same files, logs and
    segments incl. shortData, UTC and night dates, batched; both best of 3);
(b) a nightly-summary query through the warehouse file against the same query on an in-memory DuckDB table;
(c) bytes written by updating the last 3 days with 1 year of history against 10 years;
(d) peak RSS of a 10-year rebuild from raw (in a subprocess, its ``VmHWM``), against a 1-year rebuild;
(e) the daily update (last 3 days, 10 years of history) when an archive's 10 years of sleep scores are landed,
    against the same update with no scores: every update rebuilds ``sleep_scores`` so it only holds scores whose
    log is in ``sleep_logs``, and this is what that costs.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import pandas as pd  # noqa: E402

from fitbit_sandbox.generator import generate_history  # noqa: E402
from pipeline.landing import land_day, landed_files  # noqa: E402
from pipeline.paths import StoragePaths  # noqa: E402
from pipeline.sleep_scores import land_scores  # noqa: E402
from pipeline.tables import update_tables  # noqa: E402
from pipeline.transform import transform_files  # noqa: E402
from pipeline.warehouse import build_warehouse, connect_readonly  # noqa: E402

TZ = "America/Los_Angeles"
TODAY = date(2025, 6, 20)  # the last 3 days sit inside one month
FETCHED = datetime(2025, 6, 21, 6, tzinfo=UTC)

NIGHTLY_SUMMARY = """
SELECT night_date, count(*) AS logs, sum(minutes_asleep) AS asleep, sum(time_in_bed) AS in_bed,
       round(100.0 * sum(minutes_asleep) / sum(time_in_bed), 2) AS efficiency,
       sum(deep_minutes) AS deep, sum(rem_minutes) AS rem, count(*) FILTER (WHERE NOT is_main_sleep) AS naps
FROM sleep_logs GROUP BY night_date ORDER BY night_date
"""


def land_history(
    paths: StoragePaths, days: int, seed: int = 11, fetched_at: datetime = FETCHED
) -> list[date]:
    by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for log in generate_history(seed, days, TODAY, TZ):
        by_day[date.fromisoformat(log["dateOfSleep"])].append(log)
    first = TODAY - timedelta(days=days - 1)
    out = []
    for i in range(days):
        day = first + timedelta(days=i)
        land_day(paths, day, by_day.get(day, []), source="api", source_ref="/bench", fetched_at=fetched_at)
        out.append(day)
    return out


def _utc(local: pd.Series) -> pd.Series:
    """Local wall-clock times -> UTC, the transform's DST rule: a repeated hour is its first occurrence, a skipped
    one is shifted forward."""
    return local.dt.tz_localize(TZ, ambiguous=True, nonexistent="shift_forward").dt.tz_convert("UTC")


def pandas_baseline(files: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A fair pandas baseline: the transform's work, batched as a pandas user would write it.

    Every day file read, one ``json_normalize`` over all logs, one over all ``levels.data`` and one over all
    ``levels.shortData`` segments (kept, flagged ``is_short``), local times parsed and converted to UTC with the
    transform's DST rule, segment end times, and each log's ``night_date`` (local start - 12 h). Not done: the
    validation and quarantine, the main-sleep inference, the provenance columns (the transform does them too, so
    the ratio flatters pandas a little)."""
    sleeps: list[dict[str, Any]] = []
    for path in files:
        sleeps.extend(json.loads(path.read_text())["payload"]["sleep"])
    logs = pd.json_normalize(sleeps, max_level=0).drop(columns=["levels"])
    logs["start_local"] = pd.to_datetime(logs["startTime"])
    logs["end_local"] = pd.to_datetime(logs["endTime"])
    logs["start_utc"], logs["end_utc"] = _utc(logs["start_local"]), _utc(logs["end_local"])
    logs["night_date"] = (logs["start_local"] - pd.Timedelta(hours=12)).dt.date
    logs["efficiency_pct"] = 100 * logs["minutesAsleep"] / logs["timeInBed"]
    frames = []
    for key, short in (("data", False), ("shortData", True)):
        having = [s for s in sleeps if (s.get("levels") or {}).get(key)]
        seg = pd.json_normalize(having, record_path=["levels", key], meta=["logId", "dateOfSleep"])
        seg["is_short"] = short
        frames.append(seg)
    segs = pd.concat(frames, ignore_index=True)
    segs["start_local"] = pd.to_datetime(segs["dateTime"])
    segs["end_local"] = segs["start_local"] + pd.to_timedelta(segs["seconds"], unit="s")
    segs["start_utc"] = _utc(segs["start_local"])
    return logs, segs


def best_of(n: int, fn: Any) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_rss_mb(root: Path) -> float:
    """Peak RSS of a rebuild in a fresh process, from ``VmHWM`` (the high-water mark of the process's own memory).

    Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries ``ru_maxrss`` over ``fork`` + ``exec``, so the child
    reported this (large) bench process's peak, ~600 MB for 1 year and 10 years alike.
    """
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[2]);"
        "from pipeline.paths import StoragePaths; from pipeline.tables import update_tables;"
        "from pipeline.warehouse import build_warehouse; p = StoragePaths(Path(sys.argv[1]));"
        "update_tables(p, tz='America/Los_Angeles'); build_warehouse(p);"
        "print(next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM:')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(root), str(ROOT)], check=True, capture_output=True, text=True
    )
    return int(out.stdout.strip()) / 1024  # Linux: KiB


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        big = StoragePaths(Path(tmp) / "10y")
        small = StoragePaths(Path(tmp) / "1y")
        land_history(big, 3650)
        land_history(small, 365)
        files = [p for _, p in landed_files(big)]

        # (a) transform throughput
        result = transform_files(files, tz=TZ)
        nights = len(set(result.sleep_logs.column("night_date").to_pylist()))
        ours = best_of(3, lambda: transform_files(files, tz=TZ))
        base = best_of(3, lambda: pandas_baseline(files))
        print(
            f"transform_vs_fair_pandas: {base / ours:.2f}x (above 1: ours is faster) "
            f"[{nights / ours:,.0f} nights/s vs {nights / base:,.0f} nights/s; {nights} nights, "
            f"{result.sleep_segments.num_rows:,} segments, 10 years]"
        )

        # (d) peak RSS of a rebuild from raw (before (b)/(c) build anything, so it starts from raw alone)
        rss_big = peak_rss_mb(big.root)
        rss_small = peak_rss_mb(small.root)
        print(
            f"rebuild_peak_rss_10y_vs_1y: {rss_big / rss_small:.2f}x "
            f"[10 years: {rss_big:.0f} MB, 1 year: {rss_small:.0f} MB peak RSS for tables + warehouse from raw]"
        )

        # (b) nightly summary through the warehouse file vs an in-memory table
        con = connect_readonly(big)
        mem = duckdb.connect()
        mem.register("src", con.sql("FROM sleep_logs").to_arrow_table())
        mem.execute("CREATE TABLE sleep_logs AS FROM src")
        con.execute(NIGHTLY_SUMMARY).fetchall()
        mem.execute(NIGHTLY_SUMMARY).fetchall()
        wh = statistics.median(best_of(1, lambda: con.execute(NIGHTLY_SUMMARY).fetchall()) for _ in range(15))
        im = statistics.median(best_of(1, lambda: mem.execute(NIGHTLY_SUMMARY).fetchall()) for _ in range(15))
        fresh = best_of(5, lambda: connect_readonly(big).execute(NIGHTLY_SUMMARY).fetchall())
        print(
            f"warehouse_vs_in_memory: {wh / im:.2f}x (target <= 3x) "
            f"[{wh * 1000:.2f} ms vs {im * 1000:.2f} ms; {fresh * 1000:.1f} ms including opening the file]"
        )
        con.close()

        # (c) bytes written by updating the last 3 days: 1 year vs 10 years of history
        written = {}
        for name, paths in (("1y", small), ("10y", big)):
            if name == "1y":
                update_tables(paths, tz=TZ)
            changed = []
            by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
            for log in generate_history(99, 3, TODAY, TZ):  # other content for the last 3 days
                by_day[date.fromisoformat(log["dateOfSleep"])].append(log)
            for i in range(3):
                day = TODAY - timedelta(days=i)
                land_day(paths, day, by_day.get(day, []), source="api", source_ref="/b", fetched_at=FETCHED)
                changed.append(day)
            start = time.perf_counter()
            res = update_tables(paths, changed, tz=TZ)
            written[name] = (res.bytes_written, time.perf_counter() - start, res.files_written)
        b1, t1, f1 = written["1y"]
        b10, t10, f10 = written["10y"]
        print(
            f"update_last_3_days_bytes_10y_vs_1y: {b10 / b1:.2f}x (target ~1) "
            f"[{b10:,} vs {b1:,} bytes in {f10} vs {f1} files; {t10 * 1000:.0f} ms vs {t1 * 1000:.0f} ms]"
        )
        build = build_warehouse(big)
        print(f"warehouse_build_10y: {build.seconds:.2f} s, {build.bytes / 1e6:.1f} MB (informational)")

        # (e) the daily update with 10 years of archive scores landed, against none
        last_3 = [TODAY - timedelta(days=i) for i in range(3)]
        no_scores = best_of(3, lambda: update_tables(big, last_3, tz=TZ))
        header = "sleep_log_entry_id,timestamp,overall_score,composition_score,revitalization_score,duration_score,"
        header += "deep_sleep_in_minutes,resting_heart_rate,restlessness\n"
        rows = "".join(
            f"{log['logId']},{log['endTime'][:19]}Z,80,,80,,60,55,0.05\n"
            for log in generate_history(11, 3650, TODAY, TZ)
            if log.get("isMainSleep")  # the generator leaves it out on some logs, as real classic logs do
        )
        land_scores(big, [(header + rows).encode()], source_ref="bench.zip", fetched_at=FETCHED)
        update_tables(big, last_3, tz=TZ)  # writes the scores table once; the timed runs rewrite nothing
        with_scores = best_of(3, lambda: update_tables(big, last_3, tz=TZ))
        scored = update_tables(big, last_3, tz=TZ).scores
        print(
            f"daily_update_with_10y_scores_vs_none: {with_scores / no_scores:.2f}x (target <= 1.5x) "
            f"[{with_scores * 1000:.0f} ms vs {no_scores * 1000:.0f} ms; {scored:,} score rows kept]"
        )


if __name__ == "__main__":
    main()
