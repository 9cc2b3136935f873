"""The shared daily partitioning: start date, time zone and today's partition come from configuration."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dagster_project.partitions import ProjectConfig, build_daily_partitions, window_dates
from pipeline.config import ConfigError


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {"FITBIT_SLEEP_HOME": str(home), **extra}


def test_defaults_are_two_years_back_in_utc_when_nobody_logged_in(tmp_path: Path) -> None:
    config = ProjectConfig.from_env(_env(tmp_path))
    assert config.timezone == "UTC"
    assert config.start_date == datetime.now(ZoneInfo("UTC")).date() - timedelta(days=730)
    assert config.lookback_days == 3


def test_the_time_zone_comes_from_the_profile_saved_at_login(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "profile.json").write_text(
        json.dumps({"user_id": "U1", "timezone": "Asia/Tokyo", "offset_from_utc_millis": 32400000})
    )
    assert ProjectConfig.from_env(_env(tmp_path)).timezone == "Asia/Tokyo"
    # the environment overrides the profile; a bogus zone in the profile is ignored
    assert ProjectConfig.from_env(_env(tmp_path, FITBIT_SLEEP_TZ="Europe/Berlin")).timezone == "Europe/Berlin"
    (tmp_path / "state" / "profile.json").write_text(json.dumps({"timezone": "Mars/Olympus"}))
    assert ProjectConfig.from_env(_env(tmp_path)).timezone == "UTC"


def test_start_date_and_lookback_are_configurable_and_validated(tmp_path: Path) -> None:
    config = ProjectConfig.from_env(
        _env(tmp_path, FITBIT_SLEEP_START_DATE="2021-03-04", FITBIT_SLEEP_LOOKBACK_DAYS="5")
    )
    assert (config.start_date, config.lookback_days) == (date(2021, 3, 4), 5)
    with pytest.raises(ConfigError, match="FITBIT_SLEEP_START_DATE"):
        ProjectConfig.from_env(_env(tmp_path, FITBIT_SLEEP_START_DATE="March"))
    with pytest.raises(ConfigError, match="FITBIT_SLEEP_LOOKBACK_DAYS"):
        ProjectConfig.from_env(_env(tmp_path, FITBIT_SLEEP_LOOKBACK_DAYS="100"))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FITBIT_SLEEP_START_DATE", "2025-13-01"),
        ("FITBIT_SLEEP_LOOKBACK_DAYS", "abc"),
        ("FITBIT_SLEEP_SCHEDULE_HOUR", "24"),
        ("FITBIT_SLEEP_TZ", "Mars/Olympus"),
    ],
)
def test_a_bad_setting_is_a_config_error_naming_it_never_silently_replaced(
    tmp_path: Path, name: str, value: str
) -> None:
    with pytest.raises(ConfigError) as info:
        ProjectConfig.from_env(_env(tmp_path, **{name: value}))
    message = str(info.value)
    assert message.startswith(f"{name}={value!r}") or message.startswith(f"{name}={value}")
    assert "\n" not in message and "use" in message


def test_todays_partition_exists_in_the_users_time_zone(tmp_path: Path) -> None:
    config = ProjectConfig(start_date=date(2024, 1, 1), timezone="Pacific/Auckland")
    keys = build_daily_partitions(config).get_partition_keys()
    assert keys[0] == "2024-01-01"
    assert keys[-1] == datetime.now(ZoneInfo("Pacific/Auckland")).date().isoformat()


def test_a_pinned_today_is_the_last_partition_and_the_freshness_checks_today(tmp_path: Path) -> None:
    config = ProjectConfig.from_env(
        _env(tmp_path, FITBIT_SLEEP_TODAY="2024-03-31", FITBIT_SLEEP_TZ="Europe/Berlin")
    )
    assert config.today == date(2024, 3, 31) and config.local_today() == date(2024, 3, 31)
    assert config.start_date == date(2024, 3, 31) - timedelta(days=730)
    keys = build_daily_partitions(config).get_partition_keys()
    assert (keys[0], keys[-1], len(keys)) == ("2022-04-01", "2024-03-31", 731)
    with pytest.raises(ConfigError, match="FITBIT_SLEEP_TODAY"):
        ProjectConfig.from_env(_env(tmp_path, FITBIT_SLEEP_TODAY="tomorrow"))


def test_window_dates_turns_the_exclusive_end_into_an_inclusive_date() -> None:
    tz = ZoneInfo("America/Los_Angeles")
    assert window_dates(datetime(2024, 3, 9, tzinfo=tz), datetime(2024, 3, 12, tzinfo=tz)) == (
        date(2024, 3, 9),
        date(2024, 3, 11),
    )
