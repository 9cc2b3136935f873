"""A self-contained static HTML sleep report: key numbers, Sleep Scores, range, coverage and every figure (base64 PNG).

Why self-contained: the report is mailed, archived or opened from a file browser; it must not depend on the plot
files staying next to it, on a server, or on any network resource (no external CSS/JS/fonts).
Every number in it comes from a file of ``sql/queries/`` (``report_*.sql``) or from a figure's stats SQL.
With no sleep logs at all it is one short page that says what to run, not a column of empty figures.
"""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.paths import DEFAULT_PARTICIPANT, StoragePaths
from pipeline.plots import (
    FIGURES,
    FigureResult,
    Stats,
    current_figures,
    format_stat,
    open_warehouse,
    query_path,
    run_stats,
)

SRI_FORMULA = "SRI = −100 + 200 / (M·(N−1)) · Σ<sub>j=1..N−1</sub> Σ<sub>i=1..M</sub> δ(s<sub>i,j</sub>, s<sub>i,j+1</sub>)"
SRI_EXPLANATION = (
    "Sleep Regularity Index (Phillips et al. 2017, <i>Sci Rep</i> 7:3216): s<sub>i,j</sub> is 1 when asleep in "
    "epoch i of day j, δ is 1 when the state is the same 24 hours later. Here epochs are 30 s (M = 2880 per "
    "noon-to-noon day, local clock time); asleep = deep/light/REM/asleep segments of any log minus the short wakes "
    "overlaid on them. Only pairs of consecutive days that both have a main sleep are compared, so a missing night "
    "counts as unknown rather than awake. 100 = the same pattern every day, 0 = random, −100 = exactly alternating."
)

# (label, stat key, source: "summary" | "scores" | figure name, unit)
KEY_NUMBERS: tuple[tuple[str, str, str, str], ...] = (
    ("Nights", "nights", "summary", ""),
    ("Main sleeps (one per night)", "main_sleeps", "summary", ""),
    ("Naps", "naps", "summary", ""),
    ("Efficiency (asleep / in bed)", "efficiency_pct", "summary", " %"),
    ("Minutes lost per night (in bed − asleep)", "minutes_lost", "summary", " min"),
    ("Time asleep per night (main sleep)", "mean_asleep_h", "summary", " h"),
    ("Sleep Regularity Index", "sri", "regularity", ""),
    ("Mean Sleep Score", "mean_score", "scores", ""),
    ("First night", "first_night", "summary", ""),
    ("Last night", "last_night", "summary", ""),
    ("Days with sleep data", "data_pct", "coverage_calendar", " %"),
)

# "Timing and regularity" section (report_timing_regularity.sql): (label, stat key, unit, definition). The definitions
# are docs/metrics.md's in one line each; the variant in force is printed under the table.
TIMING_NUMBERS: tuple[tuple[str, str, str, str], ...] = (
    ("Nights with sleep", "nights", "", "nights whose main sleep period has at least one asleep epoch"),
    (
        "Sleep onset",
        "onset_mean",
        "",
        "start of the first asleep bout (MCTQ SO); circular mean of all nights",
    ),
    ("Onset spread", "onset_sd_min", " min", "circular SD of the onsets (23:30 and 00:30 are 1 h apart)"),
    ("Final awakening", "wake_mean", "", "end of the last asleep bout (MCTQ SE); circular mean"),
    ("Wake spread", "wake_sd_min", " min", "circular SD of the final awakenings"),
    ("Mid-sleep", "midpoint_mean", "", "onset + (wake − onset) / 2 (MCTQ MS); circular mean"),
    ("Total sleep time", "total_sleep_h", " h", "asleep time in the main sleep period (TST), mean per night"),
    ("Sleep onset latency", "sol_min", " min", "bedtime to sleep onset (SOL), mean per night"),
    ("Wake after sleep onset", "waso_min", " min", "awake minutes between onset and final awakening (WASO)"),
    (
        "Awakenings",
        "awakenings",
        " per night",
        "awake bouts between onset and final awakening at or over the awakening threshold",
    ),
    (
        "All awakenings",
        "awakenings_all",
        " per night",
        "every awake bout in that span, a 30-s short wake included",
    ),
    (
        "Longest awakening",
        "longest_awakening_min",
        " min",
        "the night's longest awake bout after onset, mean",
    ),
    ("Weeks with work and free nights", "mctq_weeks", "", "ISO weeks that give the MCTQ values below"),
    ("MSW", "msw", "", "mid-sleep on work nights, SO + SD / 2 (median week)"),
    ("MSF", "msf", "", "mid-sleep on free nights, the nights before a free day (median week)"),
    ("MSFsc (chronotype)", "msf_sc", "", "MSF − (SD_f − SD_week) / 2 when free nights are longer, else MSF"),
    ("Social jet lag", "sjl_h", " h", "|MSF − MSW| (Roenneberg et al. 2012), median week"),
    (
        "Social jet lag, sleep-corrected",
        "sjl_sc_h",
        " h",
        "|SO_f − SO_w| if SD_w ≤ SD_f, else |SE_f − SE_w| (Jankowski 2017), median week",
    ),
    (
        "Sleep Regularity Index",
        "sri",
        "",
        "Phillips et al. 2017 over every pair of consecutive days with data, "
        "pooled; 100 = the same pattern every day",
    ),
    ("SRI day pairs", "sri_pairs", "", "pairs of consecutive days that both have a main sleep"),
    (
        "Sleep debt, last 7 days",
        "debt_7d_h",
        " h",
        "Σ (goal − sleep) over the nights with data in the 7 days "
        "ending at the newest night; negative = sleep in hand",
    ),
)
TIMING_VARIANT = (
    "Variant: SRI epochs of {sri_epoch_seconds} s in noon-to-noon days (local clock); awakenings from "
    "{awakening_minutes} min; free days {free_days} plus {free_dates} dates from the free-dates file; sleep goal "
    "{sleep_goal_h} h. Set them in the environment (README, Configuration); docs/metrics.md has every formula, its "
    "reference and how closely it matches the reference implementations."
)

