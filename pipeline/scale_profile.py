"""The scale profile's settings: one setting (``FITBIT_SLEEP_PROFILE=scale``) away from the embedded default.

Why env only: the same variables reach the CLI, the Dagster webserver, daemon and run workers, and a Kubernetes or
Docker deployment sets them from its secrets; the S3 keys are the standard ``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY`` (never argv, never run config, never in a ``repr``). docs/scale.md lists every variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from pipeline.config import ConfigError

PROFILES = ("embedded", "scale")


@dataclass(frozen=True)
class ScaleSettings:
    """Where the scale profile keeps its state: Dagster's and the lake catalog's Postgres, and the S3 bucket."""

    dagster_pg_url: str  # FITBIT_SLEEP_PG_URL: Dagster's run/event/schedule storage
    lake_catalog: str  # FITBIT_SLEEP_LAKE_CATALOG: libpq key=value string of the DuckLake catalog database
    s3_endpoint: str  # FITBIT_SLEEP_S3_ENDPOINT: http(s)://host:port ("" = AWS's own endpoint)
    s3_bucket: str  # FITBIT_SLEEP_S3_BUCKET
    s3_region: str = "us-east-1"
    access_key: str = field(default="", repr=False)
    secret_key: str = field(default="", repr=False)

    @property
    def lake_data_path(self) -> str:
        """Where DuckLake writes its Parquet files: next to the published raw data, in the same bucket."""
        return f"s3://{self.s3_bucket}/lake/"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ScaleSettings:
        env = os.environ if environ is None else environ
        missing = [
            name
            for name in (
                "FITBIT_SLEEP_PG_URL",
                "FITBIT_SLEEP_LAKE_CATALOG",
                "FITBIT_SLEEP_S3_BUCKET",
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
            )
            if not env.get(name, "").strip()
        ]
        if missing:
            raise ConfigError(
                f"FITBIT_SLEEP_PROFILE=scale needs {', '.join(missing)}; see docs/scale.md (or run "
                "`fitbit-sleep cohort demo`, which starts Postgres and SeaweedFS and sets them)."
            )
        return cls(
            dagster_pg_url=env["FITBIT_SLEEP_PG_URL"].strip(),
            lake_catalog=env["FITBIT_SLEEP_LAKE_CATALOG"].strip(),
            s3_endpoint=env.get("FITBIT_SLEEP_S3_ENDPOINT", "").strip().rstrip("/"),
            s3_bucket=env["FITBIT_SLEEP_S3_BUCKET"].strip(),
            s3_region=env.get("FITBIT_SLEEP_S3_REGION", "").strip() or "us-east-1",
            access_key=env["AWS_ACCESS_KEY_ID"].strip(),
            secret_key=env["AWS_SECRET_ACCESS_KEY"].strip(),
        )


def participant_id(environ: Mapping[str, str] | None = None) -> str:
    """``FITBIT_SLEEP_PARTICIPANT``: whose data root this process runs (default ``default``, the single user).

    The id names the participant's prefix in the bucket and a run tag; letters, digits, ``-`` and ``_`` only."""
    env = os.environ if environ is None else environ
    pid = env.get("FITBIT_SLEEP_PARTICIPANT", "").strip() or "default"
    if not pid.replace("-", "").replace("_", "").isalnum() or len(pid) > 64:
        raise ConfigError(
            f"FITBIT_SLEEP_PARTICIPANT={pid!r} is not a participant id: use letters, digits, - and _ (at most 64)."
        )
    return pid


def active_profile(environ: Mapping[str, str] | None = None) -> str:
    """``FITBIT_SLEEP_PROFILE``: ``embedded`` (default: SQLite, local files) or ``scale``."""
    env = os.environ if environ is None else environ
    profile = env.get("FITBIT_SLEEP_PROFILE", "").strip() or "embedded"
    if profile not in PROFILES:
        raise ConfigError(f"FITBIT_SLEEP_PROFILE={profile!r} is not a profile; use embedded or scale.")
    return profile


def scale_settings(environ: Mapping[str, str] | None = None) -> ScaleSettings | None:
    """The scale settings when the scale profile is on, else None (the embedded default)."""
    if active_profile(environ) != "scale":
        return None
    return ScaleSettings.from_env(environ)
