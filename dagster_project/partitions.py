"""The one daily partitioning shared by every daily asset, keyed by Fitbit's ``dateOfSleep``.

Why one object built from configuration: every daily asset in a backfill chain must share the same start date
(dagster#19625), and partition keys must be the user's local dates so that a key equals a ``dateOfSleep``. The time
zone is the one Fitbit reports for the account (saved at login), unless ``FITBIT_SLEEP_TZ`` overrides it.
``end_offset=1`` makes today's partition exist, so last night's sleep (whose ``dateOfSleep`` is today) lands the same
morning.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dagster import DailyPartitionsDefinition

from pipeline.client import MAX_DAYS_PER_CALL
from pipeline.config import ConfigError, Settings, date_setting, partition_timezone
from pipeline.paths import StoragePaths

DEFAULT_HISTORY_DAYS = 730
DEFAULT_LOOKBACK_DAYS = 3
DEFAULT_SCHEDULE_HOUR = 9
MAX_DAYS_PER_RUN = MAX_DAYS_PER_CALL  # the v1.2 sleep range limit: one run = one API call


@dataclass(frozen=True)
class ProjectConfig:
    """What the Dagster layer reads from the environment when the code location loads (nothing secret)."""

    start_date: date
    timezone: str
    lookback_days: int = DEFAULT_LOOKBACK_DAYS
    schedule_hour: int = DEFAULT_SCHEDULE_HOUR
    data_root: str = "data"
    # Pins the project's calendar (FITBIT_SLEEP_TODAY): the last partition and the freshness checks use this date
    # instead of the clock. Tests and reproducible demos set it; None means the real date in ``timezone``.
    today: date | None = None

    def local_today(self) -> date:
        """The user's "today": the pinned date, else the current date in their time zone."""
        return self.today or datetime.now(ZoneInfo(self.timezone)).date()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ProjectConfig:
        env = os.environ if environ is None else environ
        settings = Settings.from_env(env)
        tz = partition_timezone(env, StoragePaths(settings.home))
        today = date_setting(env, "FITBIT_SLEEP_TODAY")
        start = date_setting(env, "FITBIT_SLEEP_START_DATE") or (
            (today or datetime.now(ZoneInfo(tz)).date()) - timedelta(days=DEFAULT_HISTORY_DAYS)
        )
        return cls(
            start_date=start,
            timezone=tz,
            lookback_days=_int_env(
                env, "FITBIT_SLEEP_LOOKBACK_DAYS", DEFAULT_LOOKBACK_DAYS, 0, MAX_DAYS_PER_RUN - 1
            ),
            schedule_hour=_int_env(env, "FITBIT_SLEEP_SCHEDULE_HOUR", DEFAULT_SCHEDULE_HOUR, 0, 23),
            data_root=str(settings.home),
            today=today,
        )


def build_daily_partitions(config: ProjectConfig) -> DailyPartitionsDefinition:
    """Daily keys from the start date through today (``end_offset=1``), stopping at the pinned ``today`` if set.

    Dagster never shows a partition after the machine's today, so a pinned date in the future acts as today."""
    end = (
        config.today + timedelta(days=1) if config.today else None
    )  # exclusive: the pinned day is the last key
    return DailyPartitionsDefinition(
        start_date=config.start_date.isoformat(),
        end_date=end.isoformat() if end else None,
        timezone=config.timezone,
        end_offset=1,
    )


def window_dates(start: datetime, end: datetime) -> tuple[date, date]:
    """Inclusive local dates of a partition time window (whose end is exclusive)."""
    return start.date(), (end - timedelta(days=1)).date()


def _int_env(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number; use a value from {lo} to {hi}.") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={value} is out of range; use a value from {lo} to {hi}.")
    return value
