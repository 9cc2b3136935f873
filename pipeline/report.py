"""A self-contained static HTML sleep report: every figure embedded as base64 PNG, key numbers, range and coverage.

Why self-contained: the report is mailed, archived or opened from a file browser; it must not depend on the plot
files staying next to it, on a server, or on any network resource (no external CSS/JS/fonts).
Every number in it comes from ``sql/queries/report_summary.sql`` or from a figure's stats SQL.
"""

from __future__ import annotations

import base64
import html
import os
from datetime import UTC, datetime
from pathlib import Path

from pipeline.paths import StoragePaths
from pipeline.plots import FIGURES, FigureResult, Stats, format_stat, open_warehouse, render_all, run_stats

SRI_FORMULA = "SRI = −100 + 200 / (M·(N−1)) · Σ<sub>j=1..N−1</sub> Σ<sub>i=1..M</sub> δ(s<sub>i,j</sub>, s<sub>i,j+1</sub>)"
SRI_EXPLANATION = (
    "Sleep Regularity Index (Phillips et al. 2017, <i>Sci Rep</i> 7:3216): s<sub>i,j</sub> is 1 when asleep in "
    "epoch i of day j, δ is 1 when the state is the same 24 hours later. Here epochs are 30 s (M = 2880 per "
    "noon-to-noon day, local clock time); asleep = deep/light/REM/asleep segments of any log minus the short wakes "
    "overlaid on them. Only pairs of consecutive days that both have a main sleep are compared, so a missing night "
    "counts as unknown rather than awake. 100 = the same pattern every day, 0 = random, −100 = exactly alternating."
)

# (label, stat key, source: "summary" | figure name, unit)
KEY_NUMBERS: tuple[tuple[str, str, str, str], ...] = (
    ("Nights", "nights", "summary", ""),
    ("Main sleeps (one per night)", "main_sleeps", "summary", ""),
    ("Naps", "naps", "summary", ""),
    ("Average efficiency (asleep / in bed)", "efficiency_pct", "summary", " %"),
    ("Mean minutes lost per night (in bed − asleep)", "minutes_lost", "summary", " min"),
    ("Average time asleep per night (main sleep)", "mean_asleep_h", "summary", " h"),
    ("Sleep Regularity Index", "sri", "regularity", ""),
    ("First night", "first_night", "summary", ""),
    ("Last night", "last_night", "summary", ""),
    ("Days with sleep data / days in range", "data_pct", "coverage_calendar", " %"),
)

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1180px;
       color: #222; line-height: 1.45; padding: 0 1rem; }
h1 { margin-bottom: .2rem; } .muted { color: #666; }
table.key { border-collapse: collapse; margin: 1rem 0; }
table.key th, table.key td { border-bottom: 1px solid #ddd; padding: .35rem .8rem; text-align: left; }
table.key td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 2rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; margin-top: .4rem; } .formula { font-family: Georgia, serif; font-size: 1.05rem; }
"""


def report_numbers(paths: StoragePaths, figures: dict[str, FigureResult]) -> dict[str, Stats]:
    """Numbers of the key table: the summary query plus the stats of the figures it quotes."""
    con = open_warehouse(paths)
    summary: Stats = {}
    if con is not None:
        try:
            summary = run_stats(con, "report_summary.sql")
        finally:
            con.close()
    sources: dict[str, Stats] = {"summary": summary}
    sources.update({name: result.stats for name, result in figures.items()})
    return sources


def _row(label: str, value: str) -> str:
    return f"<tr><th>{html.escape(label)}</th><td class='num'>{html.escape(value)}</td></tr>"


def _coverage_sentence(cov: Stats) -> str:
    if not cov.get("days"):
        return "No dates have been landed yet: fetch or import data, then run the report again."
    return (
        f"Dates {cov['first_day']} to {cov['last_day']} ({cov['days']} days): {cov['data_days']} with sleep data "
        f"({format_stat(cov['data_pct'])} %), {cov['empty_days']} fetched with no sleep logged, "
        f"{cov['pending_days']} pending (not final, fetched again later), {cov['missing_days']} never fetched."
    )


def render_html(numbers: dict[str, Stats], figures: dict[str, FigureResult], generated_at: datetime) -> str:
    summary = numbers.get("summary", {})
    rows = []
    for label, key, source, unit in KEY_NUMBERS:
        value = numbers.get(source, {}).get(key)
        rows.append(_row(label, "n/a" if value is None else f"{format_stat(value)}{unit}"))
    if "first_night" in summary:
        date_range = f"Nights from {summary['first_night']} to {summary['last_night']}."
    else:
        date_range = "No nights in the warehouse yet."
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>Sleep report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>Sleep report</h1>",
        f"<p class='muted'>Generated {html.escape(generated_at.strftime('%Y-%m-%d %H:%M UTC'))} "
        "by <code>fitbit-sleep report</code> from the DuckDB warehouse.</p>",
        f"<p id='date-range'><b>Date range.</b> {html.escape(date_range)}</p>",
        f"<p id='coverage'><b>Data coverage.</b> {html.escape(_coverage_sentence(numbers.get('coverage_calendar', {})))}</p>",
        "<h2>Key numbers</h2>",
        f"<table class='key' id='key-numbers'>{''.join(rows)}</table>",
        "<h3>Sleep Regularity Index</h3>",
        f"<p class='formula'>{SRI_FORMULA}</p><p>{SRI_EXPLANATION}</p>",
        "<h2>Figures</h2>",
    ]
    for name, result in figures.items():
        encoded = base64.b64encode(result.png.read_bytes()).decode("ascii")
        title = name.replace("_", " ").capitalize()
        parts.append(
            f"<figure id='fig-{name}'><h3>{html.escape(title)}</h3>"
            f"<img alt='{html.escape(title)}' src='data:image/png;base64,{encoded}'>"
            f"<figcaption>{html.escape(FIGURES[name].description)}</figcaption></figure>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


def build_report(paths: StoragePaths, figures: dict[str, FigureResult] | None = None) -> Path:
    """Render the figures (unless given) and write ``report/report.html`` atomically; returns its path."""
    figures = render_all(paths) if figures is None else figures
    numbers = report_numbers(paths, figures)
    text = render_html(numbers, figures, datetime.now(UTC))
    paths.report_dir.mkdir(parents=True, exist_ok=True)
    target = paths.report_dir / "report.html"
    tmp = target.with_name(".report.html.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    return target
