"""The single Dagster ``Definitions`` of the project (code location ``fitbit_sleep``).

Why a builder: the partitioning (start date, time zone), the schedule hour and the lookback come from the
environment when the code location loads; tests build their own ``Definitions`` from an explicit
``ProjectConfig`` and resources pointing at a temp data root and a sandbox, without reloading modules.

Runs use the in-process executor: a run's steps are sequential anyway (one API caller, one warehouse writer), and a
subprocess per step would cost more than most steps take. Run-level concurrency is the instance's job
(dagster.yaml).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from dagster import AssetCheckKey, AssetSelection, BetaWarning, Definitions, definitions, in_process_executor

from dagster_project.assets.imports import build_archive_import
from dagster_project.assets.physiology import build_physiology_tables, build_raw_physiology
from dagster_project.assets.plots import build_plots, build_report_asset
from dagster_project.assets.raw import build_raw_sleep
from dagster_project.assets.shared import build_shared_assets, build_shared_jobs
from dagster_project.assets.tables import build_sleep_tables
from dagster_project.assets.warehouse import build_warehouse
from dagster_project.checks import build_checks
from dagster_project.jobs import build_jobs
from dagster_project.partitions import ProjectConfig, build_daily_partitions
from dagster_project.resources import default_resources
from dagster_project.schedules import build_daily_schedule
from dagster_project.sensors import (
    build_automation_sensor,
    imports_drop_folder,
    stuck_runs_sensor,
    token_health_sensor,
)
from pipeline.scale_profile import active_profile


def build_defs(
    config: ProjectConfig | None = None, resources: Mapping[str, Any] | None = None
) -> Definitions:
    config = config or ProjectConfig.from_env()
    daily = build_daily_partitions(config)
    with warnings.catch_warnings():
        # backfill_policy is beta in 1.13; it is the documented way to get ≤100-day runs (see the docstring)
        warnings.simplefilter("ignore", BetaWarning)
        raw_sleep = build_raw_sleep(daily)
        sleep_tables = build_sleep_tables(daily, raw_sleep)
        raw_physiology = build_raw_physiology(daily)
        physiology_tables = build_physiology_tables(daily, raw_physiology)
    archive_import = build_archive_import(daily)
    warehouse = build_warehouse([sleep_tables, physiology_tables, archive_import])
    plots = build_plots(warehouse)
    report = build_report_asset(plots)
    daily_assets = {
        "raw_sleep": raw_sleep,
        "sleep_tables": sleep_tables,
        "raw_physiology": raw_physiology,
        "physiology_tables": physiology_tables,
    }
    checks = build_checks(daily_assets, config.local_today, archive_import)
    token_check = AssetCheckKey(raw_sleep.key, "token_health")
    whole_history = AssetSelection.assets(warehouse, plots, report)
    jobs = build_jobs(list(daily_assets.values()), sleep_tables, archive_import, token_check, whole_history)
    daily_job = jobs[0]
    assets = [
        raw_sleep,
        sleep_tables,
        raw_physiology,
        physiology_tables,
        archive_import,
        warehouse,
        plots,
        report,
    ]
    if active_profile() == "scale":  # docs/scale.md: publish to S3, the shared DuckLake warehouse
        shared = build_shared_assets([sleep_tables, archive_import])
        assets += shared
        jobs += build_shared_jobs(*shared)
    return Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=jobs,
        schedules=[build_daily_schedule(config, daily_job)],
        sensors=[
            build_automation_sensor(whole_history),
            imports_drop_folder,
            token_health_sensor,
            stuck_runs_sensor,
        ],
        resources=dict(resources) if resources is not None else default_resources(),
        executor=in_process_executor,
    )


@definitions
def defs() -> Definitions:
    """The code location's entry point, loaded when Dagster asks for it and not on import: the CLI imports
    ``build_defs`` from here and reports a bad setting (``ConfigError``) in one line instead of an import traceback."""
    return build_defs()
