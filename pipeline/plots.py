"""Sleep figures rendered from the warehouse with matplotlib (Agg, no pyplot state, no Dagster).

Why this shape:
- Every figure reads two SQL files from ``sql/queries/``: ``plot_<name>.sql`` gives the rows that are drawn and
  ``plot_<name>_stats.sql`` gives one row of numbers that are *printed* on the figure. The printed numbers therefore
  are exactly what a user gets by running that SQL in ``fitbit-sleep sql``; Python never recomputes them.
- Each figure prints its numbers in one stats box, one line per stat, from ``FigureSpec.labels``; the drawn strings
  are returned in ``FigureResult.texts`` so tests can check the picture says what the SQL says.
- Figures are drawn on ``matplotlib.figure.Figure`` objects (the Agg canvas), so rendering is thread-safe and never
  touches a GUI backend; files are written to a temp name and ``os.replace``d, so a reader never sees half a PNG.
- Empty or tiny data never crashes: the figure says "No data for this range".
- Long histories are aggregated where per-night marks would be sub-pixel (the stacked bar), which keeps render time
  nearly flat from 1 to 10 years.
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator

from pipeline.paths import StoragePaths

QUERIES_DIR = Path(__file__).resolve().parent.parent / "sql" / "queries"
NO_DATA_TEXT = "No data for this range"
# Figure title -> one line under NO_DATA_TEXT saying how to get that figure's data. Why: an empty physiology figure
# is the usual case (a sleep-only login), and "no data" alone does not say what to run. Filled in by the module that
# registers the figure (pipeline/physiology_plots.py), as FIGURES is.
NO_DATA_HINTS: dict[str, str] = {}
PREVIEW_MAX_WIDTH = 1000  # px: see preview_png

Stat = float | int | str
Stats = dict[str, Stat]

# Okabe & Ito (2008) palette: distinguishable with every common colour-vision deficiency.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "grey": "#999999",
}
STAGE_COLOURS = {
    "deep": OKABE_ITO["blue"],
    "light": OKABE_ITO["sky_blue"],
    "rem": OKABE_ITO["purple"],
    "wake": OKABE_ITO["orange"],
    "asleep": OKABE_ITO["green"],
    "restless": OKABE_ITO["yellow"],
    "awake": OKABE_ITO["vermillion"],
}
SHORT_WAKE_COLOUR = OKABE_ITO["vermillion"]

# One style for every figure (applied with rc_context, so importing this module changes no global state).
STYLE: dict[str, Any] = {
    "figure.figsize": (11.0, 5.5),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "font.size": 10,
    "axes.titlesize": 13,
    "axes.titleweight": "bold",
    "axes.labelsize": 10.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(
        color=[
            OKABE_ITO[k] for k in ("blue", "orange", "green", "purple", "sky_blue", "vermillion", "yellow")
        ]
    ),
    "legend.frameon": False,
    "legend.fontsize": 9.5,
    "svg.fonttype": "none",
}


@dataclass(frozen=True)
class FigureResult:
    """One rendered figure. ``stats`` are the printed numbers (from the stats SQL); ``texts`` every drawn string."""

    name: str
    png: Path
    svg: Path | None
    stats: Stats
    texts: tuple[str, ...] = field(default=(), repr=False)


Draw = Callable[[Figure, pd.DataFrame], Axes]


@dataclass(frozen=True)
class FigureSpec:
    """A registered figure: its draw function (returns the axes that carries the stats box) and what it prints.

    ``labels`` maps each stat column of ``plot_<name>_stats.sql`` to the line drawn for it (``{}`` = the value).
    ``title`` is how a person calls the figure (the registry name is a file and asset name).
    """

    name: str
    description: str
    draw: Draw
    labels: dict[str, str]
    title: str  # the human name: the report's section heading, the "no data" figure's title
    svg: bool = False
    box_loc: str = "right"
    figsize: tuple[float, float] | None = None


def format_stat(value: Stat) -> str:
    """The one way a number is printed: SQL rounds, this only drops trailing zeros (87.50 -> 87.5, 7.0 -> 7)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def stat_lines(spec: FigureSpec, stats: Stats) -> list[str]:
    """The exact stats-box lines for ``stats``; missing (NULL) stats are left out rather than printed as 'None'."""
    return [label.format(format_stat(stats[key])) for key, label in spec.labels.items() if key in stats]


# --- SQL ----------------------------------------------------------------------------------------------------------


def query_path(name: str) -> Path:
    return QUERIES_DIR / name


def run_query(con: duckdb.DuckDBPyConnection, filename: str) -> pd.DataFrame:
    """Run one file of ``sql/queries`` and return a DataFrame."""
    return con.execute(query_path(filename).read_text(encoding="utf-8")).df()


def run_stats(con: duckdb.DuckDBPyConnection, filename: str) -> Stats:
    """Run a one-row stats query; NULL columns are dropped, numpy scalars become Python numbers."""
    cur = con.execute(query_path(filename).read_text(encoding="utf-8"))
    row = cur.fetchone()
    if row is None:
        return {}
    names = [d[0] for d in cur.description]
    out: Stats = {}
    for key, value in zip(names, row, strict=True):
        if value is None:
            continue
        if isinstance(value, bool | np.bool_):
            out[key] = str(bool(value))
        elif isinstance(value, int | np.integer):
            out[key] = int(value)
        elif isinstance(value, float | np.floating):
            if np.isnan(value):
                continue
            out[key] = float(value)
        else:
            out[key] = str(value)
    return out


def open_warehouse(paths: StoragePaths) -> duckdb.DuckDBPyConnection | None:
    """A read-only connection, or None when no warehouse has been built yet (every figure then says 'no data')."""
    if not paths.warehouse_file.exists():
        return None
    from pipeline.warehouse import connect_participant

    return connect_participant(paths)


# --- shared drawing helpers -----------------------------------------------------------------------------------------


