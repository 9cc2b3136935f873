"""The HTML report is self-contained, states range and coverage, quotes the SQL numbers (Sleep Scores included),
titles its figures for people, is one short page without data, and renders in chromium."""

from __future__ import annotations

import base64
import html
import io
import re
import statistics
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from browser import require_chromium, screenshot
from night_reference import nights_of
from PIL import Image, ImageStat
from plot_fixtures import history, land_and_build

from dagster_project import ui_graphql
from dagster_project.ui_browser import DevToolsPage
from pipeline.paths import StoragePaths
from pipeline.plots import FIGURES, QUERIES_DIR, current_figures, format_stat, render_all, rendered_figure
from pipeline.report import KEY_NUMBERS, NO_SCORES_TEXT, TIMING_NUMBERS, build_report, write_report
from pipeline.sleep_scores import build_scores_table, land_scores
from pipeline.warehouse import build_warehouse

SCORE_HEADER = (
    "sleep_log_entry_id,timestamp,overall_score,composition_score,revitalization_score,duration_score,"
    "deep_sleep_in_minutes,resting_heart_rate,restlessness\n"
)


def _add_scores(paths: StoragePaths, logs: list[dict[str, Any]]) -> list[int]:
    """An archive's sleep_score.csv for every main sleep (scores 55..94 in turn; March without composition), landed
    and built into the warehouse as `fitbit-sleep import` does. Returns the overall scores."""
    rows, scores = [], []
    for k, log in enumerate(log for log in logs if log["isMainSleep"]):
        score = 55 + (k * 7) % 40
        composition = "" if log["endTime"].startswith("2024-03") else "20"
        rows.append(
            f"{log['logId']},{log['endTime'][:19]}Z,{score},{composition},18,{score - 38},90,55,0.08\n"
        )
        scores.append(score)
    land_scores(paths, [(SCORE_HEADER + "".join(rows)).encode()], source_ref="MyFitbitData.zip",
                fetched_at=datetime(2025, 1, 2, tzinfo=UTC))  # fmt: skip
    build_scores_table(paths)
    build_warehouse(paths)
    return scores


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[StoragePaths, Path, list[dict[str, Any]]]:
    first = date(2024, 1, 1)
    logs = history(first, 90, nap_every=5, skip=[date(2024, 2, 10)])
    days = [first + timedelta(days=k) for k in range(92) if k != 41]  # 2024-02-11: no logs, never fetched
    paths = land_and_build(
        tmp_path_factory.mktemp("report") / "home", logs, days=days, pending=[date(2024, 3, 31)]
    )
    scores = _add_scores(paths, logs)
    return paths, build_report(paths), logs, scores


@pytest.fixture(scope="session")
def chromium() -> str:
    return require_chromium()


def _summary(paths: StoragePaths, filename: str = "report_summary.sql") -> dict[str, Any]:
    con = duckdb.connect(str(paths.warehouse_file), read_only=True)
    try:
        cur = con.execute((QUERIES_DIR / filename).read_text())
        row = cur.fetchone()
        assert row is not None
        return dict(zip([d[0] for d in cur.description], row, strict=True))
    finally:
        con.close()


def _table_cells(text: str) -> dict[str, str]:
    table = re.search(r"<table class='key' id='key-numbers'>(.*?)</table>", text, re.S)
    assert table
    return dict(re.findall(r"<tr><th>(.*?)</th><td class='num'>(.*?)</td></tr>", table.group(1)))


def test_report_is_written_under_the_data_root_and_self_contained(report: Any) -> None:
    paths, path, logs, _ = report
    assert path == paths.report_dir / "report.html"
    text = path.read_text(encoding="utf-8")
    images = re.findall(r"<img alt='[^']*' src='data:image/png;base64,([A-Za-z0-9+/=]+)'>", text)
    assert len(images) == len(FIGURES)
    for encoded in images:
        with Image.open(io.BytesIO(base64.b64decode(encoded))) as image:
            assert image.format == "PNG" and image.width > 400
    # nothing to fetch: no external scripts, styles, images or fonts
    assert not re.search(r"""(src|href)=['"]?(https?:|//|file:)""", text)
    assert "<script" not in text


