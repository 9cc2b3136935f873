"""The scale profile's settings (pipeline/scale_profile.py): one setting away from the embedded default, every
missing or bad value a one-line ConfigError that names the variable, and the keys never in a repr."""

from __future__ import annotations

import pytest

from pipeline.config import ConfigError
from pipeline.scale_profile import ScaleSettings, active_profile, participant_id, scale_settings

FULL = {
    "FITBIT_SLEEP_PROFILE": "scale",
    "FITBIT_SLEEP_PG_URL": "postgresql+psycopg2://u@127.0.0.1:5432/dagster",
    "FITBIT_SLEEP_LAKE_CATALOG": "dbname=fitbit_lake host=127.0.0.1 user=u",
    "FITBIT_SLEEP_S3_ENDPOINT": "http://127.0.0.1:8333/",
    "FITBIT_SLEEP_S3_BUCKET": "cohort",
    "AWS_ACCESS_KEY_ID": "key-id-123",
    "AWS_SECRET_ACCESS_KEY": "very-secret-456",
}


def test_embedded_is_the_default_and_needs_nothing() -> None:
    assert active_profile({}) == "embedded"
    assert scale_settings({}) is None


def test_scale_settings_from_env_hide_the_keys() -> None:
    settings = scale_settings(FULL)
    assert settings is not None
    assert settings.s3_endpoint == "http://127.0.0.1:8333"  # trailing slash dropped
    assert settings.lake_data_path == "s3://cohort/lake/"
    assert settings.s3_region == "us-east-1"
    assert "very-secret-456" not in repr(settings) and "key-id-123" not in repr(settings)


def test_missing_settings_are_named_in_one_line() -> None:
    env = {k: v for k, v in FULL.items() if k not in ("FITBIT_SLEEP_S3_BUCKET", "AWS_SECRET_ACCESS_KEY")}
    with pytest.raises(ConfigError) as err:
        ScaleSettings.from_env(env)
    message = str(err.value)
    assert "FITBIT_SLEEP_S3_BUCKET" in message and "AWS_SECRET_ACCESS_KEY" in message
    assert "\n" not in message and "docs/scale.md" in message


def test_bad_profile_and_participant_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match="not a profile"):
        active_profile({"FITBIT_SLEEP_PROFILE": "cluster"})
    assert participant_id({}) == "default"
    assert participant_id({"FITBIT_SLEEP_PARTICIPANT": "p-01_a"}) == "p-01_a"
    with pytest.raises(ConfigError, match="not a participant id"):
        participant_id({"FITBIT_SLEEP_PARTICIPANT": "../etc"})


def test_scale_profile_adds_the_publish_and_shared_warehouse_assets(monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster_project.definitions import build_defs
    from dagster_project.partitions import ProjectConfig

    monkeypatch.setenv("FITBIT_SLEEP_PROFILE", "embedded")
    config = ProjectConfig.from_env()
    embedded = {key.to_user_string() for key in build_defs(config).resolve_asset_graph().get_all_asset_keys()}
    monkeypatch.setenv("FITBIT_SLEEP_PROFILE", "scale")
    scale = build_defs(config)
    keys = {key.to_user_string() for key in scale.resolve_asset_graph().get_all_asset_keys()}
    assert keys - embedded == {"published_data", "shared_warehouse"}
    assert scale.resolve_job_def("shared_warehouse_job").tags["fitbit_sleep/shared_warehouse"] == "lake"
