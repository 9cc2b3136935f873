"""Every figure renders from realistic history and from edge cases, and prints exactly what its SQL says."""

from __future__ import annotations

import base64
import io
import random
import statistics
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import duckdb
import pytest
from night_reference import nights_of
from PIL import Image, ImageChops, ImageStat
from plot_fixtures import ISO, classic_log, history, land_and_build, sandbox_history, stages_log

from pipeline.paths import StoragePaths
from pipeline.plots import (
    CLASSIC_NIGHT_LABEL,
    FIGURES,
    NO_DATA_TEXT,
    NO_STAGES_TEXT,
    PREVIEW_MAX_WIDTH,
    QUERIES_DIR,
    FigureResult,
    preview_data_uri,
    render_all,
    render_figure,
    run_stats,
    stat_lines,
)

FIRST = date(2024, 1, 1)
Case = tuple[StoragePaths, list[dict[str, Any]]]


def _days(first: date, n: int) -> list[date]:
    return [first + timedelta(days=k) for k in range(n)]


def _case_history(root: Path) -> Case:
    """Four months: stages main sleeps, classic naps, a skipped night, a never-fetched day, a pending last day."""
    logs = history(FIRST, 120, nap_every=4, skip=[date(2024, 2, 10)])
    days = [d for d in _days(FIRST, 122) if d != date(2024, 3, 3)]
    return land_and_build(root, logs, days=days, pending=[date(2024, 4, 30)]), logs


def _case_sandbox(root: Path) -> Case:
    """Seven months from the sandbox generator: stages and classic logs, naps, short wakes, whatever it produces."""
    logs = sandbox_history(210, today=date(2024, 6, 30))
    first = min(date.fromisoformat(log["dateOfSleep"]) for log in logs)
    return land_and_build(root, logs, days=_days(first, (date(2024, 6, 30) - first).days + 1)), logs


def _case_one_night(root: Path) -> Case:
    logs = history(date(2024, 5, 4), 1)
    return land_and_build(root, logs), logs


def _case_no_nights(root: Path) -> Case:
    """Dates were fetched but nothing was logged: the warehouse exists, every sleep table is empty."""
    return land_and_build(root, [], days=_days(FIRST, 10)), []


def _case_naps_only(root: Path) -> Case:
    logs = history(FIRST, 40, nap_every=1, mains=False)
    return land_and_build(root, logs), logs


def _case_classic_only(root: Path) -> Case:
    logs = history(FIRST, 30, classic=True)
    return land_and_build(root, logs), logs


def _case_gap_of_months(root: Path) -> Case:
    """Two stretches of nights five months apart; the months between were never fetched."""
    logs = history(FIRST, 20, nap_every=6) + history(date(2024, 7, 1), 20, seed=8)
    days = _days(FIRST, 21) + _days(date(2024, 7, 1), 21)
    return land_and_build(root, logs, days=days), logs


def _case_no_warehouse(root: Path) -> Case:
    root.mkdir(parents=True, exist_ok=True)
    return StoragePaths(root), []


CASES: dict[str, Callable[[Path], Case]] = {
    "history": _case_history,
    "sandbox": _case_sandbox,
    "one_night": _case_one_night,
    "no_nights": _case_no_nights,
    "naps_only": _case_naps_only,
    "classic_only": _case_classic_only,
    "gap_of_months": _case_gap_of_months,
    "no_warehouse": _case_no_warehouse,
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Case, dict[str, FigureResult]]]:
    out = {}
    for name, build in CASES.items():
        case = build(tmp_path_factory.mktemp(name) / "home")
        out[name] = (case, render_all(case[0]))
    return out


def _sql_stats(paths: StoragePaths, figure: str) -> dict[str, Any]:
    """The stats query run by the test itself, on its own read-only connection."""
    if not paths.warehouse_file.exists():
        return {}
    con = duckdb.connect(str(paths.warehouse_file), read_only=True)
    try:
        cur = con.execute((QUERIES_DIR / f"plot_{figure}_stats.sql").read_text())
        row = cur.fetchone()
        names = [d[0] for d in cur.description]
    finally:
        con.close()
    return {} if row is None else {k: v for k, v in zip(names, row, strict=True) if v is not None}


def _assert_png_not_blank(png: Path) -> None:
    with Image.open(png) as image:
        image.verify()
    with Image.open(png) as image:
        assert image.format == "PNG"
        assert image.width >= 400 and image.height >= 250
        stddev = ImageStat.Stat(image.convert("L")).stddev[0]
    assert stddev > 8, f"{png.name} looks blank (pixel stddev {stddev:.1f})"


