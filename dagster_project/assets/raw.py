"""The raw landing asset: one v1.2 sleep range call per run, written to ``raw/sleep/date=D.json``.

Why this shape: ``multi_run(100)`` makes every backfill run cover at most 100 days, the API's range limit, so a run
is exactly one API call; the ``fitbit_api`` pool (limit 1) means one caller, one token refresh and one quota at a
time. The run window comes from ``partition_time_window`` because a range run has no single ``partition_key``.
"""

from typing import Any

from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    Backoff,
    DailyPartitionsDefinition,
    Failure,
    Jitter,
    MaterializeResult,
    RetryPolicy,
    asset,
)

from dagster_project.partitions import MAX_DAYS_PER_RUN, window_dates
from dagster_project.resources import FitbitResource, StorageResource
from pipeline.errors import ApiUnreachable, FitbitSleepError, FitbitUnavailable
from pipeline.text import plural

RAW_GROUP = "landing"


def api_asset_options(partitions_def: DailyPartitionsDefinition) -> dict[str, Any]:
    """What every daily asset that calls the API shares: the partitions, ≤100-day runs, the ``fitbit_api`` pool
    (one caller, one token refresh, one quota at a time) and step retries for transient failures."""
    return {
        "group_name": RAW_GROUP,
        "partitions_def": partitions_def,
        "backfill_policy": BackfillPolicy.multi_run(max_partitions_per_run=MAX_DAYS_PER_RUN),
        "pool": "fitbit_api",
        "retry_policy": RetryPolicy(
            max_retries=2, delay=30, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
        ),
        "kinds": {"api", "json"},
    }


def api_failure(exc: FitbitSleepError) -> Failure:
    """The step failure for a pipeline error: 410 Gone, a lost login, a missing scope, a bad setting, a bad request or
    a server nobody answers at do not get better by retrying the step; transient failures (5xx, timeouts) were
    already retried inside the client, so step retries are still allowed for them. The class name lets the CLI
    backfill choose its advice (no "resume" after 410)."""
    final = not isinstance(exc, FitbitUnavailable) or isinstance(exc, ApiUnreachable)
    return Failure(description=str(exc), metadata={"error": type(exc).__name__}, allow_retries=not final)


def build_raw_sleep(partitions_def: DailyPartitionsDefinition):  # type: ignore[no-untyped-def]
    @asset(
        name="raw_sleep",
        **api_asset_options(partitions_def),
        description=(
            "What the Fitbit v1.2 sleep API said about each dateOfSleep, one JSON file per date under "
            "raw/sleep/ (with provenance and a payload hash). One range call per run of up to 100 days; dates "
            "the API marks pending stay 'not final' and are fetched again by the next daily run."
        ),
    )
    def raw_sleep(
        context: AssetExecutionContext, fitbit: FitbitResource, storage: StorageResource
    ) -> MaterializeResult:
        from pipeline.landing import land_fetch

        start, end = window_dates(*context.partition_time_window)
        paths = storage.paths()
        try:
            with fitbit.client(paths, log=context.log) as client:
                fetch = client.sleep(start, end)
                quota = client.last_quota
                waited_s = client.waited_s
                retries = dict(client.retry_reasons)
        except FitbitSleepError as exc:
            raise api_failure(exc) from None
        landed = land_fetch(paths, fetch)
        for reason, count in retries.items():
            context.log.warning(f"Retried {plural(count, 'request')} {start}..{end} after {reason}.")
        if landed.emptied:
            context.log.warning(
                f"{plural(len(landed.emptied), 'date')} that held sleep logs are now empty "
                f"({landed.emptied[0]}..{landed.emptied[-1]}): the API no longer lists them."
            )
        context.log.info(
            f"Landed {plural(len(landed.dates), 'date')} {start}..{end} in {plural(fetch.calls, 'call')}: "
            f"{plural(landed.logs, 'log')}, "
            f"{landed.written} new, {landed.revised} revised, {landed.unchanged} unchanged, {landed.pending} pending."
        )
        return MaterializeResult(
            metadata={
                # run-scoped numbers: Dagster copies them onto every partition of a range run
                "run_first_date": start.isoformat(),
                "run_last_date": end.isoformat(),
                "run_days": len(landed.dates),
                "run_api_calls": fetch.calls,
                "run_quota_remaining": -1 if quota is None or quota.remaining is None else quota.remaining,
                "run_quota_wait_seconds": round(waited_s, 1),
                "run_logs": landed.logs,
                "run_dates_written": landed.written,
                "run_dates_revised": landed.revised,
                "run_dates_unchanged": landed.unchanged,
                "run_dates_empty": landed.empty,
                "run_dates_pending": landed.pending,
                "run_misplaced_logs": landed.misplaced_logs,
                "run_dates_emptied": len(landed.emptied),
                "run_retries": sum(retries.values()),
                "run_retry_reasons": "\n".join(f"{n} × {why}" for why, n in retries.items()) or "none",
            }
        )

    return raw_sleep
