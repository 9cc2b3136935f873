"""Render time of every figure (and the HTML report) for 10 years of sandbox history against 1 year.

Why a ratio: the plots read aggregated SQL and aggregate long bar charts, so their cost should grow far less than
the history (10x). Prints one line per measurement; setup (landing, tables, warehouse) is not timed. Exit 0.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from fitbit_sandbox.generator import generate_history
from pipeline.landing import land_day
from pipeline.paths import StoragePaths
from pipeline.plots import FIGURES, render_figure
from pipeline.report import build_report
from pipeline.tables import update_tables
from pipeline.warehouse import build_warehouse, connect_readonly

TZ = "America/Los_Angeles"
TODAY = date(2025, 6, 30)


def build(root: Path, days: int) -> StoragePaths:
    paths = StoragePaths(root)
    logs = generate_history(42, days, TODAY, TZ)
    by_day: dict[date, list[dict]] = {}
    for log in logs:
        by_day.setdefault(date.fromisoformat(log["dateOfSleep"]), []).append(dict(log))
    fetched = datetime(2025, 7, 1, tzinfo=UTC)
    for day, day_logs in sorted(by_day.items()):
        land_day(paths, day, day_logs, source="api", source_ref=f"bench/{day}", fetched_at=fetched)
    paths.profile_file.parent.mkdir(parents=True, exist_ok=True)
    paths.profile_file.write_text(
        json.dumps({"user_id": "BENCH", "timezone": TZ, "offset_from_utc_millis": 0})
    )
    update_tables(paths, tz=TZ)
    build_warehouse(paths)
    return paths


def timed_render(paths: StoragePaths, repeats: int = 2) -> tuple[dict[str, float], float]:
    """Best-of-``repeats`` seconds per figure and for the whole report."""
    per_figure = dict.fromkeys(FIGURES, float("inf"))
    report = float("inf")
    for _ in range(repeats):
        con = connect_readonly(paths)
        try:
            for name in FIGURES:
                start = time.perf_counter()
                render_figure(name, paths, con=con)
                per_figure[name] = min(per_figure[name], time.perf_counter() - start)
        finally:
            con.close()
        start = time.perf_counter()
        build_report(paths)
        report = min(report, time.perf_counter() - start)
    return per_figure, report


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-plots-") as tmp:
        small = build(Path(tmp) / "1y", 365)
        large = build(Path(tmp) / "10y", 3650)
        render_figure("hist_asleep_vs_in_bed", small)  # warm fonts / caches outside the measurement
        small_fig, small_report = timed_render(small)
        large_fig, large_report = timed_render(large)
    for name in FIGURES:
        ratio = large_fig[name] / small_fig[name]
        print(
            f"plot_{name}_10y_vs_1y: {ratio:.2f}x ({large_fig[name]:.3f} s vs {small_fig[name]:.3f} s; target <= 3x)"
        )
    total_small, total_large = sum(small_fig.values()), sum(large_fig.values())
    print(
        f"render_all_10y_vs_1y: {total_large / total_small:.2f}x ({total_large:.2f} s vs {total_small:.2f} s)"
    )
    print(
        f"report_10y_vs_1y: {large_report / small_report:.2f}x ({large_report:.2f} s vs {small_report:.2f} s; "
        "renders every figure + embeds them)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
