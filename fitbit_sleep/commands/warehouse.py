"""``fitbit-sleep rebuild`` and ``fitbit-sleep sql``: the tables and the warehouse.

Why here: ``rebuild`` is the escape hatch that proves the raw landing is the source of truth (every table is
derived from ``raw/`` alone); ``sql`` gives users a read-only DuckDB shell without the DuckDB CLI binary (the Python
package has none). Read-only means it never blocks a running update: the build swaps in a new file instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    import duckdb


def _paths():  # type: ignore[no-untyped-def]
    from pipeline.config import Settings
    from pipeline.paths import StoragePaths

    return StoragePaths(Settings.from_env().home)


@click.command("rebuild")
@click.option(
    "--tz",
    default=None,
    help="IANA time zone of the local sleep times (default: FITBIT_SLEEP_TZ, else the zone the tables were built "
    "in, else the login profile's). Remembered: later imports and updates use it.",
)
@click.option(
    "--night-offset-hours",
    default=12,
    show_default=True,
    type=int,
    help="night_date = local date of startTime minus this many hours (12: the evening the night began).",
)
def rebuild(tz: str | None, night_offset_hours: int) -> None:
    """Rebuild every table from the raw landing alone, then the warehouse."""
    from pipeline.errors import FitbitSleepError
    from pipeline.tables import update_tables
    from pipeline.warehouse import build_warehouse

    paths = _paths()
    try:
        result = update_tables(paths, None, tz=tz, night_offset_hours=night_offset_hours)
    except (ValueError, FitbitSleepError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"tables: {result.dates} landed dates, {result.logs} logs, {result.segments} segments, {result.nights_rebuilt} nights, "
        f"{result.quarantined} quarantined (tz {result.tz}); {result.files_written} files written, "
        f"{result.files_unchanged} unchanged, {result.files_deleted} removed"
    )
    if result.unknown_keys:
        click.echo(
            "unknown keys ignored: " + ", ".join(f"{k} x{n}" for k, n in sorted(result.unknown_keys.items()))
        )
    if result.unknown_levels:
        click.echo(
            "unknown levels kept: " + ", ".join(f"{k} x{n}" for k, n in sorted(result.unknown_levels.items()))
        )
    built = build_warehouse(paths)
    click.echo(
        f"warehouse: {built.path} ({built.bytes / 1e6:.1f} MB, {built.seconds:.2f} s): "
        + ", ".join(f"{name} {n}" for name, n in built.rows.items())
    )


def _run(con: duckdb.DuckDBPyConnection, query: str) -> None:
    """Run one or more statements; print the result of the last one as a table."""
    import duckdb

    try:
        rel = con.sql(query)
    except duckdb.Error as exc:
        raise click.ClickException(str(exc)) from None
    if rel is None:
        click.echo("OK")
    else:
        click.echo(str(rel))


@click.command("sql")
@click.option("-c", "--command", "query", default=None, help="Run this SQL and print the result.")
@click.option(
    "-f",
    "--file",
    "query_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Run the SQL in this file (e.g. sql/queries/weekday_vs_weekend.sql).",
)
def sql(query: str | None, query_file: Path | None) -> None:
    """Open a READ-ONLY SQL shell on the warehouse (or run -c QUERY / -f FILE).

    Tables: sleep_logs, sleep_segments, nights, quarantine, sleep_scores, coverage. Safe while an update runs:
    the update writes a new file and swaps it in; this session keeps its snapshot.
    """
    from pipeline.errors import FitbitSleepError
    from pipeline.warehouse import connect_readonly

    try:
        con = connect_readonly(_paths())
    except FitbitSleepError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        if query_file is not None:
            _run(con, query_file.read_text(encoding="utf-8"))
        if query is not None:
            _run(con, query)
        if query is None and query_file is None:
            _repl(con)
    finally:
        con.close()


def _repl(con: duckdb.DuckDBPyConnection) -> None:
    click.echo(
        "Read-only DuckDB shell on the warehouse. End statements with ';'. '.tables' lists tables, '.quit' leaves."
    )
    buffer: list[str] = []
    while True:
        try:
            line = click.prompt(
                "sql>" if not buffer else "...>", prompt_suffix=" ", default="", show_default=False
            )
        except (EOFError, click.Abort):
            click.echo()
            return
        stripped = line.strip()
        if not buffer and stripped in (".quit", ".exit", "\\q"):
            return
        if not buffer and stripped == ".tables":
            _run(con, "SELECT table_name, table_type FROM information_schema.tables ORDER BY table_name")
            continue
        buffer.append(line)
        if stripped.endswith(";"):
            statement = "\n".join(buffer)
            buffer = []
            try:
                _run(con, statement)
            except click.ClickException as exc:
                click.echo(f"Error: {exc.message}", err=True)