def test_key_numbers_equal_the_sql(report: Any) -> None:
    paths, path, logs, scores = report
    text = path.read_text(encoding="utf-8")
    cells = _table_cells(text)
    summary = _summary(paths)
    for label, key, source, unit in KEY_NUMBERS:
        if source == "summary":
            assert cells[label] == f"{format_stat(summary[key])}{unit}", label
    nights = nights_of(logs)  # the night model, in plain Python
    assert summary["nights"] == summary["main_sleeps"] == len(nights) == 89
    assert summary["naps"] == sum(len(n.naps) for n in nights.values()) == len(logs) - 89 > 0
    assert summary["first_night"] == "2024-01-01" and summary["last_night"] == "2024-03-30"
    assert re.fullmatch(r"-?\d+(\.\d)?", cells["Sleep Regularity Index"])
    assert cells["Days with sleep data"].endswith(" %")
    assert cells["Mean Sleep Score"] == format_stat(round(statistics.fmean(scores), 1))


def test_timing_and_regularity_section_quotes_the_sql_with_definitions(report: Any) -> None:
    paths, path, logs, _ = report
    section = re.search(
        r"<section id='timing-regularity'>(.*?)</section>", path.read_text(encoding="utf-8"), re.S
    )
    assert section and "<h2>Timing and regularity</h2>" in section.group(1)
    cells = re.findall(
        r"<tr><th>([^<]*)</th><td class='num'>([^<]*)</td><td class='def'>([^<]*)</td></tr>", section.group(1)
    )
    timing = _summary(paths, "report_timing_regularity.sql")
    assert [(label, value, definition) for label, value, definition in cells] == [
        (html.escape(label), html.escape(f"{format_stat(timing[key])}{unit}"), html.escape(definition))
        for label, key, unit, definition in TIMING_NUMBERS
    ]
    assert timing["nights"] == len(nights_of(logs)) == 89
    assert timing["sri_pairs"] == 87  # 89 pairs in 90 days, less the two beside the night without sleep
    assert re.fullmatch(r"\d\d:\d\d", str(timing["msw"])) and timing["mctq_weeks"] >= 12
    assert "SRI epochs of 30 s" in section.group(1) and "free days Sat, Sun plus 0 dates" in section.group(1)


def test_sleep_score_section_quotes_the_scores(report: Any) -> None:
    _, path, _, scores = report
    text = path.read_text(encoding="utf-8")
    section = re.search(r"<section id='sleep-scores'>(.*?)</section>", text, re.S)
    assert section
    cells = dict(re.findall(r"<tr><th>(.*?)</th><td class='num'>(.*?)</td></tr>", section.group(1)))
    assert cells["Scored nights"] == str(len(scores)) == "89"
    assert cells["Lowest score"] == str(min(scores)) and cells["Highest score"] == str(max(scores))
    good = sum(80 <= s <= 89 for s in scores)
    assert cells["Good (80–89)"] == f"{good} nights ({format_stat(round(100 * good / len(scores), 1))} %)"
    months = re.findall(r"<tr><td class='num'>(2024-\d\d)</td><td class='num'>(\d+)</td>", section.group(1))
    assert [m for m, _ in months] == ["2024-01", "2024-02", "2024-03"]
    assert sum(int(n) for _, n in months) == len(scores)
    assert "<td class='num'>–</td>" in section.group(
        1
    )  # March's empty composition column, not 'None' or 'nan'


def test_report_without_scores_says_where_they_come_from(tmp_path: Path) -> None:
    paths = land_and_build(tmp_path / "home", history(date(2024, 5, 1), 5))
    result = write_report(paths)
    text = result.path.read_text(encoding="utf-8")
    assert result.has_sleep and result.score_numbers == ()
    assert NO_SCORES_TEXT in text and "fitbit-sleep import" in text
    assert "<table class='key' id='score-numbers'>" not in text


def test_figure_sections_have_human_titles(report: Any) -> None:
    _, path, _, _ = report
    text = path.read_text(encoding="utf-8")
    titles = re.findall(r"<figure id='fig-([a-z_]+)'><h3>(.*?)</h3>", text)
    assert [name for name, _ in titles] == list(FIGURES)
    for name, title in titles:
        assert title == html.escape(FIGURES[name].title) and "_" not in title, name


