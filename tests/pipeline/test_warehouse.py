"""The warehouse: contents, coverage, and a reader in another process that neither blocks nor sees a half build."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from landing_fixtures import FIXTURES, fixture_logs, land_all_fixtures, land_fixture, land_logs, land_on
from warehouse_reader import warehouse_reader

from pipeline.paths import StoragePaths
from pipeline.tables import update_tables
from pipeline.warehouse import build_warehouse, connect_readonly

LA = "America/Los_Angeles"


def test_contents_and_coverage(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    land_all_fixtures(paths)
    fetched = datetime(2024, 3, 17, tzinfo=UTC)
    land_on(paths, date(2024, 3, 16), [], fetched)
    land_on(paths, date(2024, 3, 17), [], fetched, pending=True)
    update_tables(paths, tz=LA)
    result = build_warehouse(paths)
    assert result.rows == {
        "sleep_logs": 19,
        "sleep_segments": 203,
        "sleep_alternatives": 0,  # only Takeout sessions described more than once have alternatives
        "nights": 15,
        "quarantine": 5,
        "sleep_scores": 0,
        "coverage": 17,
    }
    con = connect_readonly(paths)
    states = dict(con.execute("SELECT date, state FROM coverage").fetchall())
    assert states[date(2024, 3, 16)] == "empty" and states[date(2024, 3, 17)] == "pending"
    assert states[date(2024, 3, 15)] == "final" and date(2024, 3, 18) not in states
    # the API's efficiency is kept apart; ours is asleep / in bed.
    [(ours, api)] = con.execute(
        "SELECT efficiency, api_efficiency FROM sleep_logs WHERE log_id = 40000000101"
    ).fetchall()
    assert api == 93 and ours != api
    assert (
        con.execute("SELECT count(*) FROM main_sleeps").fetchall()[0][0] == 15
    )  # one main sleep per night (the split night's two parts are one)
    roles = dict(con.execute("SELECT night_role, count(*) FROM sleep_logs GROUP BY ALL").fetchall())
    assert roles == {"main": 16, "nap": 3}  # 15 nights, one of them in two parts; 3 naps
    con.close()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".warehouse")) == []


def test_empty_landing_builds_an_empty_warehouse(tmp_path: Path) -> None:
    result = build_warehouse(StoragePaths(tmp_path))
    assert set(result.rows.values()) == {0}
    con = connect_readonly(StoragePaths(tmp_path))
    columns = [r[0] for r in con.execute("DESCRIBE nights").fetchall()]
    assert {"night_date", "main_log_id", "efficiency", "minutes_lost", "deep_share", "is_weekend"} <= set(
        columns
    )


def test_reader_in_another_process_keeps_its_snapshot_while_an_update_runs(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    land_fixture(paths, "nap_and_main.json")
    update_tables(paths, tz=LA)
    build_warehouse(paths)
    with warehouse_reader(tmp_path, "SELECT count(*) FROM sleep_logs") as reader:
        assert reader.first == ["2"]
        # the reader holds the file read-only; the update and the build must not fail or wait on it.
        dates = land_fixture(paths, "split_night.json")
        update_tables(paths, dates, tz=LA)
        built = build_warehouse(paths)
        assert built.rows["sleep_logs"] == 4
        assert reader.again() == ["2"]  # its snapshot, whole and unchanged
        fresh = connect_readonly(paths)
        assert fresh.execute("SELECT count(*) FROM sleep_logs").fetchall()[0][0] == 4
        fresh.close()


def test_nights_main_sleeps_and_naps_mean_one_thing_everywhere(tmp_path: Path) -> None:
    """counts.sql is the vocabulary: the report's summary, every figure's stats, the Parquet tables (the Dagster
    metadata and the checks read those) and the build result print the same three numbers, and they are what a
    plain-Python night model makes of the logs."""
    from night_reference import nights_of

    from fitbit_sandbox.generator import generate_history
    from pipeline.checks import tables_connection
    from pipeline.plots import run_stats
    from pipeline.warehouse import count_nights

    paths = StoragePaths(tmp_path)
    land_all_fixtures(paths)  # classic era, afternoon and double "main" sleeps, a split night, a long log
    history = generate_history(42, 120, date(2025, 6, 30), LA)
    land_logs(paths, history)
    update_tables(paths, tz=LA)
    built = build_warehouse(paths)
    con = connect_readonly(paths)
    try:
        counts = count_nights(con)
        report = run_stats(con, "report_summary.sql")
        figure = {name: run_stats(con, f"plot_{name}_stats.sql") for name in (
            "hist_asleep_vs_in_bed", "scatter_efficiency", "stages_stacked", "rolling_means", "weekday_weekend",
            "naps_per_month",
        )}  # fmt: skip
    finally:
        con.close()
    assert counts["nights"] == counts["main_sleeps"] and counts["naps"] > 0
    assert built.counts == counts
    assert {k: report[k] for k in counts} == counts
    assert figure["hist_asleep_vs_in_bed"]["main_sleeps"] == counts["main_sleeps"]
    assert figure["scatter_efficiency"]["main_sleeps"] == counts["main_sleeps"]
    assert figure["scatter_efficiency"]["naps"] == counts["naps"]
    assert figure["stages_stacked"]["nights"] == counts["nights"]
    assert figure["rolling_means"]["nights"] == counts["nights"]
    ww = figure["weekday_weekend"]
    assert ww["weekday_nights"] + ww["weekend_nights"] == counts["nights"]
    assert figure["naps_per_month"]["naps"] == counts["naps"]
    with tables_connection(paths) as parquet:
        assert count_nights(parquet) == counts
    skip = (
        "malformed.json",
        "stitched_night.json",
    )  # the stitched variant is not landed; malformed: one lands
    valid = [
        log for f in sorted(FIXTURES.glob("*.json")) if f.name not in skip for log in fixture_logs(f.name)
    ]
    valid += [
        log for log in fixture_logs("malformed.json") if isinstance(log, dict) and log["logId"] == 40000000701
    ]
    valid += history
    reference = nights_of(valid)
    assert counts["nights"] == len(reference)
    assert counts["naps"] == sum(len(n.naps) for n in reference.values())