@pytest.mark.parametrize("figure", sorted(FIGURES))
@pytest.mark.parametrize("case", sorted(CASES))
def test_figure_is_a_real_png_that_prints_the_sql_numbers(rendered: Any, case: str, figure: str) -> None:
    (paths, _logs), results = rendered[case]
    result = results[figure]
    assert result.png == paths.plots_dir / f"{figure}.png"
    _assert_png_not_blank(result.png)

    expected = _sql_stats(paths, figure)
    assert set(result.stats) == set(expected)
    for key, value in expected.items():
        got = result.stats[key]
        if isinstance(value, float):
            assert got == pytest.approx(value, abs=1e-9), key
        elif isinstance(value, int) and not isinstance(value, bool):
            assert got == value, key
        else:
            assert got == str(value), key
    # What is drawn: one stats-box line per stat, built from the SQL value.
    for line in stat_lines(FIGURES[figure], result.stats):
        assert line in result.texts, f"{figure}: {line!r} not drawn"


@pytest.mark.parametrize("case", ["no_nights", "no_warehouse"])
def test_empty_data_says_so(rendered: Any, case: str) -> None:
    _, results = rendered[case]
    per_night = set(FIGURES) - {"coverage_calendar"}
    for name in per_night:
        assert NO_DATA_TEXT in results[name].texts, name
    if case == "no_warehouse":
        assert NO_DATA_TEXT in results["coverage_calendar"].texts
        assert all(r.stats == {} for r in results.values())
    else:
        assert NO_DATA_TEXT not in results["coverage_calendar"].texts
        assert results["coverage_calendar"].stats["empty_days"] == 10


def test_daytime_sleeps_only_each_is_its_nights_main_sleep(rendered: Any) -> None:
    """A history of afternoon sleeps and no night sleep: a night is never without a main sleep (the night model),
    so each is its night's main sleep and none is a nap."""
    (_, logs), results = rendered["naps_only"]
    assert NO_DATA_TEXT not in results["hist_asleep_vs_in_bed"].texts
    assert NO_DATA_TEXT not in results["hypnogram_last_night"].texts
    assert results["hist_asleep_vs_in_bed"].stats["main_sleeps"] == len(logs)
    assert results["naps_per_month"].stats["naps"] == 0
    assert results["scatter_efficiency"].stats["naps"] == 0
    assert results["scatter_efficiency"].stats["main_sleeps"] == len(logs)


def test_classic_only_nights_are_marked_not_stacked(rendered: Any) -> None:
    (_, logs), results = rendered["classic_only"]
    stacked = results["stages_stacked"]
    assert stacked.stats["classic_nights"] == stacked.stats["nights"] == len(logs)
    assert stacked.stats["stages_nights"] == 0 and "mean_deep_min" not in stacked.stats
    assert NO_STAGES_TEXT in stacked.texts and CLASSIC_NIGHT_LABEL in "\n".join(stacked.texts)
    assert not {"asleep", "restless", "awake", "deep", "light"} & set(
        stacked.texts
    )  # no bar, no stage legend
    assert results["hypnogram_last_night"].stats["log_type"] == "classic"
    assert results["hypnogram_last_night"].stats["short_wakes"] == 0


def _bars_by_colour(png: Path) -> set[str]:
    """The stage colours present in the figure (a colour counts from 200 pixels: bars, not legend patches)."""
    from pipeline.plots import STAGE_COLOURS

    with Image.open(png) as image:
        counts = {
            f"#{r:02X}{g:02X}{b:02X}": n for n, (r, g, b) in image.convert("RGB").getcolors(1 << 20) or []
        }
    return {stage for stage, colour in STAGE_COLOURS.items() if counts.get(colour.upper(), 0) >= 200}


def test_stacked_stages_never_mix_classic_and_stages_levels(tmp_path: Path) -> None:
    """Mixed history, per night and aggregated weekly: only deep/light/REM/wake are stacked; classic nights are
    counted and marked apart, and the means are over stages nights only (what the stats SQL says)."""
    classic_nights = {date(2024, 1, 5), date(2024, 2, 14), date(2024, 3, 20)}

    def night_of(log: dict[str, Any]) -> date:
        return (datetime.strptime(log["startTime"], ISO) - timedelta(hours=12)).date()

    logs = [log for log in history(FIRST, 450) if night_of(log) not in classic_nights]
    rng = random.Random(5)
    for night in sorted(classic_nights):
        bed = datetime.combine(night, datetime.min.time()) + timedelta(hours=23)
        logs.append(classic_log(bed, 420, rng, main=True))
    for days, unit in ((90, "stages nights"), (450, "weekly mean per stages night")):
        kept = [log for log in logs if night_of(log) < FIRST + timedelta(days=days)]
        paths = land_and_build(tmp_path / f"home{days}", kept)
        result = render_figure("stages_stacked", paths)
        assert f"Sleep stages of the main sleep ({unit})" in result.texts
        assert result.stats["classic_nights"] == 3 and result.stats["stages_nights"] == days - 3
        assert CLASSIC_NIGHT_LABEL in "\n".join(result.texts)
        assert not {"asleep", "restless", "awake"} & set(result.texts)  # no classic level in the legend
        drawn = _bars_by_colour(result.png)
        assert {"deep", "light", "rem", "wake"} <= drawn and not {"asleep", "restless"} & drawn
        stages = [log for log in kept if log["type"] == "stages" and log["isMainSleep"]]
        deep = statistics.fmean(log["levels"]["summary"]["deep"]["minutes"] for log in stages)
        assert result.stats["mean_deep_min"] == round(deep, 1)


