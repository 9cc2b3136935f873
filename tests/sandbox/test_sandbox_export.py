"""``fitbit-sleep sandbox export``: the sandbox's account archive, its quirks, and the pipeline importing it.

The cross-package checks (the importer reads the sandbox's archive; an API backfill from the same sandbox takes the
exported days over) live here because tests may use both sides; the sandbox and the pipeline never import each other.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fitbit_sandbox.export import LAYOUTS, export_history
from fitbit_sandbox.generator import generate_history
from fitbit_sleep.cli import main
from pipeline.landing import land_fetch, read_header
from pipeline.paths import StoragePaths
from pipeline.sources.fitbit_export.importer import import_archive

TODAY = date(2026, 9, 30)
TZ = "America/Los_Angeles"


def _export(*args: str) -> Any:
    result = CliRunner().invoke(main, ["sandbox", "export", *args], catch_exceptions=False)
    return result


def _zip_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_export_command_writes_a_byte_identical_archive_with_the_real_quirks(tmp_path: Path) -> None:
    out = tmp_path / "MyFitbitData.zip"
    first = _export("--out", str(out), "--seed", "7", "--days", "100", "--today", TODAY.isoformat())
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    assert lines[0] == str(out)
    assert re.fullmatch(r"4 sleep files, \d+ logs .*, \d+ sleep scores, 2026-06-23 \.\. 2026-09-30", lines[1])
    digest = out.read_bytes()
    again = _export("--out", str(out), "--seed", "7", "--days", "100", "--today", TODAY.isoformat())
    assert again.exit_code == 0 and out.read_bytes() == digest  # fixed member times: same export, same bytes

    members = _zip_members(out)
    sleep_files = sorted(name for name in members if re.search(r"/Sleep/sleep-\d{4}-\d\d-\d\d\.json$", name))
    assert len(sleep_files) == 4 and all(name.startswith("MyFitbitData/Jane/") for name in sleep_files)
    records = {name: json.loads(members[name]) for name in sleep_files}
    every = [rec for recs in records.values() for rec in recs]
    # the export's names: mainSleep, never isMainSleep
    assert all("mainSleep" in rec and "isMainSleep" not in rec for rec in every)
    # duplicate logIds across (adjacent) files
    per_file = [{rec["logId"] for rec in recs} for recs in records.values()]
    repeated = [log_id for log_id, n in Counter(i for ids in per_file for i in ids).items() if n > 1]
    assert repeated
    # mis-dated file names: a file's name is not one of the dates it holds
    for name, recs in records.items():
        named = name.rsplit("sleep-", 1)[1].removesuffix(".json")
        assert named not in {rec["dateOfSleep"] for rec in recs}
    # the same history the sandbox serves, one record per logId once the copies are dropped
    served = generate_history(7, 100, TODAY, TZ)
    by_id = {rec["logId"]: rec for rec in every}
    assert set(by_id) == {log["logId"] for log in served}
    log = served[-1]
    assert (
        by_id[log["logId"]]["mainSleep"] == log["isMainSleep"]
        and by_id[log["logId"]]["levels"] == log["levels"]
    )
    # sleep_score.csv: logIds, local end times with a `Z`, and empty columns in some rows
    score_csv = next(name for name in members if name.endswith("/sleep_score.csv"))
    rows = list(csv.DictReader(io.StringIO(members[score_csv].decode())))
    ends = {log["logId"]: log["endTime"] for log in served}
    assert rows and all(int(row["sleep_log_entry_id"]) in ends for row in rows)
    for row in rows:
        assert row["timestamp"].endswith("Z")
        assert row["timestamp"][:-1] == ends[int(row["sleep_log_entry_id"])][:19]  # local time, not UTC
    empty = [row for row in rows if row["composition_score"] == "" and row["duration_score"] == ""]
    assert 0 < len(empty) < len(rows)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_as_a_folder_is_imported_by_the_pipeline(tmp_path: Path, layout: str) -> None:
    out = tmp_path / "export"
    result = _export("--out", str(out), "--days", "70", "--today", TODAY.isoformat(), "--layout", layout,
                     "--format", "folder")  # fmt: skip
    assert result.exit_code == 0, result.output
    built = export_history(tmp_path / "same.zip", days=70, today=TODAY, layout=layout)
    paths = StoragePaths(tmp_path / "home")

    summary = import_archive(paths, out)

    assert summary.logs == len(built.logs) and summary.files == len(built.sleep_files) == 3
    assert summary.duplicates_dropped == built.duplicate_copies >= 1
    assert summary.duplicates_conflicting == 0 and summary.files_damaged == 0
    assert (summary.first_date, summary.last_date) == (min(built.dates), TODAY)
    assert summary.scores == len(built.score_rows) > 0 and summary.timezone == TZ
    assert summary.problems == []


def test_an_api_backfill_takes_over_the_exported_days_and_a_reimport_is_a_no_op(
    tmp_path: Path, sandbox_factory: Any, data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same seed/days/today as a running sandbox: the export lands first, then the API's fetch of the same dates
    wins every one of them (even where its logs are identical), and the archive cannot take them back."""
    from pipeline.client import FitbitClient
    from pipeline.config import Settings
    from pipeline.login import login

    server = sandbox_factory(seed=3, days=40, today=TODAY)
    for name, value in server.client_env().items():
        monkeypatch.setenv(name, value)
    archive = tmp_path / "imports" / "sandbox.zip"
    assert (
        _export("--out", str(archive), "--seed", "3", "--days", "40", "--today", TODAY.isoformat()).exit_code
        == 0
    )
    paths = StoragePaths(data_home)
    first = import_archive(paths, archive)
    assert first.days_written == 40 and first.logs > 40
    days = sorted(first.changed_dates)

    settings = Settings.from_env()
    login(settings, paths, port=0, auto=True, timeout=20)
    fetch = FitbitClient.from_settings(settings).sleep(days[0], days[-1])
    landed = land_fetch(paths, fetch)

    assert sorted(landed.changed_dates) == days  # every exported day is taken over by the API
    assert {read_header(paths.raw_sleep_file(day)).source for day in days} == {"api"}
    assert land_fetch(paths, fetch).unchanged == 40  # the API's own re-fetch is a no-op
    again = import_archive(paths, archive)
    assert again.days_kept_api == 40 and again.changed_dates == [] and again.scores_state == "unchanged"


def test_export_refuses_a_folder_where_a_zip_was_asked(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    result = CliRunner().invoke(main, ["sandbox", "export", "--out", str(tmp_path / "taken")])
    assert result.exit_code == 2 and "is a folder" in result.output


def test_export_summary_counts_in_the_singular_when_there_is_one(tmp_path: Path) -> None:
    result = _export(
        "--out", str(tmp_path / "one.zip"), "--seed", "42", "--days", "1", "--today", TODAY.isoformat()
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == (
        f"1 sleep file, 1 log (0 repeated across files), 1 sleep score, {TODAY} .. {TODAY}"
    )
