"""Benchmark: importing a Google-era Takeout's sleep CSVs against importing the same history as legacy JSON.

Figures (one line each, ratios against a baseline measured in this process):

- ``takeout_csv_import_throughput``: sessions/s of ``import_archive`` on a 3-year Takeout whose nights are all in
  ``UserSleeps`` / ``UserSleepStages`` / ``UserSleepScores`` CSVs (v1 + v2 rows), against logs/s of the same
  importer on the same history as legacy ``Global Export Data/sleep-*.json``. Ratio > 1: the CSV path is faster.
- ``takeout_csv_read_and_pair``: the CSV side alone (parse the three CSVs, pair v1/v2 by overlap, build the v1.2
  logs), as a share of the whole CSV import (the rest is the landing, shared with the JSON path).
- ``takeout_3_parts_mixed``: the demo's shape (legacy JSON for the first half, CSVs for the second, 3 zips) against
  the all-JSON import.

Each import runs into a fresh data root, best of 2. Run: ``.venv/bin/python bench/bench_takeout.py``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

TODAY = date(2026, 9, 30)
DAYS = 3 * 365
TZ = "America/Los_Angeles"


def _best_import(parts: list[Path], work: Path, label: str) -> tuple[float, object]:
    from pipeline.paths import StoragePaths
    from pipeline.sources.fitbit_export.importer import import_archive

    best, summary = float("inf"), None
    for attempt in range(2):
        home = work / f"home-{label}-{attempt}"
        start = time.perf_counter()
        summary = import_archive(StoragePaths(home), parts)
        best = min(best, time.perf_counter() - start)
    return best, summary


def _csv_side(parts: list[Path]) -> float:
    """Seconds to read, pair and build the logs of the CSVs (no landing)."""
    from pipeline.sources.fitbit_export import reader
    from pipeline.sources.takeout_csv.source import TakeoutCsv

    start = time.perf_counter()
    with reader.open_archives(parts) as archive:
        contents = reader.discover(archive)
        takeout = TakeoutCsv(archive, contents.csv_files)
        takeout.merge({})
        takeout.score_csv()
    return time.perf_counter() - start


def main() -> None:
    from fitbit_sandbox.export import build_archive, export_time
    from fitbit_sandbox.generator import generate_history
    from fitbit_sandbox.takeout2026 import compose_takeout, write_takeout

    logs = generate_history(42, DAYS, TODAY, TZ)
    first = min(date.fromisoformat(log["dateOfSleep"]) for log in logs)
    stamp = export_time(TODAY, TZ)
    with tempfile.TemporaryDirectory(prefix="bench_takeout_") as tmp:
        work = Path(tmp)
        json_zip = work / "json" / "takeout.zip"
        build_archive(json_zip, logs, layout="takeout", timezone=TZ, exported_at=stamp)
        csv_only = write_takeout(
            compose_takeout(logs, migrated_on=first - timedelta(days=30), timezone=TZ),
            work / "csv" / "takeout.zip",
            exported_at=stamp,
        )
        mixed = write_takeout(
            compose_takeout(logs, migrated_on=first + timedelta(days=DAYS // 2), timezone=TZ),
            work / "mixed" / "takeout.zip",
            parts=3,
            exported_at=stamp,
        )
        _best_import([json_zip], work, "warm")  # imports, caches, first-use costs outside the measurement
        json_s, json_summary = _best_import([json_zip], work, "json")
        csv_s, csv_summary = _best_import(csv_only.parts, work, "csv")
        mixed_s, _ = _best_import(mixed.parts, work, "mixed")
        side = min(_csv_side(csv_only.parts) for _ in range(2))
    json_logs = json_summary.logs  # type: ignore[attr-defined]
    sessions = csv_summary.csv_sessions  # type: ignore[attr-defined]
    rows = csv_summary.csv_rows  # type: ignore[attr-defined]
    assert sessions == json_logs == len(logs), (sessions, json_logs, len(logs))
    print(
        f"takeout_csv_import_throughput: {sessions / csv_s:,.0f} sessions/s ({rows} CSV rows, {csv_s:.2f} s) vs "
        f"legacy JSON {json_logs / json_s:,.0f} logs/s ({json_s:.2f} s), same {DAYS}-day history: "
        f"ratio {json_s / csv_s:.2f}"
    )
    print(f"takeout_csv_read_and_pair: {side:.2f} s of {csv_s:.2f} s = {side / csv_s:.0%} of the CSV import")
    print(f"takeout_3_parts_mixed: {mixed_s:.2f} s vs all-JSON {json_s:.2f} s: ratio {json_s / mixed_s:.2f}")


if __name__ == "__main__":
    main()