def test_gap_of_months_is_shown_as_missing_days(rendered: Any) -> None:
    _, results = rendered["gap_of_months"]
    cov = results["coverage_calendar"].stats
    assert cov["first_day"] == "2024-01-01" and cov["last_day"] == "2024-07-21"
    assert cov["missing_days"] == (date(2024, 7, 1) - date(2024, 1, 22)).days
    assert results["naps_per_month"].stats["months"] == 7


@pytest.mark.parametrize("case", ["history", "sandbox"])
def test_printed_efficiency_and_minutes_lost_match_the_logs(rendered: Any, case: str) -> None:
    """Independent of SQL: recompute the seed's two numbers from the v1.2 logs that were landed."""
    (_, logs), results = rendered[case]
    nights = list(nights_of(logs).values())
    eff = 100 * statistics.fmean(n.minutes_asleep / n.time_in_bed for n in nights)
    lost = statistics.fmean(n.time_in_bed - n.minutes_asleep for n in nights)
    stats = results["scatter_efficiency"].stats
    assert stats["efficiency_pct"] == round(eff, 1)
    assert stats["minutes_lost"] == round(lost, 1)
    assert stats["main_sleeps"] == len(nights) and stats["naps"] == sum(len(n.naps) for n in nights)
    assert f"efficiency {round(eff, 1)} %" in results["scatter_efficiency"].texts


