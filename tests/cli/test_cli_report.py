"""`fitbit-sleep report` writes the report under FITBIT_SLEEP_HOME and prints only its path on stdout."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

from pipeline.paths import StoragePaths


def _run_report(home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "fitbit-sleep"), "report"],
        capture_output=True,
        text=True,
        env={"FITBIT_SLEEP_HOME": str(home), "PATH": "/usr/bin:/bin", "MPLCONFIGDIR": str(home / ".mpl")},
        timeout=120,
    )


def test_report_command_prints_the_path(data_home: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))
    from plot_fixtures import history, land_and_build

    land_and_build(data_home, history(date(2024, 3, 1), 20, nap_every=3))
    result = _run_report(data_home)
    assert result.returncode == 0, result.stderr
    printed = Path(result.stdout.strip())
    assert printed == StoragePaths(data_home).report_dir / "report.html"
    assert printed.is_file() and "Nights from 2024-03-01 to 2024-03-20." in printed.read_text(
        encoding="utf-8"
    )
    assert (
        sorted(p.name for p in StoragePaths(data_home).plots_dir.glob("*.png"))[0] == "coverage_calendar.png"
    )


def test_report_command_without_data_explains_and_still_writes(data_home: Path) -> None:
    result = _run_report(data_home)
    assert result.returncode == 0, result.stderr
    assert "No warehouse" in result.stderr and "fitbit-sleep fetch" in result.stderr
    assert Path(result.stdout.strip()).is_file()
