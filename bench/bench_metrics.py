"""Build and query time of the sleep-science tables and views (sql/metrics.sql) on 10 years of sandbox history.

Why these ratios: the views are computed when read, so their cost is paid by every query. Two baselines measured in the
same process: the views at 1 year (cost should grow ~linearly with history, 10x, not worse), and the regularity
figure's SRI query (sql/queries/plot_regularity_stats.sql; since issue 19 it sweeps segment boundaries too, as
sri_pairs sweeps bout boundaries; it used to expand every 30-s epoch). Setup (landing, tables, warehouse) is not timed. Exit 0.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench_plots import build

from pipeline import warehouse
from pipeline.paths import StoragePaths
from pipeline.warehouse import QUERIES_DIR, build_warehouse, connect_readonly

VIEWS = ("night_metrics", "sri_pairs", "sri_rolling", "period_metrics", "period_metrics_28d", "sleep_debt")


def best_of(paths: StoragePaths, sql: str, repeats: int = 3) -> tuple[float, list[tuple[object, ...]]]:
    """Best-of-``repeats`` seconds of ``sql`` and its rows."""
    con = connect_readonly(paths)
    try:
        best, result = float("inf"), []
        for _ in range(repeats):
            start = time.perf_counter()
            result = con.execute(sql).fetchall()
            best = min(best, time.perf_counter() - start)
        return best, result
    finally:
        con.close()


def build_seconds(paths: StoragePaths, metrics_sql: Path | None = None, repeats: int = 2) -> float:
    """Best-of-``repeats`` seconds of ``build_warehouse``; ``metrics_sql`` replaces sql/metrics.sql (the baseline)."""
    saved = warehouse.METRICS_SQL
    warehouse.METRICS_SQL = metrics_sql or saved
    try:
        return min(build_warehouse(paths).seconds for _ in range(repeats))
    finally:
        warehouse.METRICS_SQL = saved


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as tmp:
        small = build(Path(tmp) / "1y", 365)
        large = build(Path(tmp) / "10y", 3650)
        no_metrics = Path(tmp) / "no_metrics.sql"
        no_metrics.write_text("SELECT 1;", encoding="utf-8")
        bare = build_seconds(
            large, metrics_sql=no_metrics
        )  # first: the views must exist for the queries below
        built = {name: build_seconds(p) for name, p in (("1y", small), ("10y", large))}
        print(
            f"build_warehouse_10y_vs_1y: {built['10y'] / built['1y']:.2f}x ({built['10y']:.2f} s vs "
            f"{built['1y']:.2f} s, sleep_bouts and sri_pairs tables included; history 10x)"
        )
        print(
            f"build_warehouse_10y_with_metrics_vs_without: {built['10y'] / bare:.2f}x ({built['10y']:.2f} s vs "
            f"{bare:.2f} s)"
        )
        for view in VIEWS:
            (s, _), (big, _) = (
                best_of(small, f"SELECT * FROM {view}"),
                best_of(large, f"SELECT * FROM {view}"),
            )
            print(f"{view}_10y_vs_1y: {big / s:.2f}x ({big:.3f} s vs {s:.3f} s; history 10x)")
        figure_sql = (QUERIES_DIR / "plot_regularity_stats.sql").read_text(encoding="utf-8")
        figure, [(_, figure_sri, *_)] = best_of(large, figure_sql)
        whole, [(view_sri,)] = best_of(
            large, "SELECT round(-100 + 200.0 * sum(agreeing_epochs) / sum(valid_epochs), 1) FROM sri_pairs"
        )
        print(
            f"sri_whole_history_10y_vs_figure_query: {whole / figure:.2f}x ({whole:.3f} s vs {figure:.3f} s; "
            f"both sweep interval boundaries); SRI {view_sri} vs figure {figure_sri}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
