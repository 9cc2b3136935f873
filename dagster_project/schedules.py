"""The daily schedule: every morning in the user's time zone, one run fetches today plus a lookback.

Why a lookback in the same run: Fitbit data arrives late (the phone syncs when the app is opened), logs can be
edited or stitched, and the API marks fresh logs 'pending'. Re-fetching the last few dates every morning picks all
of that up, and because the window is at most 100 days it is still ONE API call. Dates still pending from earlier
(older than the lookback) widen the window so they are retried until final. The run covers a partition range (the
``dagster/asset_partition_range_*`` tags), exactly like a backfill run.
"""

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from dagster_project.checks import RANGE_END_TAG, RANGE_START_TAG
from dagster_project.jobs import DAILY_JOB
from dagster_project.partitions import MAX_DAYS_PER_RUN, ProjectConfig
from dagster_project.resources import StorageResource
from pipeline.paths import StoragePaths


def daily_window(paths: StoragePaths, today: date, config: ProjectConfig) -> tuple[date, date]:
    """The inclusive window the morning run fetches: ``today - lookback .. today``, widened back to the oldest
    still-pending date of the last 100 days of any active participant, never before the first partition."""
    from pipeline.landing import read_header
    from pipeline.participants import to_fetch

    first = max(config.start_date, today - timedelta(days=config.lookback_days))
    oldest_allowed = max(config.start_date, today - timedelta(days=MAX_DAYS_PER_RUN - 1))
    for participant in to_fetch(paths):
        own = paths.participant(participant.id)
        day = oldest_allowed
        while day < first:
            path = own.raw_sleep_file(day)
            if path.exists() and read_header(path).state == "pending":
                first = day
                break
            day += timedelta(days=1)
    return first, today


def build_daily_schedule(config: ProjectConfig, job: Any):  # type: ignore[no-untyped-def]
    @schedule(
        name="sleep_daily_schedule",
        cron_schedule=f"0 {config.schedule_hour} * * *",
        execution_timezone=config.timezone,
        job=job,
        default_status=DefaultScheduleStatus.RUNNING,
        description=(
            f"Every day at {config.schedule_hour:02d}:00 ({config.timezone}): fetch today's partition and the "
            f"previous {config.lookback_days} days (FITBIT_SLEEP_LOOKBACK_DAYS) plus any still-pending date, in "
            "one run and one API call. Warehouse, plots and report follow by automation."
        ),
    )
    def sleep_daily_schedule(context: ScheduleEvaluationContext, storage: StorageResource) -> RunRequest:
        moment = context.scheduled_execution_time
        today = moment.astimezone(ZoneInfo(config.timezone)).date()
        start, end = daily_window(storage.paths(), today, config)
        return RunRequest(
            run_key=f"daily-{today.isoformat()}",
            job_name=DAILY_JOB,
            tags={
                RANGE_START_TAG: start.isoformat(),
                RANGE_END_TAG: end.isoformat(),
                "fitbit_sleep/trigger": "daily",
            },
        )

    return sleep_daily_schedule
