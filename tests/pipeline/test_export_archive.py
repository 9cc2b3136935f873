"""Importing export / Takeout archives into the landing, tables and warehouse (real files, real DuckDB/Parquet)."""

from __future__ import annotations

import copy
import hashlib
import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from archive_builder import build_damaged_archive

from fitbit_sandbox.export import LAYOUTS, build_archive
from fitbit_sandbox.generator import generate_history
from pipeline.errors import ArchiveError
from pipeline.landing import land_day, read_day
from pipeline.paths import StoragePaths
from pipeline.sources.fitbit_export.importer import import_archive
from pipeline.tables import update_tables
from pipeline.warehouse import build_warehouse

DAYS = 90
TODAY = date(2026, 9, 30)


@pytest.fixture(scope="module")
def history() -> list[dict[str, Any]]:
    return generate_history(42, DAYS, TODAY, "America/Los_Angeles")


@pytest.fixture
def paths(tmp_path: Path) -> StoragePaths:
    return StoragePaths(tmp_path / "home")


def landed_logs(paths: StoragePaths) -> dict[int, tuple[date, dict[str, Any]]]:
    """logId -> (landed date, log) over every raw file; fails on a logId landed twice."""
    found: dict[int, tuple[date, dict[str, Any]]] = {}
    for raw in sorted(paths.raw_sleep_dir.glob("date=*.json")):
        doc = json.loads(raw.read_bytes())
        for log in doc["payload"]["sleep"]:
            assert log["logId"] not in found, f"logId {log['logId']} landed twice"
            found[log["logId"]] = (date.fromisoformat(doc["date"]), log)
    return found


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() + f"@{p.stat().st_mtime_ns}"
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("as_zip", [True, False], ids=["zip", "folder"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_lands_each_log_once_in_api_shape(
    tmp_path: Path, paths: StoragePaths, history: list[dict[str, Any]], layout: str, as_zip: bool
) -> None:
    dest = tmp_path / "downloads" / ("takeout-20261001.zip" if as_zip else "Takeout")
    built = build_archive(
        dest, history, layout=layout, as_zip=as_zip, classic_before=TODAY - timedelta(days=60)
    )
    before = snapshot(dest.parent)

    summary = import_archive(paths, dest)

    assert snapshot(dest.parent) == before, (
        "the import must not extract or touch anything next to the archive"
    )
    assert summary.files == len(built.sleep_files) >= 3
    assert summary.logs == len(built.logs)
    assert summary.duplicates_dropped == built.duplicate_copies >= 1
    assert summary.first_date == min(built.dates) and summary.last_date == max(built.dates)
    assert summary.dates_with_sleep == len(built.dates)
    assert summary.timezone == "America/Los_Angeles"
    assert summary.records_quarantined == 0 and summary.files_damaged == 0 and summary.problems == []
    landed = landed_logs(paths)
    assert set(landed) == built.log_ids
    expected = {log["logId"]: log for log in built.logs}
    for log_id, (day, log) in landed.items():
        assert "mainSleep" not in log and log == expected[log_id]
        assert day == date.fromisoformat(log["dateOfSleep"])
    doc = read_day(paths, max(built.dates))
    assert doc is not None
    assert (doc["source"], doc["source_ref"], doc["fetched_at"]) == (
        "export",
        dest.name,
        "2026-10-01T12:00:00Z",
    )
    assert any(log["type"] == "classic" and log["isMainSleep"] for _, log in landed.values())
    # the profile's time zone is kept for the transform when no login wrote one
    assert json.loads(paths.profile_file.read_text())["timezone"] == "America/Los_Angeles"


def test_duplicates_across_adjacent_files_are_counted_and_land_once(
    tmp_path: Path, paths: StoragePaths, history: list[dict[str, Any]]
) -> None:
    built = build_archive(tmp_path / "a.zip", history, days_per_file=10, duplicate_every=1)
    with zipfile.ZipFile(built.path) as archive:
        ids_per_file = [
            [rec["logId"] for rec in json.loads(archive.read(name))] for name in sorted(built.sleep_files)
        ]
        records = [rec for name in sorted(built.sleep_files) for rec in json.loads(archive.read(name))]
    copies = sum(len(ids) for ids in ids_per_file) - len({i for ids in ids_per_file for i in ids})
    assert copies == built.duplicate_copies == len(built.sleep_files) - 1
    # as in real archives, a repeated stages log's thirtyDayAvgMinutes differ between its copies
    by_id: dict[int, list[str]] = {}
    for rec in records:
        by_id.setdefault(rec["logId"], []).append(json.dumps(rec, sort_keys=True))
    differing = [texts for texts in by_id.values() if len(texts) == 2 and texts[0] != texts[1]]
    assert differing and all("thirtyDayAvgMinutes" in texts[0] for texts in differing)

    summary = import_archive(paths, built.path)

    # a difference no table uses is no problem worth listing
    assert summary.duplicates_dropped == copies and summary.duplicates_conflicting == 0
    assert not any("differs from its earlier copy" in p for p in summary.problems)
    assert set(landed_logs(paths)) == built.log_ids


def test_a_duplicate_that_differs_is_reported(
    tmp_path: Path, paths: StoragePaths, history: list[dict[str, Any]]
) -> None:
    def edit(name: str, data: bytes) -> bytes:
        if not name.endswith(".json") or "sleep-" not in name:
            return data
        records = json.loads(data)
        if len(records) > 1 and records[-1]["dateOfSleep"] < records[-2]["dateOfSleep"]:
            records[-1]["minutesAwake"] += 1  # the repeated copy at the end of a file is not identical
        return json.dumps(records).encode()

    built = build_damaged_archive(tmp_path / "a.zip", history, edit, duplicate_every=1)
    summary = import_archive(paths, built.path)
    assert summary.duplicates_dropped == built.duplicate_copies
    assert summary.duplicates_conflicting == built.duplicate_copies
    assert any("differs from its earlier copy" in p for p in summary.problems)
    assert set(landed_logs(paths)) == built.log_ids


def test_reimport_changes_nothing_byte_for_byte(
    tmp_path: Path, paths: StoragePaths, history: list[dict[str, Any]]
) -> None:
    zipped = build_archive(tmp_path / "MyFitbitData.zip", history)
    import_archive(paths, zipped.path)
    update_tables(paths, None)
    before = snapshot(paths.root)

    again = import_archive(paths, zipped.path)
    assert again.changed_dates == [] and again.days_written == again.days_revised == 0
    assert again.first_date and again.last_date
    span = (again.last_date - again.first_date).days + 1  # days without sleep are among them (days_empty)
    assert again.days_unchanged == span and again.scores_state == "unchanged"
    update_tables(paths, again.changed_dates or None)
    # the same archive unzipped (same member times) is the same archive
    folder = build_archive(tmp_path / "unzipped", history, as_zip=False)
    assert import_archive(paths, folder.path).changed_dates == []
    after = snapshot(paths.root)
    # the import ledger learns the folder (a new archive path); every data file is untouched (state/writer.json
    # only says who held the writer lock last: pipeline/writer_lock.py)
    assert after.pop("state/imports.json") != before.pop("state/imports.json")
    after.pop("state/writer.json", None), before.pop("state/writer.json", None)
    assert after == before


def test_api_data_wins_on_overlapping_dates(
    tmp_path: Path, paths: StoragePaths, history: list[dict[str, Any]]
) -> None:
    # The API fetched the last 30 days, and its data differs slightly from the archive's (edits after export).
    api_start = TODAY - timedelta(days=29)
    api_days: dict[date, list[dict[str, Any]]] = {}
    for log in history:
        day = date.fromisoformat(log["dateOfSleep"])
        if day >= api_start:
            edited = copy.deepcopy(log)
            edited["minutesAfterWakeup"] = 7  # harmless field, visible in the tables
            api_days.setdefault(day, []).append(edited)
    dropped = api_days[TODAY - timedelta(days=3)].pop()  # deleted upstream after the export was taken
    fetched = datetime(2026, 10, 2, 8, 0, tzinfo=UTC)
    for offset in range(30):
        day = api_start + timedelta(days=offset)
        land_day(paths, day, api_days.get(day, []), source="api", source_ref="/1.2/…", fetched_at=fetched)
    api_raw = {p.name: p.read_bytes() for p in paths.raw_sleep_dir.iterdir()}

    built = build_archive(tmp_path / "MyFitbitData.zip", history)
    summary = import_archive(paths, built.path)
    assert summary.days_kept_api == 30 and summary.days_written == DAYS - 30
    assert all(paths.raw_sleep_dir.joinpath(n).read_bytes() == b for n, b in api_raw.items())

    update_tables(paths, None)
    build_warehouse(paths)
    con = duckdb.connect(str(paths.warehouse_file), read_only=True)
    try:
        total, distinct = con.execute(
            "select count(*), count(distinct log_id) from sleep_logs"
        ).fetchone() or (0, 0)
        assert total == distinct == len(built.log_ids) - 1
        assert con.execute(
            f"select count(*) from sleep_logs where log_id = {dropped['logId']}"
        ).fetchone() == (0,)
        rows = con.execute(
            "select source, min(minutes_after_wakeup), max(minutes_after_wakeup), count(*) from sleep_logs "
            f"where date_of_sleep >= DATE '{api_start}' group by source"
        ).fetchall()
        assert rows == [("api", 7, 7, sum(len(v) for v in api_days.values()))]
        older = con.execute(
            f"select distinct source from sleep_logs where date_of_sleep < DATE '{api_start}'"
        ).fetchall()
        assert older == [("export",)]
    finally:
        con.close()


def test_export_never_places_a_second_copy_of_an_api_log(
    tmp_path: Path, paths: StoragePaths, history: list[dict[str, Any]]
) -> None:
    # The API landed a log on its (edited) date; the archive still has it on the day before, outside the API range.
    last = [log for log in history if log["dateOfSleep"] == TODAY.isoformat()]
    moved = copy.deepcopy(last[0])
    land_day(
        paths, TODAY, [moved], source="api", source_ref="/1.2/…", fetched_at=datetime(2026, 10, 2, tzinfo=UTC)
    )
    export_copy = copy.deepcopy(moved)
    export_copy["dateOfSleep"] = (TODAY - timedelta(days=1)).isoformat()
    others = [log for log in history if log["logId"] != moved["logId"]]
    built = build_archive(tmp_path / "a.zip", [*others, export_copy])
    summary = import_archive(paths, built.path)
    assert summary.logs_superseded_by_api == 1
    assert landed_logs(paths)[moved["logId"]][0] == TODAY


def test_a_newer_archive_replaces_an_older_one_but_not_the_reverse(
    tmp_path: Path, paths: StoragePaths, history: list[dict[str, Any]]
) -> None:
    old_time = datetime(2026, 9, 1, tzinfo=UTC)
    older_history = [log for log in history if log["dateOfSleep"] <= "2026-08-31"]
    newer_history = copy.deepcopy(history)
    for log in newer_history:
        log["minutesAfterWakeup"] = 3  # the account data was edited between the two exports
    older = build_archive(tmp_path / "old" / "MyFitbitData.zip", older_history, exported_at=old_time)
    newer = build_archive(tmp_path / "new" / "MyFitbitData.zip", newer_history)

    import_archive(paths, newer.path)
    summary = import_archive(paths, older.path)
    assert summary.days_kept_newer == len({log["dateOfSleep"] for log in older_history}) + summary.days_empty
    assert summary.changed_dates == []
    assert {log["minutesAfterWakeup"] for _, log in landed_logs(paths).values()} == {3}


def test_sleep_scores_join_sleep_logs(
    tmp_path: Path, paths: StoragePaths, history: list[dict[str, Any]]
) -> None:
    built = build_archive(tmp_path / "MyFitbitData.zip", history, layout="takeout")
    summary = import_archive(paths, built.path)
    assert summary.scores == len(built.score_rows) > 0
    update_tables(paths, summary.changed_dates)
    build_warehouse(paths)
    sparse = sum(1 for row in built.score_rows if row["composition_score"] == "")
    assert 0 < sparse < len(built.score_rows)
    con = duckdb.connect(str(paths.warehouse_file), read_only=True)
    try:
        joined = con.execute(
            """
            select count(*),
                   count(*) filter (where s.score_timestamp_local = date_trunc('second', l.end_local)),
                   count(*) filter (where s.composition_score is null and s.duration_score is null),
                   count(*) filter (where l.is_main_sleep)
            from sleep_scores s join sleep_logs l using (log_id)
            """
        ).fetchone()
        assert joined == (len(built.score_rows), len(built.score_rows), sparse, len(built.score_rows))
        expected = {int(r["sleep_log_entry_id"]): int(r["overall_score"]) for r in built.score_rows}
        got = dict(con.execute("select log_id, overall_score from sleep_scores").fetchall())
        assert got == expected
    finally:
        con.close()


def test_a_second_archive_leaves_no_score_without_its_log(
    tmp_path: Path, paths: StoragePaths, history: list[dict[str, Any]]
) -> None:
    """The older archive's days lose to the newer one's, so its logs never land; its scores must not stay in the
    table without a log (they used to: 87 orphans after a second archive). They are counted and kept raw."""
    other = generate_history(7, DAYS, TODAY, "America/Los_Angeles")  # the same dates, other logIds
    newer = build_archive(tmp_path / "new" / "MyFitbitData.zip", history)
    older = build_archive(
        tmp_path / "old" / "MyFitbitData.zip", other, exported_at=datetime(2026, 9, 1, tzinfo=UTC)
    )
    update_tables(paths, import_archive(paths, newer.path).changed_dates)
    second = import_archive(paths, older.path)
    assert second.changed_dates == [] and second.tables_stale  # only its scores are new
    tables = update_tables(paths, second.changed_dates)
    assert tables.scores_without_log == len(older.score_rows) > 0
    assert tables.scores == len(newer.score_rows)
    build_warehouse(paths)
    with duckdb.connect(str(paths.warehouse_file), read_only=True) as con:
        orphans = con.execute(
            "select count(*) from sleep_scores s anti join sleep_logs l using (log_id)"
        ).fetchone()
    assert orphans == (0,)
    assert (
        len(list(paths.raw_sleep_scores_dir.glob("*.json"))) == 2
    )  # nothing lost: both archives' scores, raw


# --- bad archives --------------------------------------------------------------------------------------------------


def test_not_a_zip_says_what_to_do(tmp_path: Path, paths: StoragePaths) -> None:
    bogus = tmp_path / "MyFitbitData.zip"
    bogus.write_text("<html>Sign in to download</html>")
    with pytest.raises(ArchiveError, match="not a readable zip archive.*download the archive again"):
        import_archive(paths, bogus)
    with pytest.raises(ArchiveError, match="does not exist"):
        import_archive(paths, tmp_path / "missing.zip")


def test_truncated_zip_is_an_archive_error(
    tmp_path: Path, paths: StoragePaths, history: list[dict[str, Any]]
) -> None:
    built = build_archive(tmp_path / "MyFitbitData.zip", history)
    data = built.path.read_bytes()
    built.path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArchiveError, match="not a readable zip archive"):
        import_archive(paths, built.path)
    assert not paths.raw_sleep_dir.exists()


def test_zip_without_sleep_files(tmp_path: Path, paths: StoragePaths) -> None:
    target = tmp_path / "takeout.zip"
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("Takeout/Fitbit/Global Export Data/steps-2024-01-01.json", "[]")
        archive.writestr("Takeout/Fitbit/Health Fitness Data_GoogleData/UserSteps_2024.csv", "a,b\n")
    # (an archive with the Google-era sleep CSVs is imported: tests/pipeline/test_takeout_import.py)
    with pytest.raises(
        ArchiveError,
        match=r"No Fitbit sleep files .*'Takeout/Fitbit/Global Export Data', "
        r"'Takeout/Fitbit/Health Fitness Data_GoogleData'.*Export your account",
    ):
        import_archive(paths, target)


def test_truncated_json_file_keeps_its_intact_records_and_the_rest(
    tmp_path: Path, paths: StoragePaths, history: list[dict[str, Any]]
) -> None:
    cut: dict[str, Any] = {}

    def truncate(name: str, data: bytes) -> bytes:
        if "sleep-" in name and name.endswith(".json") and not cut:
            records = json.loads(data)
            cut.update(name=name, records=records)
            return data[: len(data) * 2 // 3]  # a download cut in the middle of a record
        return data

    built = build_damaged_archive(tmp_path / "MyFitbitData.zip", history, truncate)
    summary = import_archive(paths, built.path)

    assert summary.files_damaged == 1
    problem = next(p for p in summary.problems if cut["name"] in p)
    assert "truncated" in problem
    landed = landed_logs(paths)
    lost = {rec["logId"] for rec in cut["records"]} - set(landed)
    assert 0 < len(lost) < len(cut["records"])  # records before the damage were kept
    assert set(landed) == built.log_ids - lost
    assert summary.days_empty == 0  # a damaged file could hide records: no date is declared empty


def test_malformed_records_are_quarantined_and_the_rest_imports(
    tmp_path: Path, paths: StoragePaths, history: list[dict[str, Any]]
) -> None:
    bad_ids = {"lots": 0, "no_date": 0}

    def inject(name: str, data: bytes) -> bytes:
        if "sleep-" not in name or bad_ids["lots"]:
            return data
        records = json.loads(data)
        bad = copy.deepcopy(records[0])
        bad["logId"] += 1
        bad["minutesAsleep"] = "lots"
        no_date = copy.deepcopy(records[1])
        no_date["logId"] += 1
        del no_date["dateOfSleep"]
        bad_ids.update(lots=bad["logId"], no_date=no_date["logId"])
        return json.dumps([*records, bad, no_date, "not a log"], indent=1).encode()

    built = build_damaged_archive(tmp_path / "MyFitbitData.zip", history, inject)
    summary = import_archive(paths, built.path)
    assert summary.records_quarantined == 2  # the two that cannot be placed by their own dateOfSleep
    assert summary.logs == len(built.logs) + 1

    result = update_tables(paths, summary.changed_dates)
    assert result.quarantined == 3
    build_warehouse(paths)
    con = duckdb.connect(str(paths.warehouse_file), read_only=True)
    try:
        reasons = dict(con.execute("select coalesce(log_id, -1), reason from quarantine").fetchall())
        total, distinct = con.execute(
            "select count(*), count(distinct log_id) from sleep_logs"
        ).fetchone() or (0, 0)
    finally:
        con.close()
    assert "minutesAsleep" in reasons[bad_ids["lots"]]
    assert "dateOfSleep" in reasons[bad_ids["no_date"]]
    assert total == distinct == len(built.log_ids)