def _date_axis(ax: Axes, x: Any = None, *, pad_days: float = 3.0) -> None:
    """mdates ticks; a span of under a week is padded, or matplotlib would zoom out to several years."""
    locator = mdates.AutoDateLocator(minticks=3, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    if x is not None and len(x):
        nums = mdates.date2num(np.asarray(x))
        lo, hi = float(np.min(nums)), float(np.max(nums))
        if hi - lo < 7:
            ax.set_xlim(lo - pad_days, hi + pad_days)


def _clock(hours_after_noon: float) -> str:
    """11.5 -> '23:30', 19 -> '07:00' (hours after noon of the night's evening)."""
    minutes = int(round(hours_after_noon * 60)) % (24 * 60)
    return f"{(12 + minutes // 60) % 24:02d}:{minutes % 60:02d}"


def _clock_axis(ax: Axes) -> None:
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _clock(v)))


def _dates(series: pd.Series) -> np.ndarray:
    return pd.to_datetime(series).to_numpy(dtype="datetime64[ns]")


def _draw_stats_box(ax: Axes, lines: list[str], loc: str) -> None:
    if not lines:
        return
    x, y, ha, va = {
        "right": (1.02, 1.0, "left", "top"),
        "upper left": (0.02, 0.98, "left", "top"),
        "upper right": (0.98, 0.98, "right", "top"),
    }[loc]
    ax.text(
        x,
        y,
        "\n".join(lines),
        transform=ax.transAxes,
        ha=ha,
        va=va,
        fontsize=9.5,
        family="monospace",
        bbox={"boxstyle": "round,pad=0.5", "facecolor": "#F7F7F7", "edgecolor": "#BBBBBB"},
    )


def _draw_no_data(fig: Figure, title: str) -> Axes:
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(
        0.5, 0.5, NO_DATA_TEXT, ha="center", va="center", fontsize=18, color="#555555", transform=ax.transAxes
    )
    hint = NO_DATA_HINTS.get(title)
    if hint:
        ax.text(
            0.5, 0.38, hint, ha="center", va="center", fontsize=12, color="#555555", transform=ax.transAxes
        )
    return ax


# --- the figures ------------------------------------------------------------------------------------------------------


def draw_hist_asleep_vs_in_bed(fig: Figure, data: pd.DataFrame) -> Axes:
    ax = fig.add_subplot()
    values = np.concatenate([data["asleep_h"].to_numpy(float), data["in_bed_h"].to_numpy(float)])
    lo, hi = np.floor(values.min() * 4) / 4, np.ceil(values.max() * 4) / 4
    bins = list(np.arange(lo, max(hi, lo + 0.25) + 0.25, 0.25))
    ax.hist(data["in_bed_h"], bins=bins, alpha=0.55, color=OKABE_ITO["orange"], label="Time in bed")
    ax.hist(data["asleep_h"], bins=bins, alpha=0.55, color=OKABE_ITO["blue"], label="Time asleep")
    ax.set_title("Sleeping hours: time asleep vs time in bed (main sleeps)")
    ax.set_xlabel("Hours per night (h)")
    ax.set_ylabel("Main sleeps (count)")
    ax.legend(loc="upper left")
    return ax


def draw_scatter_efficiency(fig: Figure, data: pd.DataFrame) -> Axes:
    ax = fig.add_subplot()
    main = data[data["is_main_sleep"].astype(bool)]
    naps = data[~data["is_main_sleep"].astype(bool)]
    ax.scatter(
        main["time_in_bed"],
        main["minutes_asleep"],
        s=14,
        alpha=0.5,
        color=OKABE_ITO["blue"],
        label="Main sleep",
    )
    if len(naps):
        ax.scatter(
            naps["time_in_bed"], naps["minutes_asleep"], s=26, marker="^", alpha=0.7, color=OKABE_ITO["orange"],
            label="Nap",
        )  # fmt: skip
    top = float(max(data["time_in_bed"].max(), data["minutes_asleep"].max(), 1)) * 1.05
    ax.plot(
        [0, top], [0, top], linestyle="--", color=OKABE_ITO["black"], linewidth=1, label="1:1 (no time lost)"
    )
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_title("Sleep efficiency: time in bed vs minutes asleep")
    ax.set_xlabel("Time in bed (min)")
    ax.set_ylabel("Minutes asleep (min)")
    ax.legend(loc="lower right")
    return ax


STAGE_ORDER = ("deep", "light", "rem", "wake")
CLASSIC_NIGHT_LABEL = "classic night\n(asleep/restless/awake,\nnot stacked)"
NO_STAGES_TEXT = "No stages nights: every main sleep here is a classic log"


def _stage_means(frame: pd.DataFrame, days: int) -> tuple[pd.DataFrame, float, str]:
    """Per-night rows, or weekly/monthly means per stages night where per-night bars would be under ~1.5 px."""
    if days > 1500:
        means = frame.resample("MS").mean().dropna(how="all")
        means.index = means.index + pd.Timedelta(days=14)
        return means, 25.0, "monthly mean per stages night"
    if days > 400:
        means = frame.resample("W-MON", label="left", closed="left").mean().dropna(how="all")
        means.index = means.index + pd.Timedelta(days=3)
        return means, 6.0, "weekly mean per stages night"
    return frame, 0.8, "stages nights"


