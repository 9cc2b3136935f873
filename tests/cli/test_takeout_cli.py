"""`fitbit-sleep import a.zip b.zip c.zip` (and the folder that holds them) on a Google-era Takeout, as a user types
it: the summary, the warehouse's provenance columns and alternatives, and a clear error for a Takeout without sleep."""

from __future__ import annotations

import re
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
from click.testing import CliRunner

from fitbit_sandbox.takeout2026 import export_takeout_history
from fitbit_sleep.cli import main
from pipeline.paths import StoragePaths
from tests.clock import TEST_TODAY


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_import_of_the_parts_in_any_order_then_of_their_folder(tmp_path: Path, data_home: Path) -> None:
    takeout = export_takeout_history(
        tmp_path / "zips" / "takeout.zip",
        days=60,
        today=TEST_TODAY,
        migrated_on=TEST_TODAY - timedelta(days=30),
        parts=3,
    )
    first = _run("import", *(str(p) for p in reversed(takeout.parts)))
    assert first.exit_code == 0, first.output
    out = first.output
    assert "Imported takeout-001.zip (+2 parts) (Google Takeout (Fitbit) + 2026 CSVs)" in out
    csv_line = re.search(
        r"2026 CSVs\s+(\d+) files, (\d+) session rows = (\d+) sessions \((\d+) from the CSVs", out
    )
    assert csv_line, out
    assert int(csv_line.group(3)) == len(takeout.sessions) < int(csv_line.group(2))
    con = duckdb.connect(str(StoragePaths(data_home).warehouse_file), read_only=True)
    try:
        families = dict(con.execute("select source_family, count(*) from sleep_logs group by all").fetchall())
        alternatives = con.execute("select count(distinct log_id) from sleep_alternatives").fetchone()
    finally:
        con.close()
    assert set(families) == {"export-json", "export-csv"}
    assert sum(families.values()) == len(takeout.archive.logs)
    assert alternatives == (len(takeout.sessions),)

    again = _run("import", str(takeout.parts[0].parent))  # the folder holding the zips
    assert again.exit_code == 0, again.output
    assert "0 new, 0 revised" in again.output and "Imported takeout-001.zip (+2 parts)" in again.output


def test_a_takeout_without_sleep_files_gets_a_one_line_error(tmp_path: Path, data_home: Path) -> None:
    target = tmp_path / "takeout-001.zip"
    with zipfile.ZipFile(target, "w") as out:
        out.writestr("Takeout/Fitbit/Heart/heart_rate-2026-01-01.json", "[]")
    result = CliRunner().invoke(main, ["import", str(target)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "'Takeout/Fitbit/Heart'" in result.output and "UserSleeps_*.csv" in result.output
