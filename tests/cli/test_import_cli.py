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
    assert _field(out, "nights") == str(len(built.dates))
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
    finally:
        con.close()
    assert (logs_n, scored) == (len(built.logs), len(built.score_rows))

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
