"""`fitbit-sleep plan | fetch`: how many calls a backfill needs, and doing it without Dagster.

Why a planner without API calls: a user deciding whether to backfill ten years wants the cost (calls, hours of
quota) before spending any quota; it uses the last quota seen (saved by the client) or Fitbit's documented 150/h.

Why ``fetch`` also updates the tables and the warehouse: raw files alone are invisible to SQL, the plots and the
Dagster checks, which all read the tables; so a fetch ends where ``import`` does (raw -> tables -> warehouse). It
starts no Dagster run, so the Dagster UI does not list these dates as materialized; ``fitbit-sleep backfill`` is the
same fetch recorded as Dagster runs.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import date
from typing import Any

import click

from fitbit_sleep.commands.dates import check_range, date_range
from fitbit_sleep.sandbox_profile import uses_api


def _human(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@click.command()
@date_range()
def plan(start: date, end: date) -> None:
    """Print the API calls a fetch of START..END needs and the ETA at the current quota (no API call)."""
    from pipeline.client import chunk_range
    from pipeline.config import Settings
    from pipeline.paths import StoragePaths
    from pipeline.physiology_fetch import ENDPOINTS, login_kinds
    from pipeline.quota import DEFAULT_LIMIT, QuotaSnapshot, eta_seconds, plan_calls
    from pipeline.text import plural

    check_range(start, end)
    chunks = chunk_range(start, end)
    days = (end - start).days + 1
    if Settings.from_env().source == "google-health":
        # v4 pages by sessions, not days: ~1.2 sessions a night (naps), 25 a page; 300 calls a minute is no limit here
        pages = max(1, -(-round(days * 1.2) // 25))
        click.echo(
            f"GET /v4/users/me/dataTypes/sleep/dataPoints  (wake dates {start}..{end}, 25 sessions a page)"
        )
        click.echo(
            f"{plural(days, 'day')} -> about {plural(pages, 'call')}; no quota wait (300 calls a minute)."
        )
        return
    paths = StoragePaths(Settings.from_env().home)
    snapshot = QuotaSnapshot.load(paths.quota_file)
    for chunk_start, chunk_end in chunks:
        click.echo(
            f"GET /1.2/user/-/sleep/date/{chunk_start}/{chunk_end}.json  "
            f"({plural((chunk_end - chunk_start).days + 1, 'day')})"
        )
    kinds = login_kinds(paths)
    calls = plan_calls(start, end, kinds)
    for kind in kinds:
        endpoint = ENDPOINTS[kind]
        limit = "one date" if endpoint.max_days == 1 else f"<= {endpoint.max_days} days"
        click.echo(f"{kind}: {plural(len(calls[kind]), 'call')} ({limit} each, scope {endpoint.scope})")
    if not kinds:
        click.echo(
            "physiology: not fetched (the login grants none of its scopes: `fitbit-sleep login --physiology`)"
        )
    total = sum(len(paths_) for paths_ in calls.values())
    eta = eta_seconds(total, snapshot)
    if snapshot is not None and snapshot.remaining is not None and (snapshot.reset_in() or 0) > 0:
        basis = f"last seen quota: {snapshot.remaining}/{snapshot.limit} left, resets in {snapshot.reset_in():.0f} s"
    else:
        basis = f"assuming a fresh quota of {(snapshot.limit if snapshot and snapshot.limit else DEFAULT_LIMIT)}/h"
    click.echo(f"{plural(days, 'day')} -> {plural(total, 'call')}; quota wait {_human(eta)} ({basis}).")


@click.command()
@date_range()
@click.option(
    "--no-build",
    is_flag=True,
    help="Only land the raw files; do not update the tables and the warehouse (run `fitbit-sleep rebuild` later).",
)
@click.option("--participant", default=None, help="Fetch only this participant (default: every active one).")
@uses_api
def fetch(start: date, end: date, no_build: bool, participant: str | None) -> None:
    """Fetch START..END from the API, land one raw file per date, then update the tables and the warehouse.

    The physiology the login grants (`fitbit-sleep login --physiology`) is fetched and landed with the sleep.

    No Dagster run is recorded: use `fitbit-sleep backfill` to have the Dagster UI show the dates as materialized.
    With participants, each one is fetched with its own login and quota; one that fails is named and the others land.
    """
    from pipeline.cohort_fetch import fetch_participants
    from pipeline.config import Settings
    from pipeline.errors import FitbitSleepError
    from pipeline.participants import participant_tz, to_fetch
    from pipeline.paths import DEFAULT_PARTICIPANT, StoragePaths
    from pipeline.source_client import open_client
    from pipeline.text import plural

    check_range(start, end)

    def on_wait(seconds: float, reason: str) -> None:
        click.echo(f"waiting {_human(seconds)}: {reason}", err=True)

    try:
        settings = Settings.from_env()
        root = StoragePaths(settings.home)
        people = [root.participant(p.id) for p in to_fetch(root, participant)]
    except FitbitSleepError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)

    def client_for(own: StoragePaths):  # type: ignore[no-untyped-def]
        return open_client(replace(settings, home=own.root), on_wait=on_wait)

    cohort = fetch_participants(people, start, end, client_for)
    physiology = {
        outcome.participant_id: _fetch_physiology(
            root.participant(outcome.participant_id), client_for, start, end
        )
        for outcome in cohort.fetched
        if settings.source == "fitbit"
    }
    for outcome in cohort.outcomes:
        who = "" if outcome.participant_id == DEFAULT_PARTICIPANT else f"{outcome.participant_id}: "
        if not outcome.ok:
            click.echo(f"error: {who}{outcome.error}", err=True)
            continue
        landed = outcome.landed
        assert landed is not None
        click.echo(
            f"{who}{start}..{end}: {plural(landed.logs, 'log')} in {plural(outcome.calls, 'call')}; landed "
            f"{plural(len(landed.dates), 'day')} ({landed.written} written, {landed.revised} revised, "
            f"{landed.unchanged} unchanged, {landed.empty} empty, {landed.pending} pending)."
        )
        if physiology.get(outcome.participant_id):
            click.echo(f"{who}{physiology[outcome.participant_id]}")
    if no_build:
        click.echo("Tables not updated (--no-build): run `fitbit-sleep rebuild` to see these dates in SQL.")
        sys.exit(1 if cohort.failed else 0)
    if cohort.fetched:
        from pipeline.physiology_tables import update_physiology_tables
        from pipeline.tables import update_tables
        from pipeline.warehouse import build_warehouse

        logs = months = 0
        for outcome in cohort.fetched:
            own = root.participant(outcome.participant_id)
            assert outcome.landed is not None
            tables = update_tables(own, outcome.landed.dates, tz=participant_tz(own))
            if physiology.get(outcome.participant_id):
                update_physiology_tables(own, outcome.landed.dates)
            logs, months = logs + tables.logs, months + len(tables.months)
        build_warehouse(root)
        click.echo(
            f"Updated the tables ({plural(logs, 'log')} in the {plural(months, 'month')} touched) "
            f"and {root.warehouse_file}. Not a Dagster run: `fitbit-sleep backfill` records one."
        )
    if cohort.failed:
        if len(cohort.outcomes) > 1:
            click.echo(
                f"{len(cohort.failed)} of {len(cohort.outcomes)} participants not fetched ({cohort.failed_ids()}); "
                "the others landed.",
                err=True,
            )
        sys.exit(1)


def _fetch_physiology(own: Any, client_for: Any, start: date, end: date) -> str:
    """Fetch and land the physiology one participant's login grants; the line to print ("" when none is granted)."""
    from pipeline.errors import FitbitSleepError
    from pipeline.physiology_fetch import fetch_physiology, login_kinds
    from pipeline.physiology_landing import land_physiology_fetch
    from pipeline.text import plural

    kinds = login_kinds(own)
    if not kinds:
        return ""
    try:
        with client_for(own) as client:
            fetched = fetch_physiology(
                client, start, end, kinds, warn=lambda message: click.echo(f"warning: {message}", err=True)
            )
    except FitbitSleepError as exc:
        return f"physiology not fetched: {exc}"
    landed = land_physiology_fetch(own, fetched)
    return (
        f"physiology ({', '.join(fetched.documents) or 'none'}): {plural(landed.files, 'file')} in "
        f"{plural(fetched.calls, 'call')} ({landed.written} written, {landed.revised} revised, "
        f"{landed.unchanged} unchanged, {landed.empty} empty)."
    )
