"""Helpers shared by the Dagster tests: project definitions bound to a temp data root and a sandbox."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dagster import Definitions

from dagster_project.definitions import build_defs
from dagster_project.partitions import ProjectConfig
from dagster_project.resources import FitbitResource, StorageResource

SANDBOX_TZ = "America/Los_Angeles"


def today_in(tz: str = SANDBOX_TZ) -> date:
    return datetime.now(ZoneInfo(tz)).date()


def project_defs(
    home: Path,
    sandbox: Any | None = None,
    *,
    tz: str = SANDBOX_TZ,
    history_days: int = 400,
    lookback: int = 3,
) -> Definitions:
    """Definitions whose resources point at ``home`` and (if given) a sandbox; no environment is read."""
    config = ProjectConfig(
        start_date=today_in(tz) - timedelta(days=history_days),
        timezone=tz,
        lookback_days=lookback,
        data_root=str(home),
    )
    fitbit = FitbitResource(
        client_id=sandbox.config.client_id if sandbox else "unused",
        client_secret=sandbox.config.client_secret if sandbox else "unused",
        api_url=sandbox.base_url if sandbox else "http://127.0.0.1:9",
        auth_url=sandbox.base_url if sandbox else "http://127.0.0.1:9",
    )
    return build_defs(config, resources={"storage": StorageResource(root=str(home)), "fitbit": fitbit})
