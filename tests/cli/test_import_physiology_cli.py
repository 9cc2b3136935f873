"""`fitbit-sleep import` on an archive with physiology: the summary's physiology lines and its problem lines."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from click.testing import CliRunner

from fitbit_sleep.cli import main

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

    again = CliRunner().invoke(main, ["import", str(archive)], catch_exceptions=False)
    assert "0 new, 0 revised, 19 unchanged" in again.output
