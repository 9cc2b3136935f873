"""End-to-end test of the demo path (`make demo` runs `fitbit-sleep demo`) on a short history."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from fitbit_sleep.commands.demo import MIGRATED_DAYS_AGO
from tests.clock import TEST_TODAY

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]  # two demos and three CLI commands

# Heart-rate samples in the demo's archive: fewer days than `make demo`'s 30 (the import's time is mostly the samples;
# the same code path); every daily measure covers the 45 days either way.
HEART_RATE_DAYS = 10


def _user_env() -> dict[str, str]:
    """A shell with none of the project's variables set, as a newcomer's."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("FITBIT_", "DAGSTER_"))}


def _run_demo(tmp_path: Path) -> str:
    env = _user_env()
    exe = Path(sys.executable).with_name("fitbit-sleep")
    done = subprocess.run(
        [
            str(exe),
            "demo",
            "--days",
            "45",
            "--today",
            TEST_TODAY.isoformat(),
            "--heart-rate-days",
            str(HEART_RATE_DAYS),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _table_digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((root / "tables").rglob("*.parquet"))
    }


def test_demo_runs_end_to_end_and_is_idempotent(tmp_path: Path) -> None:
    out = _run_demo(tmp_path)
    data = tmp_path / "data"
    assert "fitbit-sleep demo summary" in out
    assert "1 sleep calls" in out  # 45 days = one <=100-day call
    assert (data / "warehouse.duckdb").is_file()
    assert (data / "report" / "report.html").is_file()
    assert len(list((data / "plots").glob("*.png"))) >= 9
    assert (data / "dagster_home" / "dagster.yaml").is_file()  # DAGSTER_HOME follows the data root
    assert not (tmp_path / ".dagster_home").exists()
    assert (data / "sandbox" / "profile.json").is_file()
    nights_line = next(line for line in out.splitlines() if line.strip().startswith("nights"))
    assert int(nights_line.split()[1]) >= 40
    scores_line = next(line for line in out.splitlines() if line.strip().startswith("sleep scores"))
    # the nights before the move to Google a week ago keep their scores after the API takes them over
    assert int(scores_line.split()[2]) >= 45 - MIGRATED_DAYS_AGO - 8 and "mean overall score" in scores_line
    assert "demo-takeout/ (Google Takeout (Fitbit) + 2026 CSVs, 3 zips)" in out and "45 new" in out
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:  # the API backfill took every exported date over; the archive gave the scores
        assert con.execute("select distinct source from coverage").fetchall() == [("api",)]
        from fitbit_sleep.commands.demo import SCORES_QUERY

        scored = con.execute(SCORES_QUERY).fetchone()
        assert scored is not None and scored[0] == int(scores_line.split()[2])
        assert con.execute("select count(*) from sleep_scores").fetchone()[0] >= scored[0]  # type: ignore[index]
        # one vocabulary: the summary's nights and main sleeps are counts.sql's
        counts = con.execute("select count(*), count(main_log_id) from nights").fetchone()
        mains_line = next(line for line in out.splitlines() if line.strip().startswith("main sleeps"))
        assert counts == (int(nights_line.split()[1]), int(mains_line.split()[2]))
    finally:
        con.close()
    _assert_physiology_shows(data, out)
    parts = sorted((data / "imports" / "demo-takeout").glob("*.zip"))
    assert len(parts) == 3  # the Takeout's zips, imported before the backfill
    archive_stamp = [(p.read_bytes(), p.stat().st_mtime_ns) for p in parts]
    first = _table_digests(data)
    assert first

    # every command of the summary's "Next" list, pasted into a fresh shell here: status and backfill shown to work
    steps = out.split("Next (each works as printed")[1].splitlines()[1:]
    commands = [line.strip().split("  ")[0] for line in steps if line.strip()]
    assert len(commands) == 4 and commands[-1] == "make dev"
    for command in commands[:3]:
        done = subprocess.run(
            command, shell=True, cwd=tmp_path, env=_user_env(), capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
        if " status" in command:
            assert "api check" in done.stdout and "ok in" in done.stdout  # the demo's login, a new sandbox
        if " backfill" in command:
            assert "7 days in 1 run " in done.stdout

    again = _run_demo(tmp_path)
    assert _table_digests(data) == first
    assert "0 new, 0 revised, 0 unchanged, 45 kept from the API" in again
    assert [
        (p.read_bytes(), p.stat().st_mtime_ns) for p in parts
    ] == archive_stamp  # the drop folder sees no change


def _assert_physiology_shows(data: Path, out: str) -> None:
    """The sleep-only login's physiology comes from the Takeout: the summary counts it, the four physiology figures
    draw it (their printed numbers, not the empty figure's) and the report's section has its table."""
    from pipeline.paths import StoragePaths
    from pipeline.physiology_plots import PHYSIOLOGY_FIGURES
    from pipeline.plots import rendered_figure
    from pipeline.report import NO_PHYSIOLOGY_TEXT

    assert f"heart-rate samples (the last {HEART_RATE_DAYS} days)" in out
    line = next(line for line in out.splitlines() if line.strip().startswith("physiology"))
    with_hr, with_resting, with_hrv = (int(line.split()[i]) for i in (1, 7, 11))
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        counts = con.execute(
            "select count(hr_mean_asleep), count(resting_hr), count(hrv_rmssd) from nightly_physiology"
        ).fetchone()
        assert counts == (with_hr, with_resting, with_hrv)  # the summary's numbers are the warehouse's
    finally:
        con.close()
    # heart-rate samples only for the last HEART_RATE_DAYS days: nearly every night of them (the sandbox skips at
    # most 2 of any 10), none before (the night that ends on the first of them may count)
    assert HEART_RATE_DAYS - 4 <= with_hr <= HEART_RATE_DAYS + 1
    assert with_resting >= 20 and with_hrv >= 20  # the daily measures: the demo's last 90 days hold all 45
    drawn = {spec.name: rendered_figure(StoragePaths(data), spec.name) for spec in PHYSIOLOGY_FIGURES}
    stats = {name: result.stats for name, result in drawn.items() if result is not None}
    assert len(stats) == 4  # each drawn from the current warehouse
    assert stats["heart_rate_sleep"]["nights_with_hr"] == with_hr
    assert stats["hrv_resting_trends"]["nights_with_hrv"] == with_hrv
    assert int(stats["sleep_vs_resting_hr"]["nights"]) >= 20
    assert stats["hypnogram_heart_rate"]["hr_source"] == "export"
    report = (data / "report" / "report.html").read_text()
    assert "id='physiology-numbers'" in report and NO_PHYSIOLOGY_TEXT not in report
