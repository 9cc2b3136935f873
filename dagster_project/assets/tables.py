"""The tables asset: month-compacted Parquet (sleep_logs, sleep_segments, nights, quarantine, sleep_scores).

Why partitioned like the landing: a run replaces exactly the dates it landed (date-set replacement in
``pipeline.tables``), so re-running a range is idempotent and overlapping backfills cannot duplicate logs.
"""

from datetime import timedelta
from typing import Any

from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    DailyPartitionsDefinition,
    MaterializeResult,
    asset,
)

from dagster_project.assets.metadata import scalar_facts
from dagster_project.partitions import MAX_DAYS_PER_RUN, window_dates
from dagster_project.resources import StorageResource

TABLES_GROUP = "tables"


def build_sleep_tables(partitions_def: DailyPartitionsDefinition, raw_sleep: Any):  # type: ignore[no-untyped-def]
    @asset(
        name="sleep_tables",
        group_name=TABLES_GROUP,
        partitions_def=partitions_def,
        deps=[raw_sleep],
        backfill_policy=BackfillPolicy.multi_run(max_partitions_per_run=MAX_DAYS_PER_RUN),
        kinds={"parquet"},
        description=(
            "Parquet tables under tables/<name>/month=YYYY-MM/ built from the raw landing: sleep_logs (one row "
            "per log_id), sleep_segments, nights (main sleep + naps per night), quarantine (records that failed "
            "validation) and sleep_scores. A run replaces exactly the dates of its window."
        ),
    )
    def sleep_tables(context: AssetExecutionContext, storage: StorageResource) -> MaterializeResult:
        from pipeline.tables import update_tables

        start, end = window_dates(*context.partition_time_window)
        dates = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        result = update_tables(storage.paths(), dates)
        metadata: dict[str, Any] = {
            "run_first_date": start.isoformat(),
            "run_last_date": end.isoformat(),
            **window_counts(storage.paths(), start, end),
        }
        return MaterializeResult(metadata={**metadata, **scalar_facts(result, prefix="run_")})

    return sleep_tables


def window_counts(paths: Any, start: Any, end: Any) -> dict[str, int]:
    """Main sleeps and naps dated inside the run window (read back from the tables just written)."""
    from pipeline.checks import tables_connection

    with tables_connection(paths) as con:
        cols = {r[0] for r in con.execute("DESCRIBE sleep_logs").fetchall()}
        if "is_main_sleep" not in cols:
            return {"run_main_sleeps": 0, "run_naps": 0}
        main, naps = con.execute(
            "SELECT count(*) FILTER (WHERE is_main_sleep), count(*) FILTER (WHERE NOT is_main_sleep) "
            "FROM sleep_logs WHERE date_of_sleep BETWEEN ? AND ?",
            [start, end],
        ).fetchone() or (0, 0)
    return {"run_main_sleeps": int(main), "run_naps": int(naps)}
