"""The physiology figures draw the rows of their SQL and print its numbers; the report's section quotes them."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from pipeline.paths import StoragePaths
from pipeline.physiology_plots import NO_PHYSIOLOGY_HINT, PHYSIOLOGY_FIGURES
from pipeline.plots import FIGURES, NO_DATA_TEXT, open_warehouse, render_figure, run_stats, stat_lines
from pipeline.report import NO_PHYSIOLOGY_TEXT, write_report
from tests.pipeline.physiology_fixtures import build_all

NAMES = [spec.name for spec in PHYSIOLOGY_FIGURES]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> StoragePaths:
    paths = StoragePaths(tmp_path_factory.mktemp("physiology"))
    build_all(paths)
    return paths


def test_the_figures_are_registered_after_the_sleep_figures() -> None:
    assert list(FIGURES)[-4:] == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_figure_prints_its_sql_numbers(built: StoragePaths, name: str) -> None:
    result = render_figure(name, built)
    con = open_warehouse(built)
    assert con is not None
    with con:
        expected = run_stats(con, f"plot_{name}_stats.sql")
    assert result.stats == expected and expected
    assert NO_DATA_TEXT not in result.texts
    for line in stat_lines(FIGURES[name], result.stats):
        assert line in result.texts, line
    with Image.open(result.png) as image:
        assert image.width >= 800


def test_hypnogram_heart_rate_is_the_main_nights_numbers(built: StoragePaths) -> None:
    stats = render_figure("hypnogram_heart_rate", built).stats
    # the most recent night with heart rate asleep is 2024-03-14 (the nap's night has only one sample)
    assert stats["night_date"] in ("2024-03-14", "2024-03-15")
    assert stats["hr_source"] in ("export", "api")


def test_report_section_quotes_the_means_and_the_nights(built: StoragePaths) -> None:
    text = write_report(built, figures={}).path.read_text()
    assert "<h2>Sleep physiology</h2>" in text and "id='physiology-numbers'" in text
    assert "<th>Resting heart rate</th><td class='num'>57 bpm</td><td class='num'>2</td>" in text
    assert "<th>HRV (RMSSD)</th><td class='num'>34.9 ms</td><td class='num'>1</td>" in text


@pytest.fixture(scope="module")
def sleep_only(tmp_path_factory: pytest.TempPathFactory) -> StoragePaths:
    """A warehouse with one night of sleep and no physiology at all (a sleep-only login's)."""
    import json
    from datetime import UTC, date, datetime

    from pipeline.landing import land_day
    from pipeline.tables import update_tables
    from pipeline.warehouse import build_warehouse
    from tests.pipeline.physiology_fixtures import SLEEP

    paths = StoragePaths(tmp_path_factory.mktemp("sleep-only"))
    logs = json.loads(SLEEP.read_text())["sleep"]
    land_day(
        paths,
        date(2024, 3, 15),
        logs,
        source="api",
        source_ref="x",
        fetched_at=datetime(2024, 3, 20, tzinfo=UTC),
    )
    update_tables(paths, tz="UTC")
    build_warehouse(paths)
    return paths


def test_report_without_physiology_says_how_to_get_it(sleep_only: StoragePaths) -> None:
    text = write_report(sleep_only, figures={}).path.read_text()
    assert NO_PHYSIOLOGY_TEXT in text


@pytest.mark.parametrize("name", NAMES)
def test_an_empty_physiology_figure_says_how_to_get_heart_rate(sleep_only: StoragePaths, name: str) -> None:
    result = render_figure(name, sleep_only)
    assert NO_DATA_TEXT in result.texts and NO_PHYSIOLOGY_HINT in result.texts
    assert "fitbit-sleep login --physiology" in NO_PHYSIOLOGY_HINT


def test_an_empty_sleep_figure_has_no_physiology_hint(tmp_path: Path) -> None:
    result = render_figure("hypnogram_last_night", StoragePaths(tmp_path))  # no warehouse at all
    assert NO_DATA_TEXT in result.texts and NO_PHYSIOLOGY_HINT not in result.texts
