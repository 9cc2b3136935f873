"""The physiology figures (registered in ``pipeline.plots.FIGURES``): heart rate during sleep with resting HR, a
night's hypnogram with its heart rate, HRV and resting HR trends, and sleep duration against the next day's resting HR.

Each draws the rows of ``sql/queries/plot_<name>.sql`` over ``nightly_physiology`` (docs/physiology.md) and prints the
one row of ``plot_<name>_stats.sql``, like every other figure. A history without physiology draws the "no data"
figure (the query returns no rows) with one line on how to get heart rate (``NO_PHYSIOLOGY_HINT``).
"""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from pipeline.plots import (
    FIGURES,
    NO_DATA_HINTS,
    OKABE_ITO,
    SHORT_WAKE_COLOUR,
    STAGE_COLOURS,
    FigureSpec,
    _date_axis,
    _dates,
    draw_two_series_means,
)

HR_COLOUR = OKABE_ITO["vermillion"]
MIN_BIN_NIGHTS = 5
RESTING_COLOUR = OKABE_ITO["blue"]


def draw_heart_rate_sleep(fig: Figure, data: pd.DataFrame) -> Axes:
    ax = fig.add_subplot()
    x = _dates(data["night_date"])
    marker = "o" if len(data) < 60 else None
    ax.fill_between(x, data["hr_min_asleep"].astype(float), data["hr_mean_asleep"].astype(float),
                    color=HR_COLOUR, alpha=0.15, linewidth=0, label="lowest to mean, asleep")  # fmt: skip
    ax.plot(x, data["hr_mean_asleep"], color=HR_COLOUR, alpha=0.5, linewidth=0.8, marker=marker, markersize=3,
            label="mean asleep, nightly")  # fmt: skip
    ax.plot(x, data["hr_mean_asleep_30d"], color=HR_COLOUR, linewidth=2.2, label="mean asleep, 30-day mean")
    ax.plot(x, data["resting_hr"], color=RESTING_COLOUR, alpha=0.5, linewidth=0.8, marker=marker, markersize=3,
            label="resting HR of the day it ended")  # fmt: skip
    ax.plot(x, data["resting_hr_30d"], color=RESTING_COLOUR, linewidth=2.2, label="resting HR, 30-day mean")
    ax.set_ylabel("Heart rate (bpm)")
    ax.set_xlabel("Night (evening date)")
    ax.set_title("Heart rate during sleep (main sleep, asleep segments) and resting heart rate")
    _date_axis(ax, x)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 0.5))
    return ax


HYPNOGRAM_ROWS = {"stages": ("deep", "light", "rem", "wake"), "classic": ("asleep", "restless", "awake")}


def draw_hypnogram_heart_rate(fig: Figure, data: pd.DataFrame) -> Axes:
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    samples = data[data["kind"] == "sample"]
    is_short = data["is_short"].fillna(False).astype(bool)  # NULL on the sample rows
    segments = data[(data["kind"] == "segment") & ~is_short].sort_values("ts")
    short = data[(data["kind"] == "segment") & is_short]
    log_type = str(segments["type"].dropna().iloc[0]) if segments["type"].notna().any() else "stages"
    order = list(HYPNOGRAM_ROWS.get(log_type, HYPNOGRAM_ROWS["stages"]))
    order += sorted(set(segments["level"].dropna()) - set(order))
    y_of = {level: i for i, level in enumerate(order)}
    starts = pd.to_datetime(segments["ts"])
    x0 = mdates.date2num(starts.to_numpy())
    x1 = mdates.date2num((starts + pd.to_timedelta(segments["seconds"].astype(float), unit="s")).to_numpy())
    ys = segments["level"].map(y_of).to_numpy(float)
    bottom.step(np.append(x0, x1[-1:]), np.append(ys, ys[-1:]), where="post", color="#444444", linewidth=0.8)
    for level in order:
        mask = segments["level"].to_numpy() == level
        if mask.any():
            bottom.hlines(ys[mask], x0[mask], x1[mask], colors=STAGE_COLOURS.get(level, OKABE_ITO["grey"]),
                          linewidth=9, label=level)  # fmt: skip
    if len(short):
        s0 = mdates.date2num(pd.to_datetime(short["ts"]).to_numpy())
        s1 = s0 + short["seconds"].to_numpy(float) / 86400.0
        wake_y = y_of.get("wake", len(order) - 1) + 0.42
        bottom.hlines(np.full(len(short), wake_y), s0, s1, colors=SHORT_WAKE_COLOUR, linewidth=5,
                      label="short wake")  # fmt: skip
    bottom.set_yticks(range(len(order)), order)
    bottom.set_ylim(-0.6, len(order) - 0.1)
    bottom.set_ylabel("Stage")
    bottom.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    sx = mdates.date2num(pd.to_datetime(samples["ts"]).to_numpy())
    bpm = samples["bpm"].to_numpy(float)
    top.plot(sx, bpm, color=HR_COLOUR, linewidth=0.6 if len(samples) > 2000 else 1.0, label="heart rate")
    if len(bpm) >= 10:  # a 5-minute median shows the trend under the beat-to-beat noise
        smooth = pd.Series(bpm, index=pd.to_datetime(samples["ts"])).rolling("5min").median()
        top.plot(sx, smooth.to_numpy(), color="#222222", linewidth=1.6, label="5-min median")
    top.set_ylabel("Heart rate (bpm)")
    top.legend(loc="upper left", bbox_to_anchor=(1.02, 0.45))
    bottom.xaxis_date()
    bottom.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    bottom.set_xlabel("Clock time (local, HH:MM)")
    top.set_title("The most recent night with heart rate: stages and heart rate")
    return top


