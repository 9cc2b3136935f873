"""The physiology assets: ``raw_physiology`` (heart rate, HRV, SpO2, breathing rate, skin temperature from the v1.2
API, landed per kind and date) and ``physiology_tables`` (their Parquet tables).

Why two assets for six kinds: a range run writes one event per partition per asset, and those events are most of a
backfill's cost (issue 19); the kinds are one fetch (one quota, one token), so they are one asset whose metadata
counts each. Same daily partitions and ``multi_run(100)`` windows as ``raw_sleep``, in the same job and runs, in the
``fitbit_api`` pool. Only the kinds the saved login's scopes grant are called; without any (the default login) the
run makes no call and records no materialization of either asset (``output_required=False``: the steps end as
skipped), so a sleep-only user's runs do not pay two events per day for assets that hold nothing. An archive import
with physiology updates the tables itself (``archive_import``).
"""

import logging
from collections.abc import Iterator
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
from dagster_project.assets.raw import api_asset_options, api_failure, run_participants
from dagster_project.assets.tables import TABLES_GROUP
from dagster_project.partitions import MAX_DAYS_PER_RUN, window_dates
from dagster_project.resources import FitbitResource, StorageResource
from pipeline.errors import FitbitSleepError
from pipeline.text import plural


class _SkippedPhysiologyChecks(logging.Filter):
    """Drops Dagster's warning that a blocking check on ``raw_physiology`` "emitted no result": when the login grants
    no physiology the asset is skipped on purpose, so its check step is skipped too, and the warning would print
    once per run of a sleep-only user's backfill for nothing wrong. Every other check keeps the warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            message.startswith("Blocking asset check 'raw_physiology:") and "emitted no result" in message
        )


_PLAN_LOGGER = logging.getLogger("dagster._core.execution.plan.active")
if not any(isinstance(f, _SkippedPhysiologyChecks) for f in _PLAN_LOGGER.filters):
    _PLAN_LOGGER.addFilter(_SkippedPhysiologyChecks())


def build_raw_physiology(partitions_def: DailyPartitionsDefinition):  # type: ignore[no-untyped-def]
    @asset(
        name="raw_physiology",
        **api_asset_options(partitions_def),
        output_required=False,
        description=(
            "Heart rate (intraday 1 min, resting), HRV, SpO2, breathing rate and skin temperature from the Fitbit "
            "v1.2 API, one file per kind and date under raw/physiology/ (intraday gzip'd). Only the kinds the "
            "login's scopes grant (`fitbit-sleep login --physiology`); a 403 skips a kind with one warning."
        ),
    )
    def raw_physiology(
        context: AssetExecutionContext, fitbit: FitbitResource, storage: StorageResource
    ) -> Iterator[MaterializeResult]:
        start, end = window_dates(*context.partition_time_window)
        people = run_participants(storage.paths(), context.run.tags)
        calls, kinds, skipped, files, granted = 0, set(), [], 0, False
        for own in people:
            fetched, landed = _fetch_and_land(context, fitbit, own, start, end)
            if fetched is None or landed is None:
                continue
            granted = True
            calls += fetched.calls
            kinds |= set(fetched.documents)
            skipped += [f"{k}: {why}" for k, why in fetched.skipped.items()]
            files += landed.files
            context.log.info(
                f"{own.participant_id}: landed {plural(landed.files, 'physiology file')} {start}..{end} in "
                f"{plural(fetched.calls, 'call')}: {landed.written} new, {landed.revised} revised, "
                f"{landed.unchanged} unchanged, {landed.empty} empty."
            )
        if not granted:
            context.log.info(
                "No physiology scope granted: nothing fetched, nothing materialized "
                "(`fitbit-sleep login --physiology`)."
            )
            return
        yield MaterializeResult(
            metadata={
                "run_first_date": start.isoformat(),
                "run_last_date": end.isoformat(),
                "run_kinds": ", ".join(sorted(kinds)) or "none (no physiology scope granted)",
                "run_kinds_skipped": "; ".join(skipped) or "none",
                "run_api_calls": calls,
                "run_files": files,
            }
        )

    return raw_physiology


def build_physiology_tables(partitions_def: DailyPartitionsDefinition, raw_physiology: Any):  # type: ignore[no-untyped-def]
    @asset(
        name="physiology_tables",
        group_name=TABLES_GROUP,
        partitions_def=partitions_def,
        deps=[raw_physiology],
        backfill_policy=BackfillPolicy.multi_run(max_partitions_per_run=MAX_DAYS_PER_RUN),
        kinds={"parquet"},
        description=(
            "Parquet tables of the physiology landing: heart_rate (samples), resting_heart_rate, hrv_daily, "
            "spo2_daily, breathing_rate_daily, skin_temp_daily and physiology_quarantine (bpm outside 25-220, "
            "SpO2 50 = no reading). A run rebuilds the months of its window."
        ),
    )
    def physiology_tables(context: AssetExecutionContext, storage: StorageResource) -> MaterializeResult:
        from pipeline.physiology_tables import update_physiology_tables

        start, end = window_dates(*context.partition_time_window)
        dates = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        people = run_participants(storage.paths(), context.run.tags)
        results = [update_physiology_tables(own, dates) for own in people]
        return MaterializeResult(
            metadata={
                "run_first_date": start.isoformat(),
                "run_last_date": end.isoformat(),
                # one participant: its facts; a cohort: the sample count summed
                **(scalar_facts(results[0], prefix="run_") if len(results) == 1 else {}),
                "run_samples": sum(r.samples for r in results),
            }
        )

    return physiology_tables


def _fetch_and_land(context: Any, fitbit: Any, own: Any, start: Any, end: Any) -> tuple[Any, Any]:
    """Fetch and land the physiology one participant's login grants; (None, None) when it grants none."""
    from pipeline.physiology_fetch import fetch_physiology, login_kinds
    from pipeline.physiology_landing import land_physiology_fetch

    kinds = login_kinds(own) if fitbit.source == "fitbit" else []
    if not kinds:
        return None, None
    try:
        with fitbit.client(own, log=context.log) as client:
            fetched = fetch_physiology(client, start, end, kinds, warn=context.log.warning)
    except FitbitSleepError as exc:  # as raw_sleep: only transient failures may retry the step
        raise api_failure(exc) from None
    return fetched, land_physiology_fetch(own, fetched)