# "Sleep physiology" section (report_physiology.sql): (label, value key, unit, nights key, definition).
PHYSIOLOGY_NUMBERS: tuple[tuple[str, str, str, str, str], ...] = (
    ("Heart rate asleep", "hr_mean_asleep", " bpm", "nights_with_hr",
     "mean of the samples inside the main sleep's asleep segments (one source per night)"),
    ("Lowest heart rate asleep", "hr_min_asleep", " bpm", "nights_with_hr", "mean of each night's lowest sample"),
    ("Heart rate in deep sleep", "hr_mean_deep", " bpm", "nights_with_hr", "stages nights"),
    ("Heart rate in REM sleep", "hr_mean_rem", " bpm", "nights_with_hr", "stages nights"),
    ("Resting heart rate", "resting_hr", " bpm", "nights_with_resting_hr", "Fitbit's, of the day the sleep ended"),
    ("HRV (RMSSD)", "hrv_rmssd", " ms", "nights_with_hrv", "over the main sleep, reported the day it ended"),
    ("SpO2", "spo2_avg", " %", "nights_with_spo2", "nightly average; 50 (no reading) removed"),
    ("Breathing rate", "breathing_rate", " /min", "nights_with_breathing_rate", "breaths per minute, full sleep"),
    ("Skin temperature", "skin_temp_delta", " °", "nights_with_skin_temp",
     "deviation from the personal baseline (°C or °F as the account's locale)"),
)  # fmt: skip
NO_PHYSIOLOGY_TEXT = (
    "No heart rate, HRV, SpO2, breathing rate or skin temperature yet. Log in with <code>fitbit-sleep login "
    "--physiology</code> and run a backfill, or import an account archive that holds them."
)

# Sleep Score section: (label, stat key) rows, then the bands Fitbit names.
SCORE_NUMBERS: tuple[tuple[str, str], ...] = (
    ("Scored nights", "scored_nights"),
    ("Mean score", "mean_score"),
    ("Median score", "median_score"),
    ("Mean of the last 30 days", "last_30d_mean_score"),
    ("Lowest score", "min_score"),
    ("Highest score", "max_score"),
    ("Mean composition (of 25)", "mean_composition"),
    ("Mean revitalization (of 25)", "mean_revitalization"),
    ("Mean duration (of 50)", "mean_duration"),
    ("Mean resting heart rate (bpm)", "mean_resting_heart_rate"),
)
SCORE_BANDS: tuple[tuple[str, str], ...] = (
    ("Excellent (90–100)", "excellent"),
    ("Good (80–89)", "good"),
    ("Fair (60–79)", "fair"),
    ("Poor (below 60)", "poor"),
)
SCORE_MONTH_COLUMNS: tuple[tuple[str, str], ...] = (
    ("month", "Month"),
    ("nights", "Nights"),
    ("overall", "Score"),
    ("composition", "Composition"),
    ("revitalization", "Revitalization"),
    ("duration", "Duration"),
    ("deep_min", "Deep (min)"),
    ("resting_hr", "Resting HR"),
)
NO_SCORES_TEXT = (
    "No Sleep Scores yet. Fitbit's Web API does not serve them; they come with your account archive. Import it "
    "with <code>fitbit-sleep import MyFitbitData.zip</code> (or drop the zip into "
    "<code>$FITBIT_SLEEP_HOME/imports/</code> while Dagster runs) and the scores appear here."
)
GET_DATA_STEPS = (
    "<code>fitbit-sleep import MyFitbitData.zip</code>: your Fitbit account archive (or a Google Takeout zip);",
    "<code>fitbit-sleep login</code>, then <code>fitbit-sleep backfill --start YYYY-MM-DD --end YYYY-MM-DD</code>: "
    "the Web API (or the sandbox);",
    "<code>make demo</code>: try everything on the built-in sandbox's made-up history.",
)

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1180px;
       color: #222; line-height: 1.45; padding: 0 1rem; }
