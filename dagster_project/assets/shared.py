"""The scale profile's assets (FITBIT_SLEEP_PROFILE=scale; docs/scale.md): the data root published to S3, and the
shared warehouse (DuckLake on the Postgres catalog) built from everything every participant published.

Why two assets: publishing belongs to a participant's data root (the process that wrote it), the lake to the cohort
(one writer, any machine). Both are unpartitioned whole-history assets after the tables, like the warehouse.
"""

from typing import Any

from dagster import AssetExecutionContext, MaterializeResult, asset

from dagster_project.assets.warehouse import WAREHOUSE_GROUP, whole_history_condition
from dagster_project.resources import StorageResource

# A run of a process whose whole data root is one participant (the cohort demo's workers, FITBIT_SLEEP_PARTICIPANT).
# Not fitbit_sleep/participant: that tag names one participant *inside* a cohort root (docs/participants.md), and
# raw_sleep would look that id up in the root's registry.
PARTICIPANT_ROOT_TAG = "fitbit_sleep/participant_root"
SHARED_WAREHOUSE_TAG = "fitbit_sleep/shared_warehouse"


def build_shared_assets(deps: list[Any]) -> list[Any]:
    @asset(
        name="published_data",
        group_name=WAREHOUSE_GROUP,
        deps=deps,
        automation_condition=whole_history_condition(),
        kinds={"s3"},
        description=(
            "Each participant's raw JSON and Parquet tables (the data root's own and every participants/<id>/ "
            "below it) copied to s3://<bucket>/participants/<id>/ where their content changed (a sha256 manifest; "
            "unchanged files are skipped, files gone locally are deleted)."
        ),
    )
    def published_data(context: AssetExecutionContext, storage: StorageResource) -> MaterializeResult:
        from pipeline.object_store import participant_roots, publish_root, s3_filesystem
        from pipeline.scale_profile import ScaleSettings, participant_id

        settings = ScaleSettings.from_env()
        s3 = s3_filesystem(settings.s3_endpoint, settings.access_key, settings.secret_key, settings.s3_region)
        totals = {"uploaded": 0, "unchanged": 0, "deleted": 0, "bytes_uploaded": 0}
        roots = participant_roots(storage.paths().root, participant_id())
        for pid, root in roots.items():
            result = publish_root(root, s3, settings.s3_bucket, f"participants/{pid}")
            for key in totals:
                totals[key] += getattr(result, key)
        return MaterializeResult(
            metadata={
                "participants": ", ".join(roots) or "none",
                "files_uploaded": totals["uploaded"],
                "files_unchanged": totals["unchanged"],
                "files_deleted": totals["deleted"],
                "bytes_uploaded": totals["bytes_uploaded"],
            }
        )

    @asset(
        name="shared_warehouse",
        group_name=WAREHOUSE_GROUP,
        deps=[published_data],
        automation_condition=whole_history_condition(),
        kinds={"ducklake"},
        description=(
            "DuckLake (catalog in Postgres, data on S3) with every participant's tables and a participant_id "
            "column; a table is rewritten only when its published inputs changed. Readers on any machine query "
            "it while it updates (each sees the last committed snapshot)."
        ),
    )
    def shared_warehouse(context: AssetExecutionContext) -> MaterializeResult:
        from pipeline.lake import build_lake
        from pipeline.scale_profile import ScaleSettings

        result = build_lake(ScaleSettings.from_env())
        metadata: dict[str, Any] = {
            "participants": len(result.participants),
            "tables_rewritten": ", ".join(result.rewritten) or "none",
            "snapshot_id": result.snapshot_id if result.snapshot_id is not None else -1,
        }
        metadata.update({f"rows_{name}": rows for name, rows in result.rows.items()})
        return MaterializeResult(metadata=metadata)

    return [published_data, shared_warehouse]


PUBLISH_JOB = "publish_job"
SHARED_WAREHOUSE_JOB = "shared_warehouse_job"


def build_shared_jobs(published_data: Any, shared_warehouse: Any) -> list[Any]:
    """The two scale jobs; the shared warehouse's runs carry the tag the scale instance limits to one at a time."""
    from dagster import AssetSelection, define_asset_job

    return [
        define_asset_job(
            PUBLISH_JOB,
            selection=AssetSelection.assets(published_data),
            description="Publish this data root's raw and table files to the bucket (changed files only).",
        ),
        define_asset_job(
            SHARED_WAREHOUSE_JOB,
            selection=AssetSelection.assets(shared_warehouse),
            tags={SHARED_WAREHOUSE_TAG: "lake"},
            description="Rebuild the shared DuckLake warehouse from every participant's published tables.",
        ),
    ]
