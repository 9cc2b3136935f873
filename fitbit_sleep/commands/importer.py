"""``fitbit-sleep import PATH``: import a Fitbit account export or Google Takeout archive.

Why a thin command: the work is ``pipeline.export_archive.import_archive`` (also used by Dagster); this module only
shows progress, rebuilds the tables and the warehouse for the dates that changed, and prints the summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from pipeline.export_archive import ImportSummary


@click.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--no-build",
    is_flag=True,
    help="Only land the archive; do not update the tables and the warehouse (run `fitbit-sleep rebuild` later).",
)
@click.option(
    "--tz",
    default=None,
    metavar="ZONE",
    help="IANA time zone of the history (e.g. Europe/Berlin). Default: the archive's profile, else FITBIT_SLEEP_TZ, "
    "else the zone already in use; remembered for later imports and rebuilds, and a new one rebuilds every table.",
)
def import_archive(path: Path, no_build: bool, tz: str | None) -> None:
    """Import PATH, a MyFitbitData.zip / Google Takeout zip or its unzipped folder.

    Dates already fetched from the API keep the API's data; the archive fills the rest of the history. Importing
    the same archive again changes nothing.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pipeline.config import Settings
    from pipeline.errors import FitbitSleepError
    from pipeline.export_archive import import_archive as run_import
    from pipeline.paths import StoragePaths

    console = Console(stderr=True)
    paths = StoragePaths(Settings.from_env().home)
    labels = {"scan": "Scanning sleep files", "import": "Importing sleep files"}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(labels.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        try:
            summary = run_import(paths, path, progress=progress, tz=tz)
        except FitbitSleepError as exc:
            raise click.ClickException(str(exc)) from None
    quarantined_by_tables = None
    counts = None
    if not no_build:
        quarantined_by_tables = _build(paths, summary, console)
        counts = _counts(paths)
    _print_summary(summary, quarantined_by_tables, counts)
    if not no_build:
        _run_checks(paths)


def _run_checks(paths: Any) -> None:
    """The table checks of Dagster's archive_import_job, on the whole history; a blocking failure exits 1."""
    from pipeline.checks import describe, run_checks

    outcomes = run_checks(paths)
    failed = [o for o in outcomes if o.blocking and not o.passed]
    warned = [o for o in outcomes if not o.blocking and not o.passed]
    click.echo(
        f"Checks: {len(outcomes) - len(failed) - len(warned)} passed, {len(warned)} warnings"
        + (f", {len(failed)} failed" if failed else "")
        + " (the same as Dagster's archive_import_job)"
    )
    for outcome in warned:
        click.echo(f"  warning  {describe(outcome)}")
    for outcome in failed:
        click.echo(f"  FAILED   {describe(outcome)}")
    if failed:
        raise click.ClickException(
            f"{len(failed)} blocking check(s) failed ({', '.join(o.name for o in failed)}): the tables do not match "
            "the landing. Run `fitbit-sleep rebuild`; if it still fails, report it with the lines above."
        )


def _build(paths: Any, summary: ImportSummary, console: Any) -> int | None:
    """Update the tables for the changed dates and rebuild the warehouse; return the tables' quarantine count."""
    from pipeline.tables import update_tables
    from pipeline.timezones import stored_zone
    from pipeline.warehouse import build_warehouse

    quarantined = None
    rebuilt = False
    if summary.changed_dates or stored_zone(paths) != summary.timezone:
        # a zone other than the one the tables were built in rebuilds every table (update_tables decides)
        with console.status(f"Updating tables for {len(summary.changed_dates)} dates…"):
            result = update_tables(paths, summary.changed_dates, tz=summary.timezone)
        quarantined = _quarantine_count(result)
        if result.rebuilt_all:
            click.echo(f"Rebuilt every table ({result.rebuilt_all}).")
        rebuilt = True
    if rebuilt or summary.scores_state == "written" or not paths.warehouse_file.exists():
        with console.status("Rebuilding the warehouse…"):
            build_warehouse(paths)
    return quarantined


def _counts(paths: Any) -> dict[str, int]:
    """Nights, main sleeps and naps now in the warehouse (the same SQL as every other summary)."""
    from pipeline.warehouse import connect_readonly, count_nights

    con = connect_readonly(paths)
    try:
        return count_nights(con)
    finally:
        con.close()


def _quarantine_count(result: Any) -> int | None:
    value = getattr(result, "quarantined", None)
    return value if isinstance(value, int) else None


def _print_summary(
    summary: ImportSummary, quarantined_by_tables: int | None, counts: dict[str, int] | None
) -> None:
    span = (
        f"{summary.first_date.isoformat()} … {summary.last_date.isoformat()}"
        if summary.first_date and summary.last_date
        else "none"
    )
    # The tables' count (rows quarantined in the rebuilt months) includes the records the import could not date,
    # which it landed for the transform to quarantine; without a build only the import's own count is known.
    quarantined = summary.records_quarantined if quarantined_by_tables is None else quarantined_by_tables
    lines = [
        f"Imported {summary.archive} ({summary.layout})",
        f"  files               {summary.files} sleep files"
        + (f", {summary.files_damaged} damaged" if summary.files_damaged else ""),
        f"  logs                {summary.logs}",
        f"  dates with sleep    {summary.dates_with_sleep}",
        f"  date range          {span}",
        f"  duplicates dropped  {summary.duplicates_dropped}",
        f"  records quarantined {quarantined}",
        f"  days                {summary.days_written} new, {summary.days_revised} revised, "
        f"{summary.days_unchanged} unchanged; {summary.days_empty} of the archive's days without sleep",
        f"  kept from the API   {summary.days_kept_api} days"
        + (
            f" ({summary.logs_superseded_by_api} logs already landed by the API)"
            if summary.logs_superseded_by_api
            else ""
        ),
        f"  sleep scores        {summary.scores} rows ({summary.scores_state})",
        f"  time zone           {summary.timezone} (from {summary.timezone_source})",
    ]
    if counts is not None:
        lines.append(
            f"  in the tables now   {counts['nights']} nights, {counts['main_sleeps']} main sleeps, "
            f"{counts['naps']} naps"
        )
    if summary.days_kept_newer:
        lines.append(f"  kept from a newer archive: {summary.days_kept_newer} days")
    click.echo("\n".join(lines))
    if summary.problems:
        click.echo("Problems:")
        for problem in summary.problems:
            click.echo(f"  - {problem}")