def draw_stages_stacked(fig: Figure, data: pd.DataFrame) -> Axes:
    """Stacked deep/light/REM/wake of stages nights only; classic nights are a grey tick below the zero line.

    Why apart: a classic log's asleep/restless/awake is movement-based and a stages log's deep/light/REM/wake is
    heart-rate-based; stacking both in one bar (or averaging them into one weekly bar) adds unlike things.
    """
    ax = fig.add_subplot()
    nights = data.set_index(pd.to_datetime(data["night_date"]))
    is_classic = nights["is_classic"].astype(bool)
    days = (nights.index.max() - nights.index.min()).days + 1
    frame, width, unit = _stage_means(nights.loc[~is_classic, list(STAGE_ORDER)].astype(float), days)
    x = mdates.date2num(pd.DatetimeIndex(frame.index).to_numpy())
    bottom = np.zeros(len(frame))
    for stage in STAGE_ORDER:
        values = frame[stage].fillna(0).to_numpy()
        if not values.any():
            continue
        ax.bar(x, values, width=width, bottom=bottom, color=STAGE_COLOURS[stage], label=stage, align="center")
        bottom += values
    top = float(max(bottom.max(initial=0.0), 60.0)) * 1.06
    if is_classic.any():
        classic = mdates.date2num(pd.DatetimeIndex(nights.index[is_classic]).to_numpy())
        ax.plot(classic, np.full(len(classic), -0.045 * top), linestyle="", marker="|", markersize=11,
                markeredgewidth=1.6, color=OKABE_ITO["grey"], label=CLASSIC_NIGHT_LABEL)  # fmt: skip
        ax.axhline(0, color="#444444", linewidth=0.8)
        ax.set_ylim(-0.09 * top, top)
    else:
        ax.set_ylim(0, top)
    if frame.empty:
        ax.text(0.5, 0.55, NO_STAGES_TEXT, transform=ax.transAxes, ha="center", va="center", fontsize=13,
                color="#555555")  # fmt: skip
    ax.xaxis_date()
    _date_axis(ax, nights.index.to_numpy())
    ax.set_title(f"Sleep stages of the main sleep ({unit})")
    ax.set_xlabel("Night (evening date)")
    ax.set_ylabel("Minutes (min)")
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: labels[i] == CLASSIC_NIGHT_LABEL)  # stages first
    ax.legend([handles[i] for i in order], [labels[i] for i in order], loc="upper left",
              bbox_to_anchor=(1.02, 0.45), title="Stage")  # fmt: skip
    return ax


def _nightly_and_means(
    ax: Axes, x: np.ndarray, data: pd.DataFrame, col: str, label: str, means: tuple[tuple[str, str], ...]
) -> None:
    """A nightly series in grey under its rolling means (columns ``<col>_<suffix>``): short one blue, long one red."""
    marker = "o" if len(data) < 60 else None
    ax.plot(x, data[col], color=OKABE_ITO["grey"], alpha=0.45, linewidth=0.8, marker=marker, markersize=3,
            label=f"{label}, nightly")  # fmt: skip
    for (suffix, mean_label), colour, width in zip(
        means, (OKABE_ITO["blue"], OKABE_ITO["vermillion"]), (1.6, 2.2), strict=False
    ):
        ax.plot(x, data[f"{col}_{suffix}"], color=colour, linewidth=width, label=mean_label)


def draw_two_series_means(
    fig: Figure, data: pd.DataFrame, panels: tuple[tuple[str, str, str], tuple[str, str, str]], title: str
) -> Axes:
    """Two nightly series (column, label, axis unit), one above the other, each with its 7- and 30-day means."""
    top, bottom = fig.subplots(2, 1, sharex=True)
    x = _dates(data["night_date"])
    for ax, (col, label, unit) in zip((top, bottom), panels, strict=True):
        _nightly_and_means(ax, x, data, col, label, (("7d", "7-day mean"), ("30d", "30-day mean")))
        ax.set_ylabel(unit)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 0.45) if ax is top else (1.02, 1.0))
    _date_axis(bottom, x)
    bottom.set_xlabel("Night (evening date)")
    top.set_title(title)
    return top


def draw_rolling_means(fig: Figure, data: pd.DataFrame) -> Axes:
    return draw_two_series_means(
        fig,
        data,
        (("asleep_h", "Time asleep", "Time asleep (h)"), ("efficiency_pct", "Efficiency", "Efficiency (%)")),
        "Rolling 7- and 30-day means of time asleep and efficiency (main sleeps)",
    )


def draw_weekday_weekend(fig: Figure, data: pd.DataFrame) -> Axes:
    axes = fig.subplots(1, 3)
    groups = [("Weekday", False, OKABE_ITO["blue"]), ("Weekend", True, OKABE_ITO["orange"])]
    weekend = data["is_weekend"].astype(bool)
    for ax, col, title, ylabel in (
        (axes[0], "bed_h", "Bedtime", "Clock time (HH:MM)"),
        (axes[1], "wake_h", "Wake time", "Clock time (HH:MM)"),
        (axes[2], "asleep_h", "Time asleep", "Time asleep (h)"),
    ):
        present = [(name, flag, colour) for name, flag, colour in groups if (weekend == flag).any()]
        series = [data.loc[weekend == flag, col].to_numpy(float) for _, flag, _ in present]
        parts = ax.boxplot(
            series, patch_artist=True, widths=0.55, showmeans=True, medianprops={"color": OKABE_ITO["black"]},
            meanprops={"marker": "D", "markerfacecolor": "white", "markeredgecolor": OKABE_ITO["black"]},
        )  # fmt: skip
        for box, (_, _, colour) in zip(parts["boxes"], present, strict=True):
            box.set_facecolor(colour)
            box.set_alpha(0.7)
        ax.set_xticks(range(1, len(present) + 1), [name for name, _, _ in present])
        ax.set_title(title, fontsize=11)
        ax.set_ylabel(ylabel)
        if col != "asleep_h":
            _clock_axis(ax)
    fig.suptitle("Weekday vs weekend nights (main sleeps)", fontweight="bold", fontsize=13)
    axes[2].legend(
        handles=[Patch(facecolor=c, alpha=0.7, label=n) for n, _, c in groups]
        + [Line2D([], [], color=OKABE_ITO["black"], label="median"),
           Line2D([], [], marker="D", linestyle="", markerfacecolor="white", markeredgecolor="black", label="mean")],
        loc="upper left", bbox_to_anchor=(1.02, 0.35),
    )  # fmt: skip
    return axes[2]


