"""``fitbit-sleep report``: render every figure and write the self-contained HTML report under the data root.

Why a thin command: the work is ``pipeline.report.build_report`` (also used by the Dagster report asset); this
module only resolves the data root, prints the path (stdout, so scripts can use it) and a short summary (stderr).
"""

from __future__ import annotations

import click


@click.command("report")
@click.option(
    "--participant",
    default=None,
    help="Figures and report of this participant, under its data root (default: the data root's own).",
)
@click.option(
    "--cohort",
    is_flag=True,
    help="Instead: the cohort page (coverage per participant, nights per week, wear gaps) at report/cohort.html.",
)
def report(participant: str | None, cohort: bool) -> None:
    """Write DATA_ROOT/report/report.html (figures embedded, key numbers, date range, coverage); print its path.

    Figures are also written as PNG/SVG to DATA_ROOT/plots/. Run `fitbit-sleep fetch` or `import` first; with no
    data the report still renders and says so.
    """
    from pipeline.config import Settings
    from pipeline.errors import FitbitSleepError
    from pipeline.participants import get_participant
    from pipeline.paths import StoragePaths
    from pipeline.plots import render_all
    from pipeline.report import build_report

    paths = StoragePaths(Settings.from_env().home)
    try:
        if participant is not None:
            paths = paths.participant(get_participant(paths, participant).id)
        if cohort:
            from pipeline.cohort_report import write_cohort_report

            written = write_cohort_report(paths)
            click.echo(f"Cohort of {written.participants} participants; figure {written.figure}", err=True)
            click.echo(str(written.path))
            return
    except FitbitSleepError as exc:
        raise click.ClickException(str(exc)) from None
    if not paths.warehouse_file.exists():
        click.echo(
            f"No warehouse at {paths.warehouse_file} yet: the report will say 'no data'. Run `fitbit-sleep fetch` "
            "or `fitbit-sleep import` first.",
            err=True,
        )
    figures = render_all(paths)
    path = build_report(paths, figures)
    click.echo(f"Rendered {len(figures)} figures to {paths.plots_dir}", err=True)
    click.echo(str(path))
