"""Time zones never mix silently: where the zone comes from, that it is kept with the tables, and that a new one
rebuilds every table."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from fitbit_sandbox.export import compose_archive, layout_paths, write_archive
from fitbit_sandbox.generator import generate_history
from pipeline.errors import TimezoneUnknown
from pipeline.paths import StoragePaths
from pipeline.sources.fitbit_export.importer import import_archive
from pipeline.tables import update_tables
from pipeline.timezones import resolve_zone, stored_zone

LA, BERLIN, NEW_YORK = "America/Los_Angeles", "Europe/Berlin", "America/New_York"
TODAY = date(2025, 3, 31)


@pytest.fixture(autouse=True)
def no_env_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FITBIT_SLEEP_TZ", raising=False)


def archive(tmp_path: Path, name: str, *, profile_zone: str | None, days: int = 20, seed: int = 3) -> Path:
    """A MyFitbitData zip of ``days`` nights ending TODAY; with ``profile_zone`` None it has no profile file."""
    logs = generate_history(seed, days, TODAY, LA)
    built = compose_archive(logs, timezone=profile_zone or LA)
    if profile_zone is None:
        del built.members[layout_paths("myfitbitdata")["profile"]]
    return write_archive(built, tmp_path / name).path


def zones_in_tables(paths: StoragePaths) -> set[str]:
    files = [str(p) for p in paths.table_dir("sleep_logs").glob("month=*/*.parquet")]
    return {
        row[0]
        for row in duckdb.connect().execute("SELECT DISTINCT tz FROM read_parquet(?)", [files]).fetchall()
    }


def test_an_archive_without_a_zone_stops_before_landing_anything(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path / "home")
    with pytest.raises(TimezoneUnknown) as error:
        import_archive(paths, archive(tmp_path, "a.zip", profile_zone=None))
    message = str(error.value)
    assert "no profile with a time zone" in message and "--tz" in message and "FITBIT_SLEEP_TZ" in message
    assert not paths.raw_sleep_dir.exists() and not paths.profile_file.exists()


def test_the_zone_comes_from_tz_then_the_profile_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = StoragePaths(tmp_path / "home")
    assert resolve_zone(paths, explicit=NEW_YORK, archive=BERLIN) == (NEW_YORK, "--tz")
    monkeypatch.setenv("FITBIT_SLEEP_TZ", NEW_YORK)
    assert resolve_zone(paths, archive=BERLIN) == (BERLIN, "the archive's profile")
    assert resolve_zone(paths) == (NEW_YORK, "FITBIT_SLEEP_TZ")
    summary = import_archive(paths, archive(tmp_path, "a.zip", profile_zone=None))
    assert (summary.timezone, summary.timezone_source) == (NEW_YORK, "FITBIT_SLEEP_TZ")


def test_the_zone_in_force_is_kept_and_a_new_one_rebuilds_everything(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path / "home")
    first = import_archive(paths, archive(tmp_path, "a.zip", profile_zone=None, days=40), tz=BERLIN)
    assert (first.timezone, first.timezone_source) == (BERLIN, "--tz")
    update_tables(paths, first.changed_dates, tz=first.timezone)
    assert stored_zone(paths) == BERLIN and zones_in_tables(paths) == {BERLIN}
    assert json.loads(paths.profile_file.read_text())["timezone"] == BERLIN  # the partitions follow it

    # a later import of an archive without a profile, no --tz: the zone the tables were built in
    later = import_archive(paths, archive(tmp_path, "b.zip", profile_zone=None, days=60, seed=4))
    assert (later.timezone, later.timezone_source) == (BERLIN, "the zone the tables were built in")
    result = update_tables(paths, later.changed_dates, tz=later.timezone)
    assert not result.rebuilt_all and zones_in_tables(paths) == {BERLIN}

    # the daily run (no zone given) keeps it; asking for another zone rebuilds every month in it
    assert update_tables(paths, [TODAY]).tz == BERLIN
    changed = update_tables(paths, [TODAY], tz=NEW_YORK)
    assert changed.rebuilt_all == f"time zone {BERLIN} -> {NEW_YORK}"
    assert len(changed.months) > 1 and zones_in_tables(paths) == {NEW_YORK}
    assert stored_zone(paths) == NEW_YORK
    # the nights were rebuilt in the new zone too: each bedtime is its first part's start in New York time
    logs = [str(p) for p in paths.table_dir("sleep_logs").glob("month=*/*.parquet")]
    nights = [str(p) for p in paths.table_dir("nights").glob("month=*/*.parquet")]
    mismatched = (
        duckdb.connect()
        .execute(
            "SELECT count(*) FROM read_parquet(?) n JOIN read_parquet(?) l ON l.log_id = n.main_log_ids[1] "
            "WHERE n.bedtime_utc <> l.start_utc",
            [nights, logs],
        )
        .fetchone()
    )
    assert mismatched == (0,)


def test_an_archive_profile_in_another_zone_rebuilds_everything(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path / "home")
    first = import_archive(paths, archive(tmp_path, "a.zip", profile_zone=LA, days=30))
    update_tables(paths, first.changed_dates, tz=first.timezone)
    assert zones_in_tables(paths) == {LA}
    moved = import_archive(paths, archive(tmp_path, "b.zip", profile_zone=BERLIN, days=45))
    assert (moved.timezone, moved.timezone_source) == (BERLIN, "the archive's profile")
    result = update_tables(paths, moved.changed_dates, tz=moved.timezone)
    assert result.rebuilt_all == f"time zone {LA} -> {BERLIN}" and zones_in_tables(paths) == {BERLIN}
