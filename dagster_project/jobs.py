"""Asset jobs: what the schedule, the sensors and the CLI launch.

Why so few: the daily-partitioned chain (landing + tables, with their checks) is the only thing a schedule or a
backfill starts by hand; everything whole-history follows by automation.
"""

from __future__ import annotations

from typing import Any

from dagster import AssetSelection, define_asset_job

DAILY_JOB = "sleep_daily_job"
IMPORT_JOB = "archive_import_job"
TOKEN_HEALTH_JOB = "token_health_job"
WHOLE_HISTORY_JOB = "whole_history_job"


def build_jobs(
    daily_assets: list[Any],
    sleep_tables: Any,
    archive_import: Any,
    token_health_check: Any,
    whole_history: AssetSelection,
) -> list[Any]:
    daily = define_asset_job(
        DAILY_JOB,
        selection=AssetSelection.assets(*daily_assets),
        description="Fetch a window of dates from Fitbit (sleep: one call per <=100 days; the physiology the login "
        "grants), land it, update the tables; the checks on these assets run with it.",
    )
    imports = define_asset_job(
        IMPORT_JOB,
        selection=AssetSelection.assets(archive_import) | AssetSelection.checks_for_assets(sleep_tables),
        description="Import one export / Takeout archive from the drop folder; the table checks run after it.",
    )
    token = define_asset_job(
        TOKEN_HEALTH_JOB,
        selection=AssetSelection.checks(token_health_check),
        description="Only the token-health check (launched by the token-health sensor).",
    )
    rebuild = define_asset_job(
        WHOLE_HISTORY_JOB,
        selection=whole_history,
        description="Warehouse, plots and report in one run (the CLI backfill runs it once at the end; automation "
        "does the same by itself).",
    )
    return [daily, imports, token, rebuild]