h1 { margin-bottom: .2rem; } .muted { color: #666; }
table.key { border-collapse: collapse; margin: 1rem 0; }
table.key th, table.key td { border-bottom: 1px solid #ddd; padding: .35rem .8rem; text-align: left; }
table.key td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure { margin: 2rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
td.def { color: #555; font-size: .92rem; }
figcaption { color: #444; margin-top: .4rem; } .formula { font-family: Georgia, serif; font-size: 1.05rem; }
#no-data { border-left: 4px solid #E69F00; padding: .2rem 1rem; background: #FFF8E8; }
"""


@dataclass(frozen=True)
class ReportData:
    """What the report prints: ``numbers`` by source ("summary", "scores", each figure's stats) and the monthly
    Sleep Score rows."""

    numbers: dict[str, Stats]
    score_months: list[dict[str, Any]]

    @property
    def has_sleep(self) -> bool:
        summary = self.numbers.get("summary", {})
        return bool(summary.get("nights") or summary.get("naps"))


@dataclass(frozen=True)
class ReportResult:
    """The written report: its path, whether it has sleep data, and its two tables of numbers as printed."""

    path: Path
    has_sleep: bool
    key_numbers: tuple[tuple[str, str], ...]
    score_numbers: tuple[tuple[str, str], ...]  # () without Sleep Scores
    figures: int


def report_data(paths: StoragePaths, figures: dict[str, FigureResult]) -> ReportData:
    """Run the report's SQL on one read-only connection (none: no warehouse yet) and add the figures' stats."""
    con = open_warehouse(paths)
    summary: Stats = {}
    timing: Stats = {}
    physiology: Stats = {}
    scores: Stats = {}
    months: list[dict[str, Any]] = []
    if con is not None:
        try:
            summary = run_stats(con, "report_summary.sql")
            timing = run_stats(con, "report_timing_regularity.sql")
            physiology = run_stats(con, "report_physiology.sql")
            scores = run_stats(con, "report_sleep_scores.sql")
            cur = con.execute(query_path("report_sleep_scores_by_month.sql").read_text(encoding="utf-8"))
            names = [d[0] for d in cur.description]
            months = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        finally:
            con.close()
    numbers: dict[str, Stats] = {
        "summary": summary,
        "timing": timing,
        "physiology": physiology,
        "scores": scores,
    }
    numbers.update({name: result.stats for name, result in figures.items()})
    return ReportData(numbers, months)


def key_numbers(numbers: dict[str, Stats]) -> tuple[tuple[str, str], ...]:
    """(label, printed value) of the key-numbers table; a number the data cannot give is 'n/a'."""
    rows = []
    for label, key, source, unit in KEY_NUMBERS:
        value = numbers.get(source, {}).get(key)
        rows.append((label, "n/a" if value is None else f"{format_stat(value)}{unit}"))
    return tuple(rows)


def _row(label: str, value: str) -> str:
    return f"<tr><th>{html.escape(label)}</th><td class='num'>{html.escape(value)}</td></tr>"


def _coverage_sentence(cov: Stats) -> str:
    if not cov.get("days"):
        return "No dates have been landed yet."
    return (
        f"Dates {cov['first_day']} to {cov['last_day']} ({cov['days']} days): {cov['data_days']} with sleep data "
        f"({format_stat(cov['data_pct'])} %), {cov['empty_days']} fetched with no sleep logged, "
        f"{cov['pending_days']} pending (not final, fetched again later), {cov['missing_days']} never fetched."
    )


def score_numbers(scores: Stats) -> tuple[tuple[str, str], ...]:
    """(label, printed value) of the Sleep Score table: key numbers, then Fitbit's bands; () without scores."""
    if not scores.get("scored_nights"):
        return ()
    rows = [(label, format_stat(scores[key])) for label, key in SCORE_NUMBERS if key in scores]
    rows += [
        (label, f"{scores[f'{band}_nights']} nights ({format_stat(scores[f'{band}_pct'])} %)")
        for label, band in SCORE_BANDS
    ]
    return tuple(rows)


def _cell(value: Any) -> str:
    return "<td class='num'>" + ("–" if value is None else html.escape(format_stat(value))) + "</td>"


def _scores_html(scores: Stats, months: list[dict[str, Any]]) -> str:
    """The Sleep Score section: key numbers, Fitbit's bands and one row per month; or how to get scores."""
    rows = score_numbers(scores)
    if not rows:
        return f"<section id='sleep-scores'><h2>Sleep Score</h2><p>{NO_SCORES_TEXT}</p></section>"
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in SCORE_MONTH_COLUMNS)
    body = "".join(
        "<tr>" + "".join(_cell(month[key]) for key, _ in SCORE_MONTH_COLUMNS) + "</tr>" for month in months
    )
    return (
        "<section id='sleep-scores'><h2>Sleep Score</h2>"
        f"<p>{scores['scored_nights']} nights scored from {scores['first_score']} to {scores['last_score']} "
        "(Fitbit's Sleep Score, 0–100 = composition + revitalization + duration, from your account archive; "
        "– = the archive left the column empty).</p>"
        f"<table class='key' id='score-numbers'>{''.join(_row(label, value) for label, value in rows)}</table>"
        "<h3>By month</h3>"
        f"<table class='key' id='score-months'><tr>{head}</tr>{body}</table></section>"
    )


def timing_numbers(timing: Stats) -> tuple[tuple[str, str, str], ...]:
    """(label, printed value, definition) of the "Timing and regularity" table; 'n/a' where the data gives none."""
    rows = []
    for label, key, unit, definition in TIMING_NUMBERS:
        value = timing.get(key)
        rows.append((label, "n/a" if value is None else f"{format_stat(value)}{unit}", definition))
    return tuple(rows)


def _timing_html(timing: Stats) -> str:
    """The "Timing and regularity" section: when sleep happens, how broken and how regular it is, with definitions."""
    body = "".join(
        f"<tr><th>{html.escape(label)}</th><td class='num'>{html.escape(value)}</td>"
        f"<td class='def'>{html.escape(definition)}</td></tr>"
        for label, value, definition in timing_numbers(timing)
    )
    variant = ""
    if "sri_epoch_seconds" in timing:
        values = {key: format_stat(value) for key, value in timing.items()}
        variant = f"<p id='timing-variant'>{html.escape(TIMING_VARIANT.format(**values))}</p>"
    return (
        "<section id='timing-regularity'><h2>Timing and regularity</h2>"
        "<p>When sleep happens, how broken it is and how regular it is, by the standard definitions (the figures "
        "Sleep timing, Social jet lag, Rolling Sleep Regularity Index and WASO and awakenings show them over time). "
        "Free nights are the nights before a free day (MCTQ, Roenneberg et al. 2003).</p>"
        f"<table class='key' id='timing-numbers'><tr><th>Metric</th><th>Value</th><th>Definition</th></tr>{body}"
        f"</table>{variant}</section>"
    )


def physiology_numbers(stats: Stats) -> tuple[tuple[str, str, str, str], ...]:
    """(label, printed value, nights, definition) of the "Sleep physiology" table; () without any physiology."""
    if not any(stats.get(nights) for *_, nights, _ in PHYSIOLOGY_NUMBERS):
        return ()
    return tuple(
        (label, "n/a" if stats.get(key) is None else f"{format_stat(stats[key])}{unit}",
         format_stat(stats.get(nights, 0)), definition)
        for label, key, unit, nights, definition in PHYSIOLOGY_NUMBERS
    )  # fmt: skip


def _physiology_html(stats: Stats) -> str:
    """The "Sleep physiology" section: whole-history means per night, with how many nights each covers."""
    rows = physiology_numbers(stats)
    if not rows:
        return f"<section id='physiology'><h2>Sleep physiology</h2><p>{NO_PHYSIOLOGY_TEXT}</p></section>"
    body = "".join(
        f"<tr><th>{html.escape(label)}</th><td class='num'>{html.escape(value)}</td>"
        f"<td class='num'>{html.escape(nights)}</td><td class='def'>{html.escape(definition)}</td></tr>"
        for label, value, nights, definition in rows
    )
    return (
        "<section id='physiology'><h2>Sleep physiology</h2>"
        f"<p>Means over the {format_stat(stats.get('nights', 0))} nights; heart rate from "
        f"{html.escape(str(stats.get('hr_sources', 'none')))}. The figures Heart rate during sleep, Last night's "
        "heart rate and stages, HRV and resting heart rate trends and Sleep duration and next-day resting heart "
        "rate show them over time.</p>"
        "<table class='key' id='physiology-numbers'><tr><th>Measure</th><th>Mean</th><th>Nights</th>"
        f"<th>Definition</th></tr>{body}</table></section>"
    )


def _figures_html(figures: dict[str, FigureResult]) -> list[str]:
    parts = ["<h2>Figures</h2>"]
    for name, result in figures.items():
        encoded = base64.b64encode(result.png.read_bytes()).decode("ascii")
        title = FIGURES[name].title
        parts.append(
            f"<figure id='fig-{name}'><h3>{html.escape(title)}</h3>"
            f"<img alt='{html.escape(title)}' src='data:image/png;base64,{encoded}'>"
            f"<figcaption>{html.escape(FIGURES[name].description)}</figcaption></figure>"
        )
    return parts


def _no_data_html(coverage: Stats, warehouse: Path) -> list[str]:
    """The whole body when there is no sleep log at all: what is missing and the commands that fill it."""
    if coverage.get("days"):
        why = f"No sleep has been logged in the dates fetched so far. {_coverage_sentence(coverage)}"
    else:
        why = f"Nothing has been fetched or imported yet (no warehouse at {warehouse})."
    steps = "".join(f"<li>{step}</li>" for step in GET_DATA_STEPS)
    return [
        "<section id='no-data'><h2>No sleep data yet</h2>",
        f"<p>{html.escape(why)}</p><p>Get data with one of:</p><ul>{steps}</ul>",
        "<p>Then run <code>fitbit-sleep report</code> again (under Dagster the report rebuilds itself after every "
        "run or import).</p></section>",
    ]


def render_html(
    data: ReportData, figures: dict[str, FigureResult], generated_at: datetime, warehouse: Path, who: str = ""
) -> str:
    """The report page; ``who`` names the participant when it is not the data root's own."""
    numbers = data.numbers
    summary = numbers.get("summary", {})
    coverage = numbers.get("coverage_calendar", {})
    title = "Sleep report" + (f" of participant {who}" if who else "")
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{html.escape(title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='muted'>Generated {html.escape(generated_at.strftime('%Y-%m-%d %H:%M UTC'))} "
        "by <code>fitbit-sleep report</code> from the DuckDB warehouse.</p>",
    ]
    if not data.has_sleep:
        parts += _no_data_html(coverage, warehouse)
        parts.append("</body></html>")
        return "\n".join(parts)
    if "first_night" in summary:
        date_range = f"Nights from {summary['first_night']} to {summary['last_night']}."
    else:
        date_range = "No main sleeps yet (naps only)."
    rows = "".join(_row(label, value) for label, value in key_numbers(numbers))
    parts += [
        f"<p id='date-range'><b>Date range.</b> {html.escape(date_range)}</p>",
        f"<p id='coverage'><b>Data coverage.</b> {html.escape(_coverage_sentence(coverage))}</p>",
        "<h2>Key numbers</h2>",
        f"<table class='key' id='key-numbers'>{rows}</table>",
        "<h3>Sleep Regularity Index</h3>",
        f"<p class='formula'>{SRI_FORMULA}</p><p>{SRI_EXPLANATION}</p>",
        _timing_html(numbers.get("timing", {})),
        _physiology_html(numbers.get("physiology", {})),
        _scores_html(numbers.get("scores", {}), data.score_months),
        *_figures_html(figures),
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(paths: StoragePaths, figures: dict[str, FigureResult] | None = None) -> ReportResult:
    """Write ``report/report.html`` atomically with ``figures`` (default: the ones the plot assets rendered from the
    current warehouse, drawing only those missing or stale)."""
    figures = current_figures(paths) if figures is None else figures
    data = report_data(paths, figures)
    who = "" if paths.participant_id == DEFAULT_PARTICIPANT else paths.participant_id
    text = render_html(data, figures, datetime.now(UTC), paths.warehouse_file, who)
    paths.report_dir.mkdir(parents=True, exist_ok=True)
    target = paths.report_dir / "report.html"
    tmp = target.with_name(".report.html.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    embedded = len(figures) if data.has_sleep else 0
    scores = score_numbers(data.numbers.get("scores", {}))
    return ReportResult(target, data.has_sleep, key_numbers(data.numbers), scores, embedded)


def build_report(paths: StoragePaths, figures: dict[str, FigureResult] | None = None) -> Path:
    """``write_report`` for callers that only need the path (``fitbit-sleep report``)."""
    return write_report(paths, figures).path
