"""The raw landing asset: one v1.2 sleep range call per run and participant, written to ``raw/sleep/date=D.json``.

Why this shape: ``multi_run(100)`` makes every backfill run cover at most 100 days, the API's range limit, so a run
is exactly one API call; the ``fitbit_api`` pool (limit 1) means one caller, one token refresh and one quota at a
time. The run window comes from ``partition_time_window`` because a range run has no single ``partition_key``.

Participants (docs/participants.md): the partitions are dates only, and a run fetches its window for every active
participant (or the one its ``fitbit_sleep/participant`` tag names) through ``pipeline.cohort_fetch``, each with its
own login and quota. A participant that fails is logged with its reason and the others land (and are tabled); the
step then fails naming them, and re-executing the run from the failure fetches only the participants still missing.
"""

import os
from collections.abc import Iterator, Mapping
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
from pipeline.errors import FitbitSleepError
from pipeline.paths import DEFAULT_PARTICIPANT
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
    from pipeline.errors import ApiUnreachable, FitbitUnavailable

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
    ) -> Iterator[MaterializeResult]:
        from pipeline.cohort_fetch import fetch_participants
        from pipeline.run_ledger import RunLedger

        start, end = window_dates(*context.partition_time_window)
        paths = storage.paths()
        try:
            people = run_participants(paths, context.run.tags)
        except FitbitSleepError as exc:
            raise Failure(
                description=str(exc), metadata={"error": type(exc).__name__}, allow_retries=False
            ) from None
        ledger = RunLedger(paths, root_run_id(context))
        done = ledger.landed(start, end)
        todo = [p for p in people if p.participant_id not in done]
        if done:
            context.log.info(
                f"Re-execution: {plural(len(done), 'participant')} landed {start}..{end} in an earlier attempt of "
                f"this run and are skipped; fetching {plural(len(todo), 'participant')}."
            )
        cohort = fetch_participants(
            todo, start, end, lambda own: fitbit.client(own, log=context.log), workers=fetch_workers()
        )
        ledger.record(cohort)
        if cohort.failed and not cohort.fetched and not done:
            # Nobody landed: the step fails as the single-user pipeline always did. 410 Gone, a lost login, a missing
            # scope, a bad setting, a bad request or a server nobody answers at do not get better by retrying the
            # step; transient failures (5xx, timeouts) were already retried inside the client, so step retries are
            # still allowed for them. The class name lets the CLI backfill choose its advice (no "resume" after 410).
            first = cohort.failed[0]
            message = first.error if len(cohort.outcomes) == 1 else cohort.failure_summary()
            raise Failure(
                description=message,
                metadata={"error": first.error_class or "", "participants_failed": _ids(cohort.failed)},
                allow_retries=all(o.retryable for o in cohort.failed),
            )
        for outcome in cohort.outcomes:
            _log_outcome(context, outcome, start, end)
        if cohort.failed:
            # This run's tables step will not run (its upstream step fails below), so the participants that landed
            # get their tables here and are complete now.
            table_landed(paths, cohort, start, end)
        yield MaterializeResult(metadata=_run_metadata(cohort, start, end, len(people)))
        if cohort.failed:
            # Some landed, some did not: the run ends failed, naming who and why. Re-executing it from the failure
            # (UI, or the run-retry daemon) re-runs this step, which skips the participants already landed.
            raise Failure(
                description=f"{cohort.failure_summary()}; the others landed. Re-execute the run from the failure "
                "to fetch only these.",
                metadata={
                    "error": cohort.failed[0].error_class or "",
                    "participants_failed": _ids(cohort.failed),
                },
                allow_retries=all(o.retryable for o in cohort.failed),
            )

    return raw_sleep


PARTICIPANT_TAG = "fitbit_sleep/participant"
ROOT_RUN_TAG = "dagster/root_run_id"  # set by Dagster on every re-execution of a run


def root_run_id(context: Any) -> str:
    """The run this one re-executes (directly or through a chain of re-executions), else this run itself."""
    return str(context.run.root_run_id or context.run.tags.get(ROOT_RUN_TAG) or context.run_id)


