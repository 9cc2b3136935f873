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
from dagster_project.assets.raw import run_participants
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
        from pipeline.participants import participant_tz
        from pipeline.tables import update_tables

        start, end = window_dates(*context.partition_time_window)
        dates = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        paths = storage.paths()
        people = run_participants(paths, context.run.tags)
        result = None
        for own in people:
            result = update_tables(own, dates, tz=participant_tz(own))
        metadata: dict[str, Any] = {
            "run_first_date": start.isoformat(),
            "run_last_date": end.isoformat(),
            **table_counts(people),
        }
        # one participant: its table facts as before; a cohort: the counts only (facts are per participant)
        return MaterializeResult(
            metadata={
                **metadata,
                **(scalar_facts(result, prefix="run_") if len(people) == 1 and result else {}),
            }
        )

    return sleep_tables


def table_counts(people: list[Any]) -> dict[str, int]:
    """Nights, main sleeps and naps in the tables after this run (sql/queries/counts.sql, as every summary),
    summed over the run's participants."""
    from pipeline.checks import tables_connection
    from pipeline.warehouse import count_nights

    totals = {"tables_nights": 0, "tables_main_sleeps": 0, "tables_naps": 0}
    for paths in people:
        with tables_connection(paths) as con:
            if "main_log_id" not in {r[0] for r in con.execute("DESCRIBE nights").fetchall()}:
                continue
            for key, value in count_nights(con).items():
                totals[f"tables_{key}"] += value
    return totals