def draw_regularity(fig: Figure, data: pd.DataFrame) -> Axes:
    ax = fig.add_subplot()
    x = _dates(data["night_date"])
    s = 14 if len(data) < 400 else 5
    ax.scatter(x, data["bed_h"], s=s, alpha=0.45, color=OKABE_ITO["blue"], label="Bedtime")
    ax.scatter(x, data["wake_h"], s=s, alpha=0.45, color=OKABE_ITO["orange"], label="Wake time")
    if len(data) >= 3:
        rolled = (
            data.set_index(pd.to_datetime(data["night_date"]))[["bed_h", "wake_h"]].rolling("30D").median()
        )
        ax.plot(x, rolled["bed_h"], color=OKABE_ITO["blue"], linewidth=2, label="Bedtime, 30-day median")
        ax.plot(
            x, rolled["wake_h"], color=OKABE_ITO["vermillion"], linewidth=2, label="Wake time, 30-day median"
        )
    _date_axis(ax, x)
    _clock_axis(ax)
    ax.yaxis.set_major_locator(MultipleLocator(2))
    ax.set_title("Sleep regularity: bedtime and wake time per night")
    ax.set_xlabel("Night (evening date)")
    ax.set_ylabel("Clock time (HH:MM)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 0.45))
    return ax


def _midnight_clock_axis(ax: Axes) -> None:
    """Hours after local midnight on a -12..12 scale (-0.5 = 23:30) shown as clock times."""
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _clock(v + 12)))


FREE_NIGHT_SHADE = "#FBE3C0"  # a light orange: the free-night colour, faint enough for bars on top


def draw_sleep_timing(fig: Figure, data: pd.DataFrame) -> Axes:
    ax = fig.add_subplot()
    nights = pd.to_datetime(data["night_date"])
    x = mdates.date2num(nights.to_numpy())
    free = data["is_free_night"].astype(bool).to_numpy()
    for day in x[free]:
        ax.axvspan(day - 0.5, day + 0.5, color=FREE_NIGHT_SHADE, linewidth=0, zorder=0)
    slept = data["onset_h"].notna().to_numpy()
    onset, wake = data["onset_h"].to_numpy(float), data["wake_h"].to_numpy(float)
    for mask, colour in ((slept & ~free, OKABE_ITO["blue"]), (slept & free, OKABE_ITO["orange"])):
        ax.bar(x[mask], wake[mask] - onset[mask], bottom=onset[mask], width=0.7, color=colour, zorder=2)
    ax.scatter(x[slept], data["midpoint_h"].to_numpy(float)[slept], s=16, color=OKABE_ITO["black"], zorder=3)
    ax.xaxis_date()
    _date_axis(ax, nights.to_numpy())
    ax.set_xlim(x.min() - 0.7, x.max() + 0.7)
    _clock_axis(ax)
    ax.yaxis.set_major_locator(MultipleLocator(2))
    ax.set_title("Sleep timing, last 12 weeks: sleep onset to final awakening, and mid-sleep")
    ax.set_xlabel("Night (evening date)")
    ax.set_ylabel("Clock time (HH:MM)")
    ax.legend(
        handles=[Patch(facecolor=OKABE_ITO["blue"], label="work night"),
                 Patch(facecolor=OKABE_ITO["orange"], edgecolor=FREE_NIGHT_SHADE, linewidth=4,
                       label="free night (shaded):\nthe night before a\nfree day"),
                 Line2D([], [], marker="o", linestyle="", color=OKABE_ITO["black"], markersize=5, label="mid-sleep")],
        loc="upper left", bbox_to_anchor=(1.02, 0.4),
    )  # fmt: skip
    return ax


def draw_social_jet_lag(fig: Figure, data: pd.DataFrame) -> Axes:
    top, bottom = fig.subplots(2, 1, sharex=True)
    x = _dates(data["period_start"] + pd.Timedelta(days=3))  # the middle of the week
    marker = "o" if len(data) < 60 else None
    top.plot(
        x, data["msw_h"], color=OKABE_ITO["blue"], marker=marker, markersize=3, label="MSW (work nights)"
    )
    top.plot(
        x, data["msf_h"], color=OKABE_ITO["orange"], marker=marker, markersize=3, label="MSF (free nights)"
    )
    top.plot(x, data["msf_sc_h"], color=OKABE_ITO["purple"], linestyle="--", linewidth=1.2,
             label="MSFsc (chronotype)")  # fmt: skip
    _midnight_clock_axis(top)
    top.set_ylabel("Mid-sleep (HH:MM)")
    top.set_title("Social jet lag per week: mid-sleep on work and free nights (MCTQ)")
    top.legend(loc="upper left", bbox_to_anchor=(1.02, 0.1))
    bottom.bar(
        mdates.date2num(x),
        data["sjl_h"],
        width=5,
        color=OKABE_ITO["grey"],
        alpha=0.6,
        label="SJL = |MSF - MSW|, weekly",
    )
    bottom.plot(x, data["sjl_sc_h"], color=OKABE_ITO["green"], linewidth=1, marker=marker, markersize=3,
                label="SJLsc (sleep-corrected)")  # fmt: skip
    bottom.step(x, data["sjl_28d_h"], where="mid", color=OKABE_ITO["vermillion"], linewidth=2,
                label="SJL over 4 weeks")  # fmt: skip
    bottom.axhline(1, color=OKABE_ITO["black"], linestyle=":", linewidth=1, label="1 h")
    bottom.set_ylim(bottom=0)
    bottom.set_ylabel("Social jet lag (h)")
    bottom.set_xlabel("Week")
    bottom.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    _date_axis(bottom, x)
    return top