def _sri_from_logs(logs: list[dict[str, Any]]) -> float:
    """Phillips et al. SRI on 30-s epochs computed straight from the v1.2 logs (no SQL, no tables)."""
    asleep: set[int] = set()
    short: set[int] = set()
    base = datetime(1970, 1, 1, 12)
    nights: set[int] = set()

    def epochs(seg: dict[str, Any]) -> range:
        first = int((datetime.strptime(seg["dateTime"], ISO) - base).total_seconds()) // 30
        return range(first, first + seg["seconds"] // 30)

    for log in logs:  # every night has a main sleep (the night model), so every night with a log counts
        nights.add(int((datetime.strptime(log["startTime"], ISO) - base).total_seconds()) // 86400)
        for seg in log["levels"]["data"]:
            if seg["level"] in ("deep", "light", "rem", "asleep"):
                asleep.update(epochs(seg))
        for seg in log["levels"].get("shortData", []):
            short.update(epochs(seg))
    asleep -= short
    pairs = [d for d in nights if d + 1 in nights]
    agree = sum(
        ((d * 2880 + i) in asleep) == (((d + 1) * 2880 + i) in asleep) for d in pairs for i in range(2880)
    )  # fmt: skip
    return -100 + 200 * agree / (2880 * len(pairs))


@pytest.mark.parametrize("case", ["history", "sandbox", "gap_of_months"])
def test_sri_matches_an_independent_implementation(rendered: Any, case: str) -> None:
    (_, logs), results = rendered[case]
    stats = results["regularity"].stats
    assert stats["sri"] == round(_sri_from_logs(logs), 1)
    assert 0 < float(stats["sri"]) < 100


def test_sri_is_100_for_identical_days(tmp_path: Path) -> None:
    logs = []
    for k in range(6):
        bed = datetime.combine(FIRST + timedelta(days=k), datetime.min.time()) + timedelta(hours=23)
        logs.append(stages_log(bed, 480, random.Random(3)))  # same seed: the same segments every night
    paths = land_and_build(tmp_path / "home", logs)
    result = render_figure("regularity", paths)
    assert result.stats["sri"] == 100.0 and result.stats["sri_day_pairs"] == 5
    assert "SRI 100" in result.texts


def test_long_history_stacked_bar_is_aggregated_and_has_svg(tmp_path: Path) -> None:
    logs = history(FIRST, 430)
    paths = land_and_build(tmp_path / "home", logs)
    result = render_figure("stages_stacked", paths)
    assert any("weekly mean per stages night" in t for t in result.texts)
    assert result.svg is not None and result.svg.exists()
    root = ElementTree.parse(result.svg).getroot()
    assert root.tag.endswith("svg")
    assert result.stats["nights"] == 430


def test_hypnogram_marks_short_wakes_of_the_last_main_sleep(rendered: Any) -> None:
    (_, logs), results = rendered["history"]
    last = nights_of(logs)[max(nights_of(logs))]
    stats = results["hypnogram_last_night"].stats
    assert stats["short_wakes"] == sum(len(log["levels"]["shortData"]) for log in last.main) > 0
    assert stats["time_in_bed"] == last.time_in_bed and stats["parts"] == len(last.main)
    assert "short wake (≤ 3 min)" in results["hypnogram_last_night"].texts


def test_registry_has_every_figure_with_its_sql() -> None:
    assert list(FIGURES) == [
        "hist_asleep_vs_in_bed",
        "scatter_efficiency",
        "stages_stacked",
        "rolling_means",
        "weekday_weekend",
        "regularity",
        "sleep_timing",
        "social_jet_lag",
        "sri_rolling",
        "waso_awakenings",
        "hypnogram_last_night",
        "naps_per_month",
        "coverage_calendar",
        "heart_rate_sleep",
        "hypnogram_heart_rate",
        "hrv_resting_trends",
        "sleep_vs_resting_hr",
    ]
    for name, spec in FIGURES.items():
        assert (QUERIES_DIR / f"plot_{name}.sql").is_file()
        assert (QUERIES_DIR / f"plot_{name}_stats.sql").is_file()
        assert spec.description
        assert spec.title and "_" not in spec.title  # a human title, not the file name


def test_sleep_timing_shows_twelve_calendar_weeks_with_the_free_nights(rendered: Any) -> None:
    """84 calendar nights ending at the newest night with sleep, two free nights (Fri, Sat) a week, a bar per night
    with sleep from onset to final awakening with the mid-sleep inside it, and the work/free means printed."""
    (paths, _logs), results = rendered["history"]
    con = duckdb.connect(str(paths.warehouse_file), read_only=True)
    try:
        shown = con.execute((QUERIES_DIR / "plot_sleep_timing.sql").read_text()).df()
    finally:
        con.close()
    assert len(shown) == 84 and shown["is_free_night"].sum() == 24
    assert {d.isoweekday() for d in shown.loc[shown["is_free_night"], "night_date"]} == {5, 6}
    slept = shown.dropna(subset=["onset_h"])
    assert ((slept["onset_h"] < slept["midpoint_h"]) & (slept["midpoint_h"] < slept["wake_h"])).all()
    stats = results["sleep_timing"].stats
    assert stats["work_nights"] + stats["free_nights"] == len(slept)
    assert "free night (shaded):" in results["sleep_timing"].texts


@pytest.mark.parametrize("figure", ["stages_stacked", "scatter_efficiency", "weekday_weekend"])
def test_preview_is_legible_true_to_colour_and_compact(rendered: Any, figure: str) -> None:
    """The asset-page preview: full size up to PREVIEW_MAX_WIDTH (never upscaled), every pixel within 16/255 of the
    figure (resized the same way), and under 100 kB of data URI."""
    _, results = rendered["sandbox"]
    png = results[figure].png
    uri = preview_data_uri(png)
    assert uri.startswith("data:image/png;base64,") and len(uri) < 100_000
    with (
        Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as preview,
        Image.open(png) as original,
    ):
        assert preview.width == min(original.width, PREVIEW_MAX_WIDTH)
        assert abs(preview.height - original.height * preview.width / original.width) <= 1
        reference = original.convert("RGB").resize(preview.size, Image.Resampling.LANCZOS)
        worst = max(high for _, high in ImageChops.difference(preview.convert("RGB"), reference).getextrema())
    assert worst <= 16, f"{figure}: a pixel is {worst}/255 off its colour"


def test_run_stats_drops_nulls_and_keeps_types(rendered: Any) -> None:
    (paths, _), _ = rendered["no_nights"]
    con = duckdb.connect(str(paths.warehouse_file), read_only=True)
    try:
        stats = run_stats(con, "plot_scatter_efficiency_stats.sql")
    finally:
        con.close()
    assert "efficiency_pct" not in stats  # no main sleeps: NULL, not printed as 'None'
    assert stats["naps"] == 0 and isinstance(stats["naps"], int)


def test_classic_builder_is_self_consistent() -> None:
    log = classic_log(datetime(2024, 1, 1, 14), 45, random.Random(1))
    assert sum(s["seconds"] for s in log["levels"]["data"]) == log["timeInBed"] * 60
    assert log["minutesAsleep"] + log["minutesAwake"] == log["timeInBed"]