def draw_hrv_resting_trends(fig: Figure, data: pd.DataFrame) -> Axes:
    return draw_two_series_means(
        fig,
        data,
        (
            ("hrv_rmssd", "HRV (RMSSD)", "HRV, RMSSD (ms)"),
            ("resting_hr", "Resting HR", "Resting heart rate (bpm)"),
        ),
        "HRV and resting heart rate with 7- and 30-day means (values of the day each night ended)",
    )


def draw_sleep_vs_resting_hr(fig: Figure, data: pd.DataFrame) -> Axes:
    ax = fig.add_subplot()
    x = data["asleep_h"].to_numpy(float)
    y = data["resting_hr"].to_numpy(float)
    ax.scatter(x, y, s=14, alpha=0.45, color=RESTING_COLOUR, edgecolors="none", label="night")
    bins = np.arange(np.floor(x.min()), np.ceil(x.max()) + 0.5, 0.5)
    which = np.digitize(x, bins)
    # a half hour with a handful of nights is noise, not a trend: only bins of MIN_BIN_NIGHTS nights or more
    kept = [i for i in sorted(set(which)) if 0 < i < len(bins) and (which == i).sum() >= MIN_BIN_NIGHTS]
    if kept:
        centres = [(bins[i - 1] + bins[i]) / 2 for i in kept]
        means = [y[which == i].mean() for i in kept]
        ax.plot(centres, means, "o-", color=OKABE_ITO["vermillion"], linewidth=2, markersize=6,
                label=f"mean per half hour (>= {MIN_BIN_NIGHTS} nights)")  # fmt: skip
    if len(x) >= 3 and np.ptp(x) > 0:
        slope, intercept = np.polyfit(x, y, 1)
        xs = np.array([x.min(), x.max()])
        ax.plot(xs, intercept + slope * xs, "--", color="#333333", linewidth=1.4, label="least-squares line")
    ax.set_xlabel("Time asleep that night (h, main sleep)")
    ax.set_ylabel("Resting heart rate of the day it ended (bpm)")
    ax.set_title("Sleep duration and the next day's resting heart rate")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 0.45))
    return ax


PHYSIOLOGY_FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec(
        "heart_rate_sleep",
        "Per night, the mean and the lowest heart rate while asleep (samples inside the main sleep's asleep "
        "segments, one source per night) and the resting heart rate of the day the sleep ended, with 30-day means.",
        draw_heart_rate_sleep,
        {
            "nights_with_hr": "nights {}",
            "mean_hr_asleep": "mean asleep {} bpm",
            "mean_hr_min_asleep": "mean lowest {} bpm",
            "mean_resting_hr": "mean resting {} bpm",
            "last_30d_hr_asleep": "30-day asleep {} bpm",
            "last_30d_resting_hr": "30-day resting {} bpm",
        },
        figsize=(13.0, 5.5),
        title="Heart rate during sleep",
    ),
    FigureSpec(
        "hypnogram_heart_rate",
        "The most recent main sleep with heart rate: its stages (short wakes marked) under the heart rate from "
        "bedtime to wake time, with a 5-minute median.",
        draw_hypnogram_heart_rate,
        {
            "night_date": "night {}",
            "hr_mean_asleep": "mean asleep {} bpm",
            "hr_min_asleep": "lowest {} bpm",
            "hr_mean_deep": "deep {} bpm",
            "hr_mean_light": "light {} bpm",
            "hr_mean_rem": "REM {} bpm",
            "resting_hr": "resting {} bpm",
            "hr_source": "source {}",
        },
        figsize=(13.0, 6.5),
        title="Last night's heart rate and stages",
    ),
    FigureSpec(
        "hrv_resting_trends",
        "Nightly HRV (RMSSD over the main sleep) and resting heart rate, each with 7- and 30-day calendar means.",
        draw_hrv_resting_trends,
        {
            "last_night": "last night {}",
            "nights_with_hrv": "nights with HRV {}",
            "last_7d_hrv": "7-day HRV {} ms",
            "last_30d_hrv": "30-day HRV {} ms",
            "last_7d_resting_hr": "7-day resting {} bpm",
            "last_30d_resting_hr": "30-day resting {} bpm",
        },
        figsize=(13.0, 7.0),
        title="HRV and resting heart rate trends",
    ),
    FigureSpec(
        "sleep_vs_resting_hr",
        "Each night's time asleep against the resting heart rate of the day it ended, with means per half hour "
        "and the least-squares line; Pearson's r and the slope are printed.",
        draw_sleep_vs_resting_hr,
        {
            "nights": "nights {}",
            "pearson_r": "r {}",
            "slope_bpm_per_h": "slope {} bpm/h",
            "resting_after_short": "after < 6 h: {} bpm",
            "short_nights": "(< 6 h nights {})",
            "resting_after_long": "after >= 7 h: {} bpm",
            "long_nights": "(>= 7 h nights {})",
        },
        figsize=(10.0, 6.5),
        title="Sleep duration and next-day resting heart rate",
    ),
)
FIGURES.update({spec.name: spec for spec in PHYSIOLOGY_FIGURES})

# What an empty physiology figure says under "No data for this range" (the report's section says the same).
NO_PHYSIOLOGY_HINT = (
    'Get heart rate with "fitbit-sleep login --physiology" and a backfill, '
    "or import an account archive that has it."
)
NO_DATA_HINTS.update({spec.title: NO_PHYSIOLOGY_HINT for spec in PHYSIOLOGY_FIGURES})