def draw_sri_rolling(fig: Figure, data: pd.DataFrame) -> Axes:
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    x = _dates(data["night_date"])
    top.plot(x, data["sri_7d"], color=OKABE_ITO["sky_blue"], linewidth=1, label="SRI, 7 days")
    top.plot(x, data["sri_28d"], color=OKABE_ITO["blue"], linewidth=2.2, label="SRI, 28 days")
    top.set_ylabel("Sleep Regularity Index")
    top.set_title("Sleep Regularity Index over the 7 and 28 days ending each night")
    top.legend(loc="upper left", bbox_to_anchor=(1.02, 0.2))
    bottom.plot(
        x, 100 * data["sri_7d_valid_fraction"], color=OKABE_ITO["sky_blue"], linewidth=1, label="7 days"
    )
    bottom.plot(
        x, 100 * data["sri_28d_valid_fraction"], color=OKABE_ITO["blue"], linewidth=2, label="28 days"
    )
    bottom.set_ylim(0, 105)
    bottom.set_ylabel("Valid epochs (%)")
    bottom.set_xlabel("Night (evening date)")
    bottom.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    _date_axis(bottom, x)
    return top


def draw_waso_awakenings(fig: Figure, data: pd.DataFrame) -> Axes:
    top, bottom = fig.subplots(2, 1, sharex=True)
    x = _dates(data["night_date"])
    means = (("7d", "7-day mean"), ("28d", "28-day mean"))
    _nightly_and_means(top, x, data, "waso_min", "WASO", means)
    _nightly_and_means(bottom, x, data, "awakenings", "Awakenings", means)
    top.set_ylabel("WASO (min)")
    top.set_ylim(bottom=0)
    top.set_title("Wake after sleep onset and awakenings per night (main sleep period)")
    bottom.set_ylabel("Awakenings (count)")
    bottom.set_ylim(bottom=0)
    bottom.yaxis.set_major_locator(MaxNLocator(integer=True))
    bottom.set_xlabel("Night (evening date)")
    for ax in (top, bottom):
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 0.45) if ax is top else (1.02, 1.0))
    _date_axis(bottom, x)
    return top


HYPNOGRAM_LEVELS = {
    "stages": ("deep", "light", "rem", "wake"),
    "classic": ("asleep", "restless", "awake"),
}


def draw_hypnogram_last_night(fig: Figure, data: pd.DataFrame) -> Axes:
    ax = fig.add_subplot()
    log_type = str(data["type"].iloc[0])
    long = data[~data["is_short"].astype(bool)].sort_values(["start_local", "seq"])
    short = data[data["is_short"].astype(bool)]
    order = list(HYPNOGRAM_LEVELS.get(log_type, HYPNOGRAM_LEVELS["stages"]))
    order += sorted(set(long["level"]) - set(order))  # unknown levels are kept, drawn on their own row
    y_of = {level: i for i, level in enumerate(order)}
    starts = pd.to_datetime(long["start_local"])
    ends = starts + pd.to_timedelta(long["seconds"], unit="s")
    x0, x1 = mdates.date2num(starts.to_numpy()), mdates.date2num(ends.to_numpy())
    ys = long["level"].map(y_of).to_numpy(float)
    # The hypnogram line: a step through every segment, then a coloured band per segment.
    ax.step(np.append(x0, x1[-1:]), np.append(ys, ys[-1:]), where="post", color="#444444", linewidth=0.8)
    for level in order:
        mask = long["level"].to_numpy() == level
        if mask.any():
            ax.hlines(ys[mask], x0[mask], x1[mask], colors=STAGE_COLOURS.get(level, OKABE_ITO["grey"]), linewidth=9,
                      label=level)  # fmt: skip
    if len(short):
        wake_y = y_of.get("wake", len(order) - 1) + 0.42
        s0 = mdates.date2num(pd.to_datetime(short["start_local"]).to_numpy())
        s1 = s0 + short["seconds"].to_numpy(float) / 86400.0
        ax.hlines(np.full(len(short), wake_y), s0, s1, colors=SHORT_WAKE_COLOUR, linewidth=5,
                  label="short wake (≤ 3 min)")  # fmt: skip
        ax.plot((s0 + s1) / 2, np.full(len(short), wake_y + 0.13), "v", color=SHORT_WAKE_COLOUR, markersize=4)
    ax.set_yticks(range(len(order)), order)
    ax.set_ylim(-0.6, len(order) - 0.1)
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.set_title("Hypnogram of the most recent main sleep")
    ax.set_xlabel("Clock time (local, HH:MM)")
    ax.set_ylabel("Stage")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 0.4))
    return ax


