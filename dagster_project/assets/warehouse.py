"""The warehouse asset, and the automation rule every whole-history asset (warehouse, plots, report) follows.

Why an automation condition instead of a job on the schedule: the warehouse must also catch up after a UI backfill
or an archive import, which no schedule knows about. The rule is ``eager()`` without its "no dependency may be
missing" clause: eager alone would wait forever for the one historical day that was never fetched (dagster-notes
§4). ``since_last_handled`` plus "not while a dependency is in progress" means a 200-day backfill of two runs
triggers one rebuild after its last run, and the daily run triggers exactly one. Dependencies requested on the same
tick count as updated, so warehouse -> plots -> report go in one automation run.
"""

from typing import Any

from dagster import AssetExecutionContext, AutomationCondition, MaterializeResult, asset

from dagster_project.assets.metadata import scalar_facts
from dagster_project.resources import StorageResource

WAREHOUSE_GROUP = "warehouse"


def whole_history_condition() -> AutomationCondition:
    return (
        AutomationCondition.eager()
        .without(~AutomationCondition.any_deps_missing())
        .with_label("after any upstream update, once")
    )


def build_warehouse(deps: list[Any]):  # type: ignore[no-untyped-def]
    @asset(
        name="warehouse",
        group_name=WAREHOUSE_GROUP,
        deps=deps,
        pool="duckdb",
        automation_condition=whole_history_condition(),
        kinds={"duckdb"},
        description=(
            "warehouse.duckdb, rebuilt from the Parquet tables with sql/warehouse.sql into a new file and swapped "
            "in atomically, so a reader holding it open (duckdb -readonly) never blocks the rebuild; segments, "
            "heart rate and bouts are views over Parquet parts rewritten only where they changed (bytes_written). "
            "Updates itself after the daily run, a backfill or an import."
        ),
    )
    def warehouse(context: AssetExecutionContext, storage: StorageResource) -> MaterializeResult:
        from pipeline.warehouse import build_warehouse as build

        result = build(storage.paths())
        return MaterializeResult(metadata=scalar_facts(result))

    return warehouse
