"""``python -m fitbit_sleep.scale.lake_run``: one ``shared_warehouse_job`` run on the scale instance, as a process.

The cohort demo's last step: the DuckLake warehouse rebuilt from every participant's published tables, recorded in
Postgres like any run. Prints one JSON line (success, the snapshot, the tables rewritten and their rows)."""

from __future__ import annotations

import json


def main() -> int:
    from dagster_project.assets.shared import SHARED_WAREHOUSE_JOB
    from dagster_project.backfill import QUIET_LOGS, _first_failure, cli_instance
    from dagster_project.definitions import build_defs

    defs = build_defs()
    with cli_instance() as instance:
        result = defs.resolve_job_def(SHARED_WAREHOUSE_JOB).execute_in_process(
            instance=instance, run_config=QUIET_LOGS, raise_on_error=False
        )
    report: dict[str, object] = {"run_id": result.run_id, "success": result.success}
    if result.success:
        metadata = result.asset_materializations_for_node("shared_warehouse")[0].metadata
        rewritten = str(metadata["tables_rewritten"].value)
        report.update(
            snapshot_id=metadata["snapshot_id"].value,
            rewritten=[] if rewritten == "none" else rewritten.split(", "),
            rows={k[5:]: v.value for k, v in metadata.items() if k.startswith("rows_")},
        )
    else:
        report["error"] = _first_failure(result)[0]
    print(json.dumps(report), flush=True)
    return 0 if result.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
