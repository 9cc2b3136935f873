"""`fitbit-sleep backfill --start D --end D`: fill history through Dagster without opening the UI.

Why through Dagster and not a plain fetch: the runs land in the same instance the UI shows ($DAGSTER_HOME), so the
partitions, check results and run history are the same whichever way the user backfilled. How it runs is in
``dagster_project/backfill.py``: partition-range runs of ≤400 days (≤100 when the login grants physiology)
executed in this process, then one warehouse/plots/report run.
"""

from __future__ import annotations

import os
from datetime import date, timedelta

import click

from fitbit_sleep.commands.dates import parse_day
from fitbit_sleep.sandbox_profile import uses_api


@click.command()
@click.option(
    "--start",
    callback=parse_day,
    help="First dateOfSleep (inclusive), YYYY-MM-DD. Default: the first partition.",
)
@click.option(
    "--end", callback=parse_day, help="Last dateOfSleep (inclusive), YYYY-MM-DD. Default: today's partition."
)
@click.option(
    "--last",
    type=click.IntRange(min=1),
    default=None,
    help="The last N days up to today (instead of --start/--end).",
)
@click.option(
    "--no-downstream",
    is_flag=True,
    help="Only land and table the dates; skip the warehouse/plots/report run.",
)
@click.option(
    "--participant", default=None, help="Backfill only this participant (default: every active one)."
)
@uses_api
def backfill(
    start: date | None, end: date | None, last: int | None, no_downstream: bool, participant: str | None
) -> None:
    """Materialize START..END in runs of at most 400 days (100 with physiology), recorded in $DAGSTER_HOME.

    Without options: every partition. DAGSTER_HOME defaults to <data root>/dagster_home, the instance `make dev`
    shows. Progress shows the days done, API calls made and any wait for the hourly quota. Re-running is safe.
    """
    if last is not None and (start is not None or end is not None):
        raise click.BadParameter("give either --last or --start/--end", param_hint="--last")
    if start is not None and end is not None and end < start:
        raise click.BadParameter("--end is before --start")
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from dagster_project.backfill import (
        ChunkOutcome,
        check_range,
        cli_days_per_run,
        cli_instance,
        partition_bounds,
        run_backfill,
    )
    from dagster_project.definitions import build_defs
    from dagster_project.devserver import install_instance_config, use_dagster_home
    from dagster_project.resources import WAIT_LISTENERS
    from dagster_project.stuck_runs import stop_on_ctrl_c
    from pipeline.config import Settings
    from pipeline.errors import FitbitSleepError
    from pipeline.paths import StoragePaths
    from pipeline.text import plural

    try:
        # a bad or retired --participant is one line, before any run starts
        days_per_run = cli_days_per_run(StoragePaths(Settings.from_env().home), participant)
        defs = build_defs()  # reads FITBIT_SLEEP_START_DATE, _TZ, _LOOKBACK_DAYS ...: a bad value stops here
        first, today = partition_bounds(defs)
        if last is not None:
            start, end = max(first, today - timedelta(days=last - 1)), today
        start, end = start or first, end or today
        check_range(start, end, first, today)
    except (FitbitSleepError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    console = Console(stderr=True)
    dagster_home = use_dagster_home(os.environ)
    # A fresh instance gets the settings `make dev` installs (pools, telemetry off) instead of Dagster's defaults.
    if not (dagster_home / "dagster.yaml").exists():
        install_instance_config(dagster_home)
    total_days = (end - start).days + 1
    with (
        cli_instance() as instance,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("days  calls {task.fields[calls]}  quota waits {task.fields[waits]}"),
            TimeElapsedColumn(),
            console=console,
        ) as bar,
    ):
        task = bar.add_task("Backfilling", total=total_days, calls=0, waits="none")
        waited = {"n": 0, "s": 0.0}

        def on_wait(seconds: float, reason: str) -> None:
            waited["n"] += 1
            waited["s"] += seconds
            bar.update(
                task, description=f"Waiting {seconds:.0f} s for the Fitbit quota", waits=_waits(waited)
            )

        def on_start(chunk_start: date, chunk_end: date) -> None:
            bar.update(task, description=f"Fetching {chunk_start}..{chunk_end}")

        def on_done(chunk: ChunkOutcome) -> None:
            done = bar.tasks[0].completed + ((chunk.end - chunk.start).days + 1 if chunk.success else 0)
            bar.update(
                task, completed=done, calls=bar.tasks[0].fields["calls"] + chunk.calls, waits=_waits(waited)
            )
            if not no_downstream and done >= total_days:
                bar.update(task, description="Rebuilding warehouse, plots, report")

        WAIT_LISTENERS.append(on_wait)

        def interrupted(line: str) -> None:
            bar.stop()  # restores the cursor before the process exits
            console.print(line, highlight=False)

        try:
            with stop_on_ctrl_c(instance, interrupted):
                outcome = run_backfill(
                    defs,
                    instance,
                    start,
                    end,
                    downstream=not no_downstream,
                    on_chunk_start=on_start,
                    on_chunk_done=on_done,
                    on_note=lambda note: console.print(note, highlight=False),
                    participant=participant,
                    chunk_days=days_per_run,
                )
        finally:
            WAIT_LISTENERS.remove(on_wait)
        bar.update(task, description="Done" if outcome.success else "Failed")

    runs = len(outcome.chunks) + (outcome.downstream_run_id is not None)
    partial = [c for c in outcome.chunks if not c.success and c.participants_failed and c.landed]
    for chunk in partial:
        console.print(f"[red]Run {chunk.run_id} for {chunk.start}..{chunk.end}:[/] {chunk.error}")
    for chunk in outcome.chunks:
        if not chunk.success and chunk not in partial:
            console.print(f"[red]Run {chunk.run_id} for {chunk.start}..{chunk.end} failed:[/] {chunk.error}")
            if chunk.error_class == "FitbitApiGone":  # resuming cannot help: the API is switched off for good
                raise click.ClickException(
                    f"Backfill stopped at {chunk.start}: the API is gone, so there is nothing to resume; "
                    "import your account archive with `fitbit-sleep import MyFitbitData.zip`."
                )
            raise click.ClickException(
                f"Backfill stopped at {chunk.start}. Fix the cause, then resume with "
                f"`fitbit-sleep backfill --start {chunk.start} --end {end}`."
            )
    if partial:
        who = sorted({p.strip() for c in partial for p in c.participants_failed.split(",")})
        raise click.ClickException(
            f"The other participants landed; not fetched: {', '.join(who)}. Fix the cause (a revoked login: "
            f"`fitbit-sleep login --participant {who[0]}`), then `fitbit-sleep backfill --participant {who[0]} "
            f"--start {start} --end {end}` (one per participant)."
        )
    if outcome.downstream_success is False:
        raise click.ClickException(
            f"The dates were landed, but the warehouse/plots/report run {outcome.downstream_run_id} failed "
            f"({outcome.downstream_error}); see it in the Dagster UI."
        )
    click.echo(
        f"Backfilled {start}..{end}: {plural(total_days, 'day')} in {plural(len(outcome.chunks), 'run')} "
        f"({runs} with the rebuild), {plural(outcome.calls, 'API call')}, quota waits: {_waits(waited)}. "
        f"Tag {outcome.backfill_id} in the Dagster UI (fitbit_sleep/cli_backfill)."
    )


def _waits(waited: dict[str, float]) -> str:
    return "none" if not waited["n"] else f"{int(waited['n'])} ({waited['s']:.0f} s)"
