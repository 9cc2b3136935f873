"""The HTML report is self-contained, states range and coverage, quotes the SQL numbers, and renders in chromium."""

from __future__ import annotations

import base64
import io
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from browser import ensure_chromium, install_error, screenshot
from night_reference import nights_of
from PIL import Image, ImageStat
from plot_fixtures import history, land_and_build

from pipeline.paths import StoragePaths
from pipeline.plots import FIGURES, QUERIES_DIR, format_stat
from pipeline.report import KEY_NUMBERS, build_report


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[StoragePaths, Path, list[dict[str, Any]]]:
    first = date(2024, 1, 1)
    logs = history(first, 90, nap_every=5, skip=[date(2024, 2, 10)])
    days = [first + timedelta(days=k) for k in range(92) if k != 41]  # 2024-02-11: no logs, never fetched
    paths = land_and_build(
        tmp_path_factory.mktemp("report") / "home", logs, days=days, pending=[date(2024, 3, 31)]
    )
    return paths, build_report(paths), logs


@pytest.fixture(scope="session")
def chromium() -> str:
    binary = ensure_chromium()
    if binary is None:
        pytest.skip(f"headless chromium cannot be installed here: {install_error()}")
    return binary


def _summary(paths: StoragePaths) -> dict[str, Any]:
    con = duckdb.connect(str(paths.warehouse_file), read_only=True)
    try:
        cur = con.execute((QUERIES_DIR / "report_summary.sql").read_text())
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
    paths, path, logs = report
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
    paths, path, logs = report
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
    assert cells["Days with sleep data / days in range"].endswith(" %")


def test_report_states_date_range_coverage_and_sri_formula(report: Any) -> None:
    _, path, _ = report
    text = path.read_text(encoding="utf-8")
    assert "Nights from 2024-01-01 to 2024-03-30." in text
    coverage = re.search(r"<p id='coverage'>(.*?)</p>", text, re.S)
    assert coverage
    assert "Dates 2024-01-01 to 2024-04-01 (92 days)" in coverage.group(1)
    assert "1 pending" in coverage.group(1) and "1 never fetched" in coverage.group(1)
    assert "Phillips et al. 2017" in text and "SRI = −100 + 200" in text


def test_report_with_no_data_still_renders(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path / "empty")
    path = build_report(paths)
    text = path.read_text(encoding="utf-8")
    assert "No nights in the warehouse yet." in text
    assert "No dates have been landed yet" in text
    assert text.count("data:image/png;base64,") == len(FIGURES)


@pytest.mark.slow
def test_report_renders_in_headless_chromium(report: Any, chromium: str, tmp_path: Path) -> None:
    _, path, _ = report
    shot = screenshot(path, tmp_path / "report.png", chromium=chromium)
    with Image.open(shot) as image:
        assert image.size == (1280, 2000)
        grey = image.convert("L")
        assert ImageStat.Stat(grey).stddev[0] > 20  # text, table and figures, not a blank page
        # the first figures are within the first 2000 px: many distinct colours (plots), not only text
        colours = image.convert("RGB").resize((320, 500)).getcolors(maxcolors=1 << 16)
        assert colours is not None and len(colours) > 200
