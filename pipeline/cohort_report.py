"""The cohort page: coverage per participant, nights per week and wear gaps, as a figure and a self-contained page.

Why its own page: a study lead asks "whose data is coming in, and whose is not?" before any sleep metric. The
numbers are the warehouse's ``cohort_coverage`` and ``cohort_weekly`` views (sql/warehouse.sql); this module only
draws them (``plots/cohort_nights_per_week.png``) and writes ``report/cohort.html`` under the data root.
"""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from pipeline.paths import StoragePaths  # noqa: E402
from pipeline.report import CSS  # noqa: E402
from pipeline.warehouse import connect_readonly  # noqa: E402

FIGURE_NAME = "cohort_nights_per_week"
COLUMNS = (
    ("participant_id", "participant"),
    ("status", "status"),
    ("first_night", "first night"),
    ("last_night", "last night"),
    ("nights", "nights"),
    ("coverage_pct", "coverage %"),
    ("nights_per_week", "nights / week"),
    ("wear_gaps", "wear gaps"),
    ("longest_gap_nights", "longest gap (nights)"),
    ("gap_nights", "nights missing"),
    ("days_pending", "days pending"),
)


@dataclass(frozen=True)
class CohortReport:
    path: Path
    figure: Path
    participants: int


def cohort_frames(paths: StoragePaths) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cohort_coverage, cohort_weekly) from the shared warehouse."""
    con = connect_readonly(paths)
    try:
        return (
            con.execute("SELECT * FROM cohort_coverage").df(),
            con.execute("SELECT * FROM cohort_weekly").df(),
        )
    finally:
        con.close()


def draw_nights_per_week(weekly: pd.DataFrame, target: Path) -> Path:
    """A participants x weeks grid, each cell the nights with a main sleep that week (0-7; blank: before the first
    or after the last night)."""
    people = sorted(weekly["participant_id"].unique()) if len(weekly) else []
    weeks = sorted(weekly["week_start"].unique()) if len(weekly) else []
    grid = np.full((max(len(people), 1), max(len(weeks), 1)), np.nan)
    row = {p: i for i, p in enumerate(people)}
    col = {w: j for j, w in enumerate(weeks)}
    for rec in weekly.itertuples(index=False):
        grid[row[rec.participant_id], col[rec.week_start]] = rec.nights
    fig = Figure(figsize=(max(8.0, 0.16 * len(weeks) + 3), max(2.5, 0.32 * len(people) + 1.6)), dpi=110)
    ax = fig.add_subplot()
    colours = ListedColormap(
        ["#D55E00", "#E69F00", "#F0E442", "#F5F0B0", "#B8DDEB", "#56B4E9", "#2A86C4", "#0B5394"]
    )
    image = ax.imshow(
        grid, aspect="auto", cmap=colours, norm=BoundaryNorm(np.arange(-0.5, 8.5), 8), interpolation="nearest"
    )
    if grid.size <= 600:  # few cells: print each count, so the figure reads without the colour bar
        for (i, j), value in np.ndenumerate(grid):
            if not np.isnan(value):
                ax.text(
                    j,
                    i,
                    f"{value:.0f}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if value >= 6 else "black",
                )
    ax.set_yticks(range(len(people)), labels=people)
    step = max(1, len(weeks) // 12)
    ax.set_xticks(
        range(0, len(weeks), step), labels=[pd.Timestamp(w).strftime("%Y-%m-%d") for w in weeks][::step]
    )
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    ax.set_xlabel("week starting (Monday)")
    ax.set_title("Nights with a main sleep per week, per participant (7 = every night)")
    fig.colorbar(image, ax=ax, ticks=range(8), label="nights that week", fraction=0.04)
    fig.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    fig.savefig(tmp, format="png")
    os.replace(tmp, target)
    return target


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return "–"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")  # type: ignore[no-any-return]
    return html.escape(str(value))


def render_cohort_html(coverage: pd.DataFrame, figure: Path, generated_at: datetime) -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(rec[key])}</td>" for key, _ in COLUMNS) + "</tr>"
        for rec in coverage.to_dict("records")
    )
    encoded = base64.b64encode(figure.read_bytes()).decode("ascii")
    return "\n".join(
        [
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
            "<meta name='viewport' content='width=device-width, initial-scale=1'>",
            f"<title>Cohort summary</title><style>{CSS} #cohort-coverage td {{ white-space: nowrap; }}</style>",
            "</head><body>",
            "<h1>Cohort summary</h1>",
            f"<p class='muted'>Generated {html.escape(generated_at.strftime('%Y-%m-%d %H:%M UTC'))} by "
            "<code>fitbit-sleep report --cohort</code> from the warehouse views <code>cohort_coverage</code> and "
            "<code>cohort_weekly</code>.</p>",
            f"<p>{len(coverage)} participants. <b>Coverage</b> is the share of nights with a main sleep between a "
            "participant's first and last night; a <b>wear gap</b> is a run of nights without one between two that "
            "have one (tracker not worn, not synced, or not fetched).</p>",
            f"<table class='key' id='cohort-coverage'><tr>{head}</tr>{body}</table>",
            f"<figure id='fig-{FIGURE_NAME}'><img alt='Nights per week per participant' "
            f"src='data:image/png;base64,{encoded}'><figcaption>Each row is a participant, each column an ISO week; "
            "the colour is the nights with a main sleep that week.</figcaption></figure>",
            "</body></html>",
        ]
    )


def write_cohort_report(paths: StoragePaths) -> CohortReport:
    """Draw the cohort figure and write ``report/cohort.html`` at the cohort root."""
    root = paths.cohort_paths
    coverage, weekly = cohort_frames(root)
    figure = draw_nights_per_week(weekly, root.plots_dir / f"{FIGURE_NAME}.png")
    target = root.report_dir / "cohort.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(".cohort.html.tmp")
    tmp.write_text(render_cohort_html(coverage, figure, datetime.now(UTC)), encoding="utf-8")
    os.replace(tmp, target)
    return CohortReport(target, figure, len(coverage))
