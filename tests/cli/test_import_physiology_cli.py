"""`fitbit-sleep import` on an archive with physiology: the summary's physiology lines and its problem lines."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from fitbit_sleep.cli import main
from pipeline.paths import StoragePaths

FIXTURE = Path(__file__).parents[1] / "pipeline" / "sources" / "fixtures" / "physiology_archive"


def _field(output: str, label: str) -> str:
    match = re.search(rf"^\s*{label}\s+(.+)$", output, re.MULTILINE)
    assert match, f"{label!r} missing from:\n{output}"
    return match.group(1).strip()


def test_import_summary_counts_physiology_and_names_the_damaged_file(tmp_path: Path, data_home: Path) -> None:
    archive = tmp_path / "takeout"
    shutil.copytree(FIXTURE, archive)
    result = CliRunner().invoke(main, ["import", str(archive)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    assert _field(out, "physiology") == (
        "16 files (1 damaged); dates: heart rate 5, resting HR 2, HRV 4, SpO2 3, breathing rate 3, skin temp 2"
    )
    assert "19 new, 0 revised, 0 unchanged, 0 kept (API or newer archive); 17 heart-rate samples" in out
    assert _field(out, "left out") == "4 heart-rate samples of another data source that day (never added up)"
    problems = [line for line in out.splitlines() if "heart_rate-2026-04-12.json" in line]
    assert len(problems) == 1 and "damaged after 2 records" in problems[0] and "Traceback" not in out

    # the tables and the warehouse have them: one source per day, the samples as landed
    con = duckdb.connect(str(StoragePaths(data_home).warehouse_file), read_only=True)
    try:
        samples = con.execute("select count(*), min(source) from heart_rate").fetchone()
        night = con.execute(
            "select hr_samples_asleep, hr_mean_asleep, hrv_rmssd from nightly_physiology where night_date = '2026-04-10'"
        ).fetchone()
        hrv = con.execute(
            "select hrv_rmssd, hrv_deep_rmssd from hrv_daily where date = '2026-04-13'"
        ).fetchone()
    finally:
        con.close()
    assert samples == (17, "export")
    # the fixture's one night (04-10 23:30 -> 04-11 06:30 local): its four samples from two legacy files, and the
    # HRV reported on 04-11, the date it ended
    assert night == (4, pytest.approx(66.5), pytest.approx(37.9))
    assert hrv == (pytest.approx(35.2), pytest.approx(31.4))

    again = CliRunner().invoke(main, ["import", str(archive)], catch_exceptions=False)
    assert "0 new, 0 revised, 19 unchanged" in again.output
