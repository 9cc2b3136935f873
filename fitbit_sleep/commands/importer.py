"""``fitbit-sleep import PATH...``: import a Fitbit account export or Google Takeout archive (or its parts).

Why a thin command: the work is ``pipeline.sources.fitbit_export.importer.import_archive`` (also used by Dagster); this module only
shows progress, rebuilds the tables and the warehouse for the dates that changed, and prints the summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from pipeline.sources.fitbit_export.importer import ImportSummary
    from pipeline.tables import TablesResult


@click.command("import")
@click.argument("path", nargs=-1, required=True, type=click.Path(path_type=Path))
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
def import_archive(path: tuple[Path, ...], no_build: bool, tz: str | None) -> None:
    """Import PATH, a MyFitbitData.zip / Google Takeout zip or its unzipped folder.

    A Takeout split in parts is imported in one go: give every part (takeout-…-001.zip takeout-…-002.zip …, in any
    order) or the folder that holds them. Dates already fetched from the API keep the API's data; the archive
    fills the rest of the history. Importing the same archive again changes nothing.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pipeline.config import Settings
    from pipeline.errors import FitbitSleepError
    from pipeline.paths import StoragePaths
    from pipeline.sources.fitbit_export.importer import import_archive as run_import

    console = Console(stderr=True)
    paths = StoragePaths(Settings.from_env().home)
    labels = {
        "scan": "Scanning sleep files",
        "import": "Importing sleep files",
        "physiology": "Importing physiology files",
    }
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
            summary = run_import(paths, list(path), progress=progress, tz=tz)
        except FitbitSleepError as exc:
            raise click.ClickException(str(exc)) from None
    tables = None
    counts = None
    if not no_build:
        tables = _build(paths, summary, console)
        counts = _counts(paths)
    _print_summary(summary, tables, counts)
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


def _build(paths: Any, summary: ImportSummary, console: Any) -> TablesResult | None:
    """Update the tables for the changed dates (and the scores) and rebuild the warehouse; return what the tables
    update did, or None when nothing changed."""
    from pipeline.tables import update_tables
    from pipeline.text import plural
    from pipeline.timezones import stored_zone
    from pipeline.warehouse import build_warehouse

    result = None
    if summary.tables_stale or stored_zone(paths) != summary.timezone:
        # a zone other than the one the tables were built in rebuilds every table (update_tables decides)
        with console.status(f"Updating tables for {plural(len(summary.changed_dates), 'date')}…"):
            result = update_tables(paths, summary.changed_dates, tz=summary.timezone)
        if result.rebuilt_all:
            click.echo(f"Rebuilt every table ({result.rebuilt_all}).")
    physiology = summary.physiology_changed
    if physiology:
        from pipeline.physiology_tables import update_physiology_tables

        with console.status(f"Updating the physiology tables for {plural(len(physiology), 'date')}…"):
            update_physiology_tables(paths, physiology)
    if result is not None or physiology or not paths.warehouse_file.exists():
        with console.status("Rebuilding the warehouse…"):
            build_warehouse(paths)
    return result


def _counts(paths: Any) -> dict[str, int]:
    """Nights, main sleeps and naps now in the warehouse (the same SQL as every other summary)."""
    from pipeline.warehouse import connect_readonly, count_nights

    con = connect_readonly(paths)
    try:
        return count_nights(con)
    finally:
        con.close()


def _takeout_lines(summary: ImportSummary) -> list[str]:
    """The Google-era CSV part of the summary (nothing for an archive without them)."""
    if not summary.csv_files:
        return []
    return [
        f"  2026 CSVs           {summary.csv_files} files, {summary.csv_rows} session rows = "
        f"{summary.csv_sessions} sessions ({summary.csv_sessions_landed} from the CSVs, "
        f"{summary.csv_sessions_with_legacy} also in the legacy JSON, which won); {summary.csv_scores} scored",
    ] + ([f"  missing parts       {', '.join(summary.missing_parts)}"] if summary.missing_parts else [])


PHYSIOLOGY_NAMES = {
    "heart_rate_intraday": "heart rate",
    "heart_rate_daily": "resting HR",
    "hrv": "HRV",
    "spo2": "SpO2",
    "breathing_rate": "breathing rate",
    "skin_temp": "skin temp",
}