def run_participants(paths: Any, tags: Mapping[str, str]) -> list[Any]:
    """The participants a run fetches: the one its ``fitbit_sleep/participant`` tag names, else every active one."""
    from pipeline.participants import to_fetch

    return [paths.participant(p.id) for p in to_fetch(paths, tags.get(PARTICIPANT_TAG) or None)]


def fetch_workers() -> int:
    """Participants fetched at once (``FITBIT_SLEEP_FETCH_WORKERS``, default 4): each has its own quota, so the only
    limit is this machine and the API's patience."""
    from pipeline.cohort_fetch import DEFAULT_WORKERS

    raw = os.environ.get("FITBIT_SLEEP_FETCH_WORKERS", "").strip()
    return max(1, int(raw)) if raw.isdigit() else DEFAULT_WORKERS


def table_landed(paths: Any, cohort: Any, start: Any, end: Any) -> None:
    """Update the tables of the participants that landed ``start..end`` (the dates of the run's window)."""
    from datetime import timedelta

    from pipeline.participants import participant_tz
    from pipeline.tables import update_tables

    dates = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    for outcome in cohort.fetched:
        own = paths.participant(outcome.participant_id)
        update_tables(own, dates, tz=participant_tz(own))


def _ids(outcomes: list[Any]) -> str:
    return ", ".join(o.participant_id for o in outcomes) or "none"


def _log_outcome(context: AssetExecutionContext, outcome: Any, start: Any, end: Any) -> None:
    who = "" if outcome.participant_id == DEFAULT_PARTICIPANT else f"{outcome.participant_id}: "
    if not outcome.ok:
        context.log.error(f"{who}{start}..{end} not fetched: {outcome.error_class}: {outcome.error}")
        return
    landed = outcome.landed
    for reason, count in outcome.retries.items():
        context.log.warning(f"{who}Retried {plural(count, 'request')} {start}..{end} after {reason}.")
    if landed.emptied:
        context.log.warning(
            f"{who}{plural(len(landed.emptied), 'date')} that held sleep logs are now empty "
            f"({landed.emptied[0]}..{landed.emptied[-1]}): the API no longer lists them."
        )
    context.log.info(
        f"{who}Landed {plural(len(landed.dates), 'date')} {start}..{end} in {plural(outcome.calls, 'call')}: "
        f"{plural(landed.logs, 'log')}, "
        f"{landed.written} new, {landed.revised} revised, {landed.unchanged} unchanged, {landed.pending} pending."
    )


def _run_metadata(cohort: Any, start: Any, end: Any, participants: int) -> dict[str, Any]:
    """Run-scoped numbers (Dagster copies them onto every partition of a range run), summed over participants."""
    landed = [o.landed for o in cohort.fetched]
    retries: dict[str, int] = {}
    for outcome in cohort.outcomes:
        for why, n in outcome.retries.items():
            retries[why] = retries.get(why, 0) + n
    remaining = [o.quota_remaining for o in cohort.fetched if o.quota_remaining is not None]
    first_emptied = [len(x.emptied) for x in landed]
    return {
        "run_first_date": start.isoformat(),
        "run_last_date": end.isoformat(),
        "run_days": max((len(x.dates) for x in landed), default=0),
        "run_api_calls": cohort.calls,
        "run_quota_remaining": min(remaining) if remaining else -1,
        "run_quota_wait_seconds": round(sum(o.waited_s for o in cohort.outcomes), 1),
        "run_logs": sum(x.logs for x in landed),
        "run_dates_written": sum(x.written for x in landed),
        "run_dates_revised": sum(x.revised for x in landed),
        "run_dates_unchanged": sum(x.unchanged for x in landed),
        "run_dates_empty": sum(x.empty for x in landed),
        "run_dates_pending": sum(x.pending for x in landed),
        "run_misplaced_logs": sum(x.misplaced_logs for x in landed),
        "run_dates_emptied": sum(first_emptied),
        "run_retries": sum(retries.values()),
        "run_retry_reasons": "\n".join(f"{n} × {why}" for why, n in retries.items()) or "none",
        "run_participants": participants,
        "run_participants_fetched": len(cohort.fetched),
        "run_participants_failed": len(cohort.failed),
        "run_failed_participants": "\n".join(
            f"{o.participant_id}: {o.error_class}: {o.error}" for o in cohort.failed
        )
        or "none",
    }
