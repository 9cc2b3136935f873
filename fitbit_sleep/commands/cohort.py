"""`fitbit-sleep cohort ...`: the many-participant scale profile (docs/scale.md). `cohort demo` runs it end to end."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click


@click.group()
def cohort() -> None:
    """Many participants on the scale profile: Dagster on Postgres, S3 storage, a shared DuckLake warehouse."""


@cohort.command()
@click.option("--participants", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option(
    "--days", type=click.IntRange(1, 1000), default=30, show_default=True, help="History per participant."
)
@click.option(
    "--parallel", type=click.IntRange(1, 16), default=2, show_default=True, help="Participants at once."
)
@click.option(
    "--revoke",
    default="auto",
    show_default=True,
    help="Participant whose grant is revoked mid-run (it must fail alone); 'auto' = the third, 'none' = nobody.",
)
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the participants' data roots and the Dagster home go [default: $FITBIT_SLEEP_HOME/cohort-demo].",
)
@click.option(
    "--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Pin the sandboxes' today."
)
def demo(participants: int, days: int, parallel: int, revoke: str, home: Path | None, today: Any) -> None:
    """Start Postgres and SeaweedFS, N sandbox accounts, log everyone in, backfill through Dagster, build the
    shared warehouse, print a summary. Re-running over the same --home changes no table."""
    from fitbit_sleep.scale.cohort_demo import participant_ids, run_cohort_demo
    from fitbit_sleep.scale.services import ServiceUnavailable
    from pipeline.errors import FitbitSleepError

    if revoke == "auto":
        ids = participant_ids(participants)
        revoke_id: str | None = ids[2] if len(ids) >= 3 else None
    else:
        revoke_id = None if revoke == "none" else revoke
    root = home or Path(os.environ.get("FITBIT_SLEEP_HOME", "data")) / "cohort-demo"
    try:
        summary = run_cohort_demo(
            root,
            participants,
            days,
            parallel=parallel,
            revoke=revoke_id,
            today=today.date() if today is not None else None,
            echo=click.echo,
        )
    except (ServiceUnavailable, FitbitSleepError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("")
    for line in summary.lines():
        click.echo(line)
    unexpected = [p.participant for p in summary.participants if not p.success and p.participant != revoke_id]
    if unexpected or (
        revoke_id and any(p.success for p in summary.participants if p.participant == revoke_id)
    ):
        raise click.ClickException(
            f"unexpected outcome: failed {unexpected or 'none'}; the revoked participant {revoke_id} must fail alone"
        )