def draw_naps_per_month(fig: Figure, data: pd.DataFrame) -> Axes:
    ax = fig.add_subplot()
    months = pd.to_datetime(data["month"]) + pd.Timedelta(days=14)
    ax.bar(
        mdates.date2num(months.to_numpy()), data["naps"], width=24, color=OKABE_ITO["orange"], label="Naps"
    )
    ax.xaxis_date()
    _date_axis(ax, months.to_numpy(), pad_days=31)
    if len(data) <= 18:
        ax.xaxis.set_major_locator(mdates.MonthLocator())
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b\n%Y"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Naps per month")
    ax.set_xlabel("Month")
    ax.set_ylabel("Naps (count)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 0.3))
    return ax


COVERAGE_STATES = (
    ("data", "sleep data", OKABE_ITO["green"]),
    ("empty", "fetched, no sleep logged", OKABE_ITO["sky_blue"]),
    ("pending", "pending (not final)", OKABE_ITO["yellow"]),
    ("missing", "missing (never fetched)", OKABE_ITO["vermillion"]),
)


def draw_coverage_calendar(fig: Figure, data: pd.DataFrame) -> Axes:
    ax = fig.add_subplot()
    dates = pd.to_datetime(data["date"])
    code_of = {state: i for i, (state, _, _) in enumerate(COVERAGE_STATES)}
    codes = data["state"].map(lambda s: code_of.get(s, code_of["missing"])).to_numpy()
    first = dates.min().to_period("M")
    month_idx = (dates.dt.year - first.year) * 12 + (dates.dt.month - first.month)
    n_months = int(month_idx.max()) + 1
    grid = np.full((n_months, 31), np.nan)
    grid[month_idx.to_numpy(), dates.dt.day.to_numpy() - 1] = codes
    month_starts = pd.period_range(first, periods=n_months + 1, freq="M").to_timestamp()
    y_edges = mdates.date2num(month_starts.to_pydatetime())
    cmap = ListedColormap([c for _, _, c in COVERAGE_STATES]).with_extremes(bad="white")
    ax.pcolormesh(np.arange(0.5, 32.5), y_edges, np.ma.masked_invalid(grid), cmap=cmap, vmin=-0.5,
                  vmax=len(COVERAGE_STATES) - 0.5, edgecolors="white", linewidth=0.3 if n_months < 60 else 0)  # fmt: skip
    ax.yaxis_date()
    # Ticks mid-month so each label sits on its own row (edges would name the boundary between two rows).
    step = 1 if n_months <= 24 else 3 if n_months <= 60 else 12
    ax.yaxis.set_major_locator(mdates.MonthLocator(bymonth=range(1, 13, step), bymonthday=15))
    ax.yaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    ax.set_ylim(y_edges[-1], y_edges[0])
    ax.set_xlim(0.5, 31.5)
    ax.set_xticks([1, 5, 10, 15, 20, 25, 31])
    ax.grid(False)
    ax.set_title("Data coverage per day")
    ax.set_xlabel("Day of month")
    ax.set_ylabel("Month")
    ax.legend(
        handles=[Patch(facecolor=c, label=label) for _, label, c in COVERAGE_STATES], loc="upper left",
        bbox_to_anchor=(1.02, 0.35),
    )  # fmt: skip
    return ax


# --- registry ---------------------------------------------------------------------------------------------------------

FIGURES: dict[str, FigureSpec] = {
    spec.name: spec
    for spec in (
        FigureSpec(
            "hist_asleep_vs_in_bed",
            "Overlaid histograms of hours asleep and hours in bed per main sleep (the seed's 'Sleeping Hours').",
            draw_hist_asleep_vs_in_bed,
            {
                "main_sleeps": "main sleeps {}",
                "mean_asleep_h": "mean asleep {} h",
                "mean_in_bed_h": "mean in bed {} h",
            },
            box_loc="upper right",
            title="Time asleep and time in bed",
        ),
        FigureSpec(
            "scatter_efficiency",
            "Time in bed against minutes asleep with the 1:1 line; the gap below it is time lost. Efficiency and "
            "minutes lost are over main sleeps; naps are a separate series.",
            draw_scatter_efficiency,
            {
                "efficiency_pct": "efficiency {} %",
                "minutes_lost": "mean lost {} min/night",
                "main_sleeps": "main sleeps {}",
                "naps": "naps {}",
            },
            box_loc="upper left",
            figsize=(8.5, 7.0),
            title="Sleep efficiency",
        ),
        FigureSpec(
            "stages_stacked",
            "Stacked deep/light/REM/wake minutes of the main sleep of each stages night; nights whose main sleep "
            "is only a classic log (asleep/restless/awake) are marked below the zero line, not stacked. Long "
            "histories are shown as weekly or monthly means per stages night.",
            draw_stages_stacked,
            {
                "nights": "nights {}",
                "stages_nights": "stages nights {}",
                "classic_nights": "classic nights {}",
                "mean_deep_min": "mean deep {} min",
                "mean_light_min": "mean light {} min",
                "mean_rem_min": "mean REM {} min",
                "mean_wake_min": "mean wake {} min",
            },
            svg=True,
            figsize=(13.0, 5.5),
            title="Sleep stages",
        ),
        FigureSpec(
            "rolling_means",
            "Nightly time asleep and efficiency with calendar 7- and 30-day rolling means.",
            draw_rolling_means,
            {
                "last_night": "last night {}",
                "last_7d_asleep_h": "7-day asleep {} h",
                "last_30d_asleep_h": "30-day asleep {} h",
                "last_7d_efficiency_pct": "7-day eff. {} %",
                "last_30d_efficiency_pct": "30-day eff. {} %",
                "nights": "nights {}",
            },
            figsize=(13.0, 7.0),
            title="Trends: 7- and 30-day means",
        ),
        FigureSpec(
            "weekday_weekend",
            "Bedtime, wake time and time asleep on weekday nights against weekend nights (nights.is_weekend).",
            draw_weekday_weekend,
            {
                "weekday_nights": "weekday nights {}",
                "weekend_nights": "weekend nights {}",
                "weekday_bedtime": "weekday bed {}",
                "weekend_bedtime": "weekend bed {}",
                "weekday_waketime": "weekday wake {}",
                "weekend_waketime": "weekend wake {}",
                "weekday_asleep_h": "weekday asleep {} h",
                "weekend_asleep_h": "weekend asleep {} h",
            },
            figsize=(14.0, 5.5),
            title="Weekday and weekend nights",
        ),
        FigureSpec(
            "regularity",
            "Bedtime and wake time per night with 30-day medians, and the Sleep Regularity Index (Phillips et al. "
            "2017): SRI = -100 + 200/(M(N-1)) * sum_j sum_i delta(s[i,j], s[i,j+1]) over 30-s asleep/awake epochs "
            "(M = 2880 per noon-to-noon day), counting only pairs of consecutive days that both have data; "
            "100 = identical days, 0 = random.",
            draw_regularity,
            {
                "sri": "SRI {}",
                "sri_day_pairs": "day pairs {}",
                "bedtime_sd_min": "bedtime SD {} min",
                "waketime_sd_min": "wake SD {} min",
            },
            figsize=(13.0, 5.5),
            title="Sleep regularity",
        ),
        FigureSpec(
            "sleep_timing",
            "Each night of the last 12 weeks as a bar from sleep onset to final awakening of the main sleep period, "
            "with its mid-sleep (MCTQ's SO, SE and MS, from night_metrics); free nights (before a free day: the "
            "weekend, or a date in the free-dates file) are orange and shaded. The numbers are the circular means of "
            "the shown nights.",
            draw_sleep_timing,
            {
                "work_nights": "work nights {}",
                "free_nights": "free nights {}",
                "work_onset": "work onset {}",
                "free_onset": "free onset {}",
                "work_wake": "work wake {}",
                "free_wake": "free wake {}",
                "work_midpoint": "work mid-sleep {}",
                "free_midpoint": "free mid-sleep {}",
            },
            figsize=(13.0, 5.5),
            title="Sleep timing",
        ),
        FigureSpec(
            "social_jet_lag",
            "Per ISO week (period_metrics): mid-sleep on work nights (MSW) and free nights (MSF), the chronotype "
            "MSFsc (MSF corrected for oversleep on free days), social jet lag SJL = |MSF - MSW| and the "
            "sleep-corrected SJLsc (Jankowski 2017), with SJL over four weeks; Munich ChronoType Questionnaire "
            "definitions (Roenneberg et al. 2003, 2012) applied to the measured nights.",
            draw_social_jet_lag,
            {
                "weeks": "weeks {}",
                "median_msw": "median MSW {}",
                "median_msf": "median MSF {}",
                "median_msf_sc": "median MSFsc {}",
                "median_sjl_h": "median SJL {} h",
                "median_sjl_sc_h": "median SJLsc {} h",
                "last_week_sjl_h": "last week SJL {} h",
                "weeks_sjl_1h_pct": "weeks SJL >= 1 h {} %",
            },
            figsize=(13.0, 7.0),
            title="Social jet lag",
        ),
        FigureSpec(
            "sri_rolling",
            "The Sleep Regularity Index (Phillips et al. 2017) over the 7 and 28 days ending each night (sri_rolling): "
            "asleep/awake epochs of metric_settings.sri_epoch_seconds in noon-to-noon days; a pair of days is "
            "compared only when both have data, and the lower panel shows the share of the window's epochs that were. "
            "100 = the same pattern every day, 0 = random.",
            draw_sri_rolling,
            {
                "last_night": "last night {}",
                "last_sri_7d": "7-day SRI {}",
                "last_sri_28d": "28-day SRI {}",
                "sri_all": "whole history SRI {}",
                "day_pairs": "day pairs {}",
                "epoch_seconds": "epoch {} s",
            },
            figsize=(13.0, 6.5),
            title="Rolling Sleep Regularity Index",
        ),
        FigureSpec(
            "waso_awakenings",
            "Wake after sleep onset (awake minutes between sleep onset and the final awakening) and awakenings "
            "(awake bouts of at least metric_settings.awakening_minutes in that span) per night, with 7- and 28-day "
            "means (night_metrics).",
            draw_waso_awakenings,
            {
                "nights": "nights {}",
                "last_28d_waso_min": "28-day WASO {} min",
                "last_28d_awakenings": "28-day awakenings {}",
                "mean_waso_min": "mean WASO {} min",
                "mean_awakenings": "mean awakenings {}",
                "awakening_minutes": "awakening >= {} min",
            },
            figsize=(13.0, 7.0),
            title="WASO and awakenings",
        ),
        FigureSpec(
            "hypnogram_last_night",
            "Stages over clock time for the most recent main sleep (both parts of a split night, the wake between "
            "them drawn awake); short wakes (≤ 3 min, overlaid on the stages) are marked above.",
            draw_hypnogram_last_night,
            {
                "night_date": "night {}",
                "log_type": "type {}",
                "start": "start {}",
                "end": "end {}",
                "minutes_asleep": "asleep {} min",
                "time_in_bed": "in bed {} min",
                "parts": "parts {}",
                "short_wakes": "short wakes {}",
            },
            figsize=(13.0, 5.0),
            title="Last night's hypnogram",
        ),
        FigureSpec(
            "naps_per_month",
            "Naps (a night's logs outside its main sleep period) per calendar month, months without naps included.",
            draw_naps_per_month,
            {
                "naps": "naps {}",
                "months": "months {}",
                "naps_per_month": "per month {}",
                "mean_nap_asleep_min": "mean nap {} min",
            },
            figsize=(12.0, 5.0),
            title="Naps per month",
        ),
        FigureSpec(
            "coverage_calendar",
            "One cell per day: sleep data, fetched but empty, pending (fetched again later), or never fetched.",
            draw_coverage_calendar,
            {
                "first_day": "from {}",
                "last_day": "to {}",
                "days": "days {}",
                "data_days": "with data {}",
                "empty_days": "empty {}",
                "pending_days": "pending {}",
                "missing_days": "missing {}",
                "data_pct": "coverage {} %",
            },
            title="Data coverage",
        ),
    )
}


# The physiology figures live in pipeline/physiology_plots.py, which uses this module's helpers and adds its specs to
# FIGURES when it is imported; importing it here (in either import order) keeps one registry.
import pipeline.physiology_plots  # noqa: E402, F401

# --- rendering --------------------------------------------------------------------------------------------------------


def _atomic_save(fig: Figure, target: Path, fmt: str) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    fig.savefig(tmp, format=fmt, bbox_inches="tight")
    os.replace(tmp, target)


def _figure_texts(fig: Figure) -> tuple[str, ...]:
    lines: list[str] = []
    for artist in fig.findobj(Text):
        text = artist.get_text()
        if text:
            lines.extend(text.split("\n"))
    return tuple(lines)


def _figure_height(spec: FigureSpec, data: pd.DataFrame) -> tuple[float, float]:
    width, height = spec.figsize or STYLE["figure.figsize"]
    if spec.name == "coverage_calendar" and len(data):
        months = pd.to_datetime(data["date"]).dt.to_period("M").nunique()
        height = float(min(16.0, max(4.0, 1.8 + 0.13 * months)))
    return width, height


def render_figure(
    name: str, paths: StoragePaths, *, con: duckdb.DuckDBPyConnection | None = None
) -> FigureResult:
    """Render one registered figure to ``paths.plots_dir`` and return its files and printed numbers."""
    spec = FIGURES[name]
    # The file the query reads; a rebuild that lands later makes this record stale, and the automation that follows
    # every rebuild draws the figure again.
    stamp = warehouse_stamp(paths)
    own = con is None
    if own:
        con = open_warehouse(paths)
    try:
        if con is None:
            data, stats = pd.DataFrame(), {}
        else:
            data = run_query(con, f"plot_{name}.sql")
            stats = run_stats(con, f"plot_{name}_stats.sql")
    finally:
        if own and con is not None:
            con.close()

    paths.plots_dir.mkdir(parents=True, exist_ok=True)
    png = paths.plots_dir / f"{name}.png"
    svg = paths.plots_dir / f"{name}.svg" if spec.svg else None
    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]
        fig = Figure(figsize=_figure_height(spec, data), layout="constrained")
        if data.empty:
            box_ax, loc = _draw_no_data(fig, spec.title), "right"
        else:
            box_ax, loc = spec.draw(fig, data), spec.box_loc
        _draw_stats_box(box_ax, stat_lines(spec, stats), loc)
        _atomic_save(fig, png, "png")
        if svg is not None:
            _atomic_save(fig, svg, "svg")
        texts = _figure_texts(fig)
    _write_sidecar(paths, name, stamp, stats)
    return FigureResult(name=name, png=png, svg=svg, stats=stats, texts=texts)