def _physiology_lines(summary: ImportSummary) -> list[str]:
    """The physiology part of the summary: dates per kind, what the landing did, what was left out and why."""
    from pipeline.text import plural

    if not summary.physio_files:
        return ["  physiology          none in the archive"]
    kinds = ", ".join(
        f"{label} {summary.physio_days.get(kind, 0)}" for kind, label in PHYSIOLOGY_NAMES.items()
    )
    outcomes = summary.physio_outcomes
    lines = [
        f"  physiology          {plural(summary.physio_files, 'file')}"
        + (f" ({summary.physio_files_damaged} damaged)" if summary.physio_files_damaged else "")
        + f"; dates: {kinds}",
        f"                      {outcomes.get('written', 0)} new, {outcomes.get('revised', 0)} revised, "
        f"{outcomes.get('unchanged', 0)} unchanged, {summary.physio_days_kept} kept (API or newer archive); "
        f"{plural(summary.hr_samples, 'heart-rate sample')}",
    ]
    left_out = [
        (
            summary.hr_samples_other_sources,
            "heart-rate samples of another data source that day (never added up)",
        ),
        (summary.physio_other_family, "dates the other archive generation also had (one kept per kind)"),
        (summary.physio_no_reading, "rows meaning no reading (resting HR 0.0, SpO2 50, NaN)"),
        (summary.hr_samples_dropped, "heart-rate samples unreadable, repeated or outside their file's days"),
    ]
    shown = [f"{count} {what}" for count, what in left_out if count]
    for index, line in enumerate(shown):
        lines.append(("  left out            " if index == 0 else " " * 22) + line)
    return lines


def _print_summary(
    summary: ImportSummary, tables: TablesResult | None, counts: dict[str, int] | None
) -> None:
    from pipeline.text import plural

    span = (
        f"{summary.first_date.isoformat()} … {summary.last_date.isoformat()}"
        if summary.first_date and summary.last_date
        else "none"
    )
    # The tables' count (rows quarantined in the rebuilt months) includes the records the import could not date,
    # which it landed for the transform to quarantine; without rebuilt months only the import's own count is known.
    quarantined = tables.quarantined if tables is not None and tables.months else summary.records_quarantined
    # rows read from the archive's score files (copies across files included) vs the table's one row per scored log
    scores = f"{plural(summary.scores, 'row')} read ({summary.scores_state})"
    if tables is not None:
        scores += f"; {plural(tables.scores, 'scored log')} in the table"
    if tables is not None and tables.scores_without_log:
        scores += (
            f"; {tables.scores_without_log} left out of the table: their log is not in sleep_logs "
            "(kept in raw/sleep_scores)"
        )
    lines = [
        f"Imported {summary.archive} ({summary.layout})",
        *_takeout_lines(summary),
        f"  files               {plural(summary.files, 'sleep file')}"
        + (f", {summary.files_damaged} damaged" if summary.files_damaged else ""),
        f"  logs                {summary.logs}",
        f"  dates with sleep    {summary.dates_with_sleep}",
        f"  date range          {span}",
        f"  duplicates dropped  {summary.duplicates_dropped}",
        f"  records quarantined {quarantined}",
        f"  days                {summary.days_written} new, {summary.days_revised} revised, "
        f"{summary.days_unchanged} unchanged; {summary.days_empty} of the archive's days without sleep",
        f"  kept from the API   {plural(summary.days_kept_api, 'day')}"
        + (
            f" ({plural(summary.logs_superseded_by_api, 'log')} already landed by the API)"
            if summary.logs_superseded_by_api
            else ""
        ),
        f"  sleep scores        {scores}",
        *_physiology_lines(summary),
        f"  time zone           {summary.timezone} (from {summary.timezone_source})",
    ]
    if counts is not None:
        lines.append(
            f"  in the tables now   {counts['nights']} nights, {counts['main_sleeps']} main sleeps, "
            f"{counts['naps']} naps"
        )
    if summary.days_kept_newer:
        lines.append(f"  kept from a newer archive: {plural(summary.days_kept_newer, 'day')}")
    click.echo("\n".join(lines))
    problems = summary.problems + (tables.scores_problems if tables is not None else [])
    if problems:
        click.echo("Problems:")
        for problem in problems:
            click.echo(f"  - {problem}")
