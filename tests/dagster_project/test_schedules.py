"""The daily schedule: the morning tick requests today plus the lookback (plus still-pending dates) as one run."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from dagster import DagsterInstance, build_schedule_context

from dagster_project.checks import RANGE_END_TAG, RANGE_START_TAG
from dagster_project.partitions import ProjectConfig
from dagster_project.resources import StorageResource
from dagster_project.schedules import daily_window
from pipeline.landing import land_day
from pipeline.paths import StoragePaths
from tests.dagster_project.dagster_helpers import project_defs

TZ = "America/Los_Angeles"


def _tick(home: Path, moment: datetime, **kwargs: object) -> list:
    defs = project_defs(home, tz=TZ, **kwargs)  # type: ignore[arg-type]
    schedule = defs.resolve_schedule_def("sleep_daily_schedule")
    with DagsterInstance.ephemeral() as instance:
        context = build_schedule_context(
            instance=instance,
            scheduled_execution_time=moment,
            resources={"storage": StorageResource(root=str(home))},
        )
        return list(schedule.evaluate_tick(context).run_requests or [])


def test_schedule_runs_in_the_morning_of_the_users_time_zone_and_is_on_by_default(tmp_path: Path) -> None:
    schedule = project_defs(tmp_path, tz=TZ).resolve_schedule_def("sleep_daily_schedule")
    assert schedule.cron_schedule == "0 9 * * *"
    assert schedule.execution_timezone == TZ
    assert schedule.default_status.value == "RUNNING"
    assert schedule.job_name == "sleep_daily_job"


def test_the_morning_tick_requests_today_and_the_lookback_as_one_range_run(tmp_path: Path) -> None:
    # 09:00 in Los Angeles on 2026-11-20 is 17:00 UTC: "today" must be the local date
    moment = datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo(TZ))
    requests = _tick(tmp_path, moment.astimezone(UTC))
    assert len(requests) == 1
    tags = requests[0].tags
    assert (tags[RANGE_START_TAG], tags[RANGE_END_TAG]) == ("2026-11-17", "2026-11-20")
    assert requests[0].run_key == "daily-2026-11-20"
    assert requests[0].partition_key is None


def test_lookback_is_configurable(tmp_path: Path) -> None:
    moment = datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo(TZ))
    requests = _tick(tmp_path, moment, lookback=7)
    assert requests[0].tags[RANGE_START_TAG] == "2026-11-13"


def test_a_date_still_pending_from_earlier_widens_the_window_until_it_is_final(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    today = date(2026, 11, 20)
    config = ProjectConfig(start_date=date(2025, 1, 1), timezone=TZ, lookback_days=3)
    fetched = datetime(2026, 11, 10, tzinfo=UTC)
    log = {"logId": 1, "dateOfSleep": "2026-11-09"}
    land_day(paths, date(2026, 11, 9), [log], source="api", source_ref="t", fetched_at=fetched, pending=True)
    land_day(paths, date(2026, 11, 8), [], source="api", source_ref="t", fetched_at=fetched)
    assert daily_window(paths, today, config) == (date(2026, 11, 9), today)
    land_day(paths, date(2026, 11, 9), [log], source="api", source_ref="t", fetched_at=fetched)  # now final
    assert daily_window(paths, today, config) == (date(2026, 11, 17), today)
    # a pending date older than one API call (100 days) is left to a manual backfill
    land_day(
        paths, today - timedelta(days=150), [], source="api", source_ref="t", fetched_at=fetched, pending=True
    )
    assert daily_window(paths, today, config) == (date(2026, 11, 17), today)


def test_the_window_never_starts_before_the_first_partition(tmp_path: Path) -> None:
    config = ProjectConfig(start_date=date(2026, 11, 19), timezone=TZ, lookback_days=3)
    assert daily_window(StoragePaths(tmp_path), date(2026, 11, 20), config) == (
        date(2026, 11, 19),
        date(2026, 11, 20),
    )