def warehouse_stamp(paths: StoragePaths) -> str:
    """Which warehouse file is current: each rebuild swaps in a new file, so inode, mtime and size change."""
    try:
        st = paths.warehouse_file.stat()
    except FileNotFoundError:
        return ""
    return f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}"


def _sidecar_path(paths: StoragePaths, name: str) -> Path:
    return paths.plots_dir / f".{name}.rendered.json"


def _write_sidecar(paths: StoragePaths, name: str, stamp: str, stats: Stats) -> None:
    """Record which warehouse a figure was drawn from and its printed numbers, so the report can reuse the PNG."""
    target = _sidecar_path(paths, name)
    tmp = target.with_name(f"{target.name}.tmp")
    tmp.write_text(json.dumps({"warehouse": stamp, "stats": stats}), encoding="utf-8")
    os.replace(tmp, target)


def rendered_figure(paths: StoragePaths, name: str) -> FigureResult | None:
    """The figure as last rendered, if it was drawn from the current warehouse and its files are there; else None."""
    spec = FIGURES[name]
    png = paths.plots_dir / f"{name}.png"
    svg = paths.plots_dir / f"{name}.svg" if spec.svg else None
    try:
        record = json.loads(_sidecar_path(paths, name).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if record.get("warehouse") != warehouse_stamp(paths) or not png.exists() or (svg and not svg.exists()):
        return None
    return FigureResult(name=name, png=png, svg=svg, stats=dict(record.get("stats") or {}))


def current_figures(paths: StoragePaths) -> dict[str, FigureResult]:
    """Every registered figure, reusing the files the plot assets rendered from the current warehouse and rendering
    only the ones that are missing or older: each figure is drawn once per rebuild, not again for the report."""
    figures = {name: rendered_figure(paths, name) for name in FIGURES}
    stale = [name for name, result in figures.items() if result is None]
    if stale:
        con = open_warehouse(paths)
        try:
            figures.update({name: render_figure(name, paths, con=con) for name in stale})
        finally:
            if con is not None:
                con.close()
    return {name: result for name, result in figures.items() if result is not None}


def render_all(paths: StoragePaths) -> dict[str, FigureResult]:
    """Render every figure of ``FIGURES`` from one read-only warehouse connection."""
    con = open_warehouse(paths)
    try:
        return {name: render_figure(name, paths, con=con) for name in FIGURES}
    finally:
        if con is not None:
            con.close()


def preview_png(png: Path, max_width: int = PREVIEW_MAX_WIDTH) -> bytes:
    """The figure as the Dagster asset page shows it: at most ``max_width`` px wide, as a 256-colour palette PNG.

    Why this size: the UI shows a markdown metadata value in a dialog that grows with its image up to 80 % of the
    window, so a figure of ~1000 px keeps its 10-pt text at about 12 px or more (legible) on a 1280-px-wide window;
    the 200-px thumbnails it replaces could not be read. Why a palette: the figures are flat colours and
    anti-aliased text, so 256 colours look the same at ~30 % of the bytes, and every byte is stored in the event log
    once per materialization and sent to the browser whenever the asset's events are listed. Max-coverage keeps
    every pixel within ~15/255 of its colour; median cut (Pillow's default) merged small legend patches into their
    neighbours' colours.
    """
    from PIL import Image

    with Image.open(png) as image:
        rgb = image.convert("RGB")
    if rgb.width > max_width:
        rgb = rgb.resize((max_width, round(rgb.height * max_width / rgb.width)), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    rgb.quantize(256, method=Image.Quantize.MAXCOVERAGE, dither=Image.Dither.NONE).save(
        buffer, format="PNG", optimize=True
    )
    return buffer.getvalue()


def preview_data_uri(png: Path, max_width: int = PREVIEW_MAX_WIDTH) -> str:
    """``preview_png`` as a ``data:image/png;base64,`` URI (Dagster metadata cannot reference a file)."""
    return "data:image/png;base64," + base64.b64encode(preview_png(png, max_width)).decode("ascii")
