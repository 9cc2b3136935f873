"""`fitbit-sleep import PATH` end to end: archive -> landing -> tables -> warehouse, summary and errors."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from archive_builder import build_damaged_archive
from click.testing import CliRunner

from fitbit_sandbox.export import build_archive
from fitbit_sandbox.generator import generate_history
from fitbit_sleep.cli import main
from pipeline.paths import StoragePaths
from pipeline.warehouse import count_nights


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _field(output: str, label: str) -> str:
    match = re.search(rf"^\s*{label}\s+(.+)$", output, re.MULTILINE)
    assert match, f"{label!r} missing from:\n{output}"
    return match.group(1).strip()


def test_import_prints_a_summary_and_builds_the_warehouse(tmp_path: Path, data_home: Path) -> None:
    logs = generate_history(42, 75, date(2026, 9, 30), "America/Los_Angeles")
    built = build_archive(tmp_path / "MyFitbitData.zip", logs, layout="myfitbitdata", days_per_file=20)

    first = _run("import", str(built.path))
    assert first.exit_code == 0, first.output
    out = first.output
    assert f"Imported {built.path.name}" in out
    assert _field(out, "files") == f"{len(built.sleep_files)} sleep files"
    assert _field(out, "logs") == str(len(built.logs))
    assert _field(out, "dates with sleep") == str(len(built.dates))
    assert _field(out, "date range") == f"{min(built.dates)} … {max(built.dates)}"
    assert _field(out, "duplicates dropped") == str(built.duplicate_copies) != "0"
    assert _field(out, "records quarantined") == "0"
    assert _field(out, "sleep scores").startswith(f"{len(built.score_rows)} rows")

    paths = StoragePaths(data_home)
    con = duckdb.connect(str(paths.warehouse_file), read_only=True)
    try:
        logs_n, scored = con.execute(
            "select count(*), count(s.log_id) from sleep_logs l left join sleep_scores s using (log_id)"
        ).fetchone() or (0, 0)
        counts = count_nights(con)
    finally:
        con.close()
    assert (logs_n, scored) == (len(built.logs), len(built.score_rows))
    assert _field(out, "sleep scores").endswith(f"; {scored} scored logs in the table")  # not the rows read
    # the one vocabulary: the summary's nights / main sleeps / naps are sql/queries/counts.sql's
    assert _field(out, "in the tables now") == (
        f"{counts['nights']} nights, {counts['main_sleeps']} main sleeps, {counts['naps']} naps"
    )
    assert counts["nights"] == counts["main_sleeps"] > 0

    again = _run("import", str(built.path))
    assert again.exit_code == 0, again.output
    assert _field(again.output, "days").startswith("0 new, 0 revised,")
    assert "unchanged" in _field(again.output, "sleep scores")


def test_import_reports_damage_and_bad_archives(tmp_path: Path, data_home: Path) -> None:
    def truncate_first(name: str, data: bytes, _seen: list[str] = []) -> bytes:  # noqa: B006 - one-shot marker
        if "sleep-" in name and not _seen:
            _seen.append(name)
            return data[: len(data) // 2]
        return data

    logs = generate_history(42, 60, date(2026, 9, 30), "America/Los_Angeles")
    built = build_damaged_archive(tmp_path / "Takeout", logs, truncate_first, layout="takeout", as_zip=False)
    result = _run("import", str(built.path))
    assert result.exit_code == 0, result.output
    assert "1 damaged" in _field(result.output, "files")
    assert "Problems:" in result.output and "truncated" in result.output

    not_zip = tmp_path / "MyFitbitData.zip"
    not_zip.write_bytes(b"PK\x03\x04 this is not really a zip")
    bad = _run("import", str(not_zip))
    assert bad.exit_code == 1
    assert "not a readable zip archive" in bad.output and "download the archive again" in bad.output

    empty = tmp_path / "empty"
    empty.mkdir()
    none = _run("import", str(empty))
    assert none.exit_code == 1 and "No Fitbit sleep files" in none.output


QUIRK_FIXTURES = (
    "classic_era.json",  # no isMainSleep/logType; classic minutes that do not add up
    "stages_epoch_off.json",  # segments one 60-s epoch longer than the duration
    "unknown_level.json",  # a 3,600-s 'unknown' segment
    "afternoon_main.json",  # Fitbit flags a 16:57 sleep as main; two logs flagged main on one night
    "two_mains.json",
    "long_main.json",  # a 925-min "main" sleep
    "split_night.json",
    "nap_and_main.json",
)


def test_cli_import_and_the_dagster_import_job_run_the_same_checks_and_agree(
    tmp_path: Path, data_home: Path
) -> None:
    """Both ways in land every quirky log, pass every blocking check, and warn about the same quirks."""
    from dagster import DagsterInstance

    from pipeline.checks import DATA_CHECKS, run_checks
    from tests.dagster_project.dagster_helpers import project_defs
    from tests.pipeline.landing_fixtures import fixture_logs

    logs = [log for name in QUIRK_FIXTURES for log in fixture_logs(name)]
    built = build_archive(tmp_path / "MyFitbitData.zip", logs, layout="takeout", days_per_file=30)

    cli = _run("import", str(built.path))
    assert cli.exit_code == 0, cli.output
    assert _field(cli.output, "records quarantined") == "0"
    assert re.search(
        r"^Checks: \d+ passed, 4 warnings \(the same as Dagster's archive_import_job\)$", cli.output, re.M
    )
    for warned in ("segments_add_up", "minutes_add_up", "unknown_levels", "long_main_sleeps"):
        assert f"  warning  {warned}: " in cli.output
    by_cli = {o.name: o for o in run_checks(StoragePaths(data_home))}

    home = tmp_path / "dagster-home"
    defs = project_defs(home)
    run_config = {"ops": {"archive_import": {"config": {"path": str(built.path)}}}}
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("archive_import_job").execute_in_process(
            instance=instance, run_config=run_config
        )
    assert result.success
    by_dagster = {e.check_name: e for e in result.get_asset_check_evaluations()}
    table_checks = [c.name for c in DATA_CHECKS if c.asset == "sleep_tables"]
    assert set(table_checks) <= set(by_dagster)
    for name in table_checks:
        ours, theirs = by_cli[name], by_dagster[name]
        assert ours.passed == theirs.passed, name
        counts = {k: v for k, v in ours.metadata.items() if isinstance(v, int)}
        assert counts == {k: by_dagster[name].metadata[k].value for k in counts}, name
    assert sum(1 for name in table_checks if not by_cli[name].passed) == 4


def test_an_archive_without_a_zone_asks_for_tz_then_remembers_it(
    tmp_path: Path, data_home: Path, monkeypatch: Any
) -> None:
    from fitbit_sandbox.export import compose_archive, layout_paths, write_archive

    monkeypatch.delenv("FITBIT_SLEEP_TZ", raising=False)
    built = compose_archive(generate_history(42, 30, date(2026, 9, 30), "America/Los_Angeles"))
    del built.members[layout_paths("myfitbitdata")["profile"]]  # older archives lack "Your Profile"
    path = write_archive(built, tmp_path / "MyFitbitData.zip").path

    refused = _run("import", str(path))
    assert refused.exit_code == 1
    [line] = refused.output.strip().splitlines()  # one clear line, no traceback
    assert line.startswith("Error: The archive has no profile with a time zone") and "--tz" in line
    assert not StoragePaths(data_home).raw_sleep_dir.exists()

    done = _run("import", str(path), "--tz", "Europe/Berlin")
    assert done.exit_code == 0, done.output
    assert _field(done.output, "time zone") == "Europe/Berlin (from --tz)"
    again = _run("import", str(path))
    assert again.exit_code == 0, again.output
    assert _field(again.output, "time zone") == "Europe/Berlin (from the zone the tables were built in)"
    moved = _run("rebuild", "--tz", "Asia/Tokyo")
    assert moved.exit_code == 0 and "tz Asia/Tokyo" in moved.output
    last = _run("import", str(path))
    assert _field(last.output, "time zone") == "Asia/Tokyo (from the zone the tables were built in)"
