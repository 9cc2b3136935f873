"""`fitbit-sleep rebuild` (tables + warehouse from raw alone) and the read-only `fitbit-sleep sql`."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "pipeline"))
from landing_fixtures import land_all_fixtures  # noqa: E402

from fitbit_sleep.cli import main  # noqa: E402
from pipeline.paths import StoragePaths  # noqa: E402

QUERIES = Path(__file__).parents[2] / "sql" / "queries"


def test_rebuild_from_raw_alone_then_query_read_only(data_home: Path) -> None:
    paths = StoragePaths(data_home)
    land_all_fixtures(paths)
    runner = CliRunner()
    first = runner.invoke(main, ["rebuild", "--tz", "America/Los_Angeles"])
    assert first.exit_code == 0, first.output
    assert (
        "9 logs" in first.output
        and "5 quarantined" in first.output
        and "unknown levels kept: unknown x1" in first.output
    )
    before = {p.relative_to(data_home): p.read_bytes() for p in paths.tables_dir.rglob("*.parquet")}
    # delete every derived file: raw/ alone rebuilds the same tables, byte for byte.
    shutil.rmtree(paths.tables_dir)
    paths.warehouse_file.unlink()
    again = runner.invoke(main, ["rebuild", "--tz", "America/Los_Angeles"])
    assert again.exit_code == 0, again.output
    assert {p.relative_to(data_home): p.read_bytes() for p in paths.tables_dir.rglob("*.parquet")} == before

    out = runner.invoke(main, ["sql", "-c", "SELECT count(*) AS n FROM sleep_logs"])
    assert out.exit_code == 0 and "9" in out.output
    refused = runner.invoke(main, ["sql", "-c", "DELETE FROM sleep_logs"])
    assert refused.exit_code != 0 and "read-only" in refused.output.lower()
    shell = runner.invoke(main, ["sql"], input=".tables\nSELECT count(*)\nFROM nights;\n.quit\n")
    assert shell.exit_code == 0 and "coverage" in shell.output and "│" in shell.output


def test_every_query_file_runs(data_home: Path) -> None:
    land_all_fixtures(StoragePaths(data_home))
    runner = CliRunner()
    assert runner.invoke(main, ["rebuild", "--tz", "America/Los_Angeles"]).exit_code == 0
    mine = [
        "avg_efficiency_and_minutes_lost",
        "weekday_vs_weekend",
        "stage_shares_by_month",
        "naps_per_month",
        *(
            f"table_{t}"
            for t in ("sleep_logs", "sleep_segments", "nights", "quarantine", "sleep_scores", "coverage")
        ),
    ]
    for name in mine:
        result = runner.invoke(main, ["sql", "-f", str(QUERIES / f"{name}.sql")])
        assert result.exit_code == 0, (name, result.output)


def test_headline_query_matches_the_report_numbers(data_home: Path) -> None:
    """avg_efficiency_and_minutes_lost.sql's 'all nights' row is what the demo summary and report print."""
    import duckdb

    paths = StoragePaths(data_home)
    land_all_fixtures(paths)
    assert CliRunner().invoke(main, ["rebuild", "--tz", "America/Los_Angeles"]).exit_code == 0
    with duckdb.connect(str(paths.warehouse_file), read_only=True) as con:
        headline = con.execute((QUERIES / "avg_efficiency_and_minutes_lost.sql").read_text()).fetchall()[0]
        report = con.execute((QUERIES / "report_summary.sql").read_text()).fetchall()[0]
        naps = con.execute("SELECT count(*) FROM naps").fetchone()
    assert naps is not None and naps[0] > 0  # the fixtures have naps, which the headline numbers leave out
    assert headline[0] == "all nights"
    # nights, efficiency, minutes lost, hours asleep: report_summary's nights, efficiency_pct, minutes_lost, mean_asleep_h
    assert headline[1:5] == (report[0], report[3], report[4], report[5])


def test_sql_without_a_warehouse_says_what_to_do(data_home: Path) -> None:
    result = CliRunner().invoke(main, ["sql", "-c", "SELECT 1"])
    assert result.exit_code != 0 and "fitbit-sleep rebuild" in result.output
