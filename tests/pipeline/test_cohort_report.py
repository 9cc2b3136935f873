"""The cohort summary (views cohort_coverage and cohort_weekly, the figure, report/cohort.html) and a participant's
own figures and report, on a real cohort landed from the multi-user sandbox."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
from PIL import Image

from pipeline.cohort_report import write_cohort_report
from pipeline.participants import participant_tz
from pipeline.plots import render_all
from pipeline.report import write_report
from pipeline.tables import update_tables
from pipeline.warehouse import build_warehouse
from tests.clock import TEST_TODAY
from tests.pipeline.test_participants_warehouse import land_cohort

PEOPLE = ("p1", "p2", "p3")
GAP = 5  # nights p2 did not wear the tracker


def test_the_cohort_page_shows_coverage_nights_per_week_and_wear_gaps(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    server = sandbox_factory(days=50, accounts=PEOPLE)
    root = land_cohort(server, tmp_path / "cohort", PEOPLE, days=42)
    p2 = root.participant("p2")
    for i in range(GAP):  # p2's tracker stayed in a drawer: those dates hold no sleep
        (p2.raw_sleep_file(TEST_TODAY - timedelta(days=20 - i))).unlink()
    for table in p2.tables_dir.iterdir():
        if table.is_dir():
            for part in table.glob("*/*.parquet"):
                part.unlink()
    update_tables(p2, tz=participant_tz(p2))
    build_warehouse(root)

    con = duckdb.connect(str(root.warehouse_file), read_only=True)
    try:
        rows = {r[0]: r for r in con.execute("SELECT * FROM cohort_coverage").fetchall()}
        cols = [d[0] for d in con.execute("SELECT * FROM cohort_coverage LIMIT 0").description]
        weekly = con.execute(
            "SELECT participant_id, sum(nights), max(nights) FROM cohort_weekly GROUP BY 1 ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    cov = {p: dict(zip(cols, rows[p], strict=True)) for p in PEOPLE}
    assert cov["p2"]["longest_gap_nights"] >= GAP and cov["p2"]["wear_gaps"] >= 1
    assert cov["p2"]["gap_nights"] >= GAP
    assert cov["p2"]["coverage_pct"] < cov["p1"]["coverage_pct"] or cov["p1"]["gap_nights"] >= GAP
    for p in PEOPLE:
        assert cov[p]["status"] == "active" and cov[p]["nights"] > 30
        assert 0 < cov[p]["nights_per_week"] <= 7
    assert [(p, n) for p, n, _ in weekly] == [(p, cov[p]["nights"]) for p in PEOPLE]
    assert all(most <= 7 for _, _, most in weekly)

    written = write_cohort_report(root)
    page = written.path.read_text()
    assert written.path == root.root / "report" / "cohort.html" and written.participants == 3
    for p in PEOPLE:
        assert f"<td>{p}</td>" in page
    assert "wear gap" in page and "data:image/png;base64," in page
    with Image.open(written.figure) as image:
        assert image.width >= 800 and image.height >= 250


def test_a_participants_figures_and_report_are_its_own(sandbox_factory: Any, tmp_path: Path) -> None:
    server = sandbox_factory(days=40, accounts=("p1", "p2"))
    root = land_cohort(server, tmp_path / "cohort", ("p1", "p2"), days=30)
    build_warehouse(root)
    p1 = root.participant("p1")
    figures = render_all(p1)
    assert figures and all(f.png.parent == p1.plots_dir for f in figures.values())
    report = write_report(p1, figures)
    assert report.path == p1.report_dir / "report.html" and report.has_sleep
    assert "Sleep report of participant p1" in report.path.read_text()
    # its key numbers are the ones of its own nights only
    con = duckdb.connect(str(root.warehouse_file), read_only=True)
    try:
        nights = con.execute("SELECT count(*) FROM nights WHERE participant_id = 'p1'").fetchone()
    finally:
        con.close()
    assert nights is not None
    numbers = dict(report.key_numbers)
    assert any(str(nights[0]) in value for value in numbers.values()), numbers