def test_report_states_date_range_coverage_and_sri_formula(report: Any) -> None:
    _, path, _, _ = report
    text = path.read_text(encoding="utf-8")
    assert "Nights from 2024-01-01 to 2024-03-30." in text
    coverage = re.search(r"<p id='coverage'>(.*?)</p>", text, re.S)
    assert coverage
    assert "Dates 2024-01-01 to 2024-04-01 (92 days)" in coverage.group(1)
    assert "1 pending" in coverage.group(1) and "1 never fetched" in coverage.group(1)
    assert "Phillips et al. 2017" in text and "SRI = −100 + 200" in text


@pytest.mark.parametrize("case", ["no_warehouse", "fetched_but_empty"])
def test_report_with_no_data_is_one_short_page_saying_what_to_run(tmp_path: Path, case: str) -> None:
    if case == "no_warehouse":
        paths = StoragePaths(tmp_path / "empty")
    else:
        paths = land_and_build(
            tmp_path / "home", [], days=[date(2024, 1, 1) + timedelta(days=k) for k in range(5)]
        )
    result = write_report(paths)
    text = result.path.read_text(encoding="utf-8")
    assert not result.has_sleep and result.figures == 0
    assert "No sleep data yet" in text and "data:image" not in text and "<figure" not in text
    assert "fitbit-sleep import" in text and "fitbit-sleep backfill" in text and "make demo" in text
    if case == "no_warehouse":
        assert f"no warehouse at {paths.warehouse_file}" in text
    else:
        assert "Dates 2024-01-01 to 2024-01-05 (5 days): 0 with sleep data" in text
    assert len(text.encode()) < 5_000


@pytest.mark.slow
def test_empty_report_is_short_in_headless_chromium(chromium: str, tmp_path: Path) -> None:
    """Not 7,000 px of empty figure boxes: the whole page fits in one laptop screen."""
    path = build_report(StoragePaths(tmp_path / "empty"))
    with DevToolsPage(chromium, width=1280, height=800) as page:
        page.call("Page.navigate", url=path.as_uri())
        height = ui_graphql.wait_for(
            lambda: page.evaluate("document.readyState === 'complete' && document.body.scrollHeight"),
            30,
            "page",
        )
    assert 200 < height < 800


@pytest.mark.slow
def test_report_renders_in_headless_chromium(report: Any, chromium: str, tmp_path: Path) -> None:
    _, path, _, _ = report
    shot = screenshot(path, tmp_path / "report.png", chromium=chromium)
    with Image.open(shot) as image:
        assert image.size == (1280, 2000)
        grey = image.convert("L")
        assert ImageStat.Stat(grey).stddev[0] > 20  # text, table and figures, not a blank page
        # the first figures are within the first 2000 px: many distinct colours (plots), not only text
        colours = image.convert("RGB").resize((320, 500)).getcolors(maxcolors=1 << 16)
        assert colours is not None and len(colours) > 200


def test_report_reuses_figures_rendered_from_the_current_warehouse(tmp_path: Path) -> None:
    """Each figure is drawn once per warehouse rebuild: the report embeds the plot step's PNGs and stats; after a
    rebuild it draws the stale ones again instead of embedding a picture of the old data."""
    paths = land_and_build(tmp_path / "home", history(date(2024, 5, 1), 20))
    rendered = render_all(paths)
    drawn_at = {name: result.png.stat().st_mtime_ns for name, result in rendered.items()}
    result = write_report(paths)
    assert result.figures == len(FIGURES)
    assert {name: r.png.stat().st_mtime_ns for name, r in rendered.items()} == drawn_at  # nothing drawn again
    reused = current_figures(paths)
    assert {name: r.stats for name, r in reused.items()} == {name: r.stats for name, r in rendered.items()}
    text = result.path.read_text(encoding="utf-8")
    for name, figure in rendered.items():
        assert base64.b64encode(figure.png.read_bytes()).decode() in text, name

    build_warehouse(paths)  # a new warehouse file: every figure is stale
    assert all(rendered_figure(paths, name) is None for name in FIGURES)
    write_report(paths)
    assert all(r.png.stat().st_mtime_ns > drawn_at[name] for name, r in rendered.items())
    assert all(rendered_figure(paths, name) is not None for name in FIGURES)
