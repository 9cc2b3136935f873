"""``fitbit-sleep sql``: a read-only SQL shell on the warehouse, with the DuckDB shell's dot commands and output modes.

Why our own shell and not the ``duckdb`` binary: the Python package ships no CLI, and the ``duckdb-cli`` wheel on
PyPI (1.5.6) cannot open a file written by the ``duckdb`` 2.0 library this product uses ("Trying to read a database
file with version number 69, but we can only read versions between 64 and 68"). So this shell speaks the subset
people type from habit (``.help``, ``.tables``, ``.schema``, ``.mode``, ``.quit``) and prints results:

- ``table`` on a terminal: DuckDB's box table fitted to the window (its footer says how many rows/columns it hid);
- ``table`` into a pipe or file: the same box with every row and every column, nothing cut;
- ``csv``, ``tsv``, ``json`` (one array), ``jsonl`` (one object per line) for scripts: ``--csv`` etc. or ``.mode``.

Read-only means it never blocks a running update: the build writes a new file and swaps it in.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import shutil
import sys
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

if TYPE_CHECKING:
    import duckdb

MODES = ("table", "csv", "tsv", "json", "jsonl")
TERMINAL_ROWS = 40  # rows a terminal table shows (head and tail), as the DuckDB shell does
EVERYTHING = 2**31 - 1  # "no limit" for the box renderer's width, rows and column width
HELP = """\
.help              this list
.tables            the tables and views
.schema [NAME]     the CREATE statement of every table/view, or of NAME
.mode [MODE]       show or set the output: table, csv, tsv, json, jsonl
.quit / .exit      leave (so does Ctrl-D)
Anything else is SQL; end a statement with ';'. The warehouse is read-only."""


class ShellError(Exception):
    """A statement or dot command failed; the message is one line."""


class Shell:
    """Runs SQL and dot commands against one read-only connection and prints the results in ``mode``."""

    def __init__(self, con: duckdb.DuckDBPyConnection, mode: str, out: TextIO, *, terminal: bool) -> None:
        self.con = con
        self.mode = mode
        self.out = out
        self.terminal = terminal

    # --- input -------------------------------------------------------------------------------------------------------
    def run(self, text: str) -> bool:
        """Run one dot command or a batch of SQL statements; False when the user asked to leave."""
        stripped = text.strip()
        if stripped.startswith(".") or stripped == "\\q":
            return self.dot(stripped)
        if stripped:
            self.sql(stripped)
        return True

    def dot(self, line: str) -> bool:
        name, _, arg = line.partition(" ")
        arg = arg.strip().rstrip(";").strip()
        if name in (".quit", ".exit", "\\q"):
            return False
        if name == ".help":
            self.write(HELP + "\n")
        elif name == ".tables":
            self.sql(
                "SELECT table_name AS name, lower(replace(table_type, 'BASE ', '')) AS type "
                "FROM information_schema.tables ORDER BY table_name"
            )
        elif name == ".schema":
            self.schema(arg)
        elif name == ".mode":
            if not arg:
                self.write(f"{self.mode}\n")
            elif arg in MODES:
                self.mode = arg
            else:
                raise ShellError(f"unknown mode {arg!r}; use one of {', '.join(MODES)}")
        else:
            raise ShellError(f"unknown command {name}; .help lists the commands")
        return True

    def schema(self, name: str) -> None:
        rows = self.con.execute(
            "SELECT name, sql FROM ("
            " SELECT table_name AS name, sql FROM duckdb_tables() WHERE NOT internal"
            " UNION ALL SELECT view_name, sql FROM duckdb_views() WHERE NOT internal"
            ") WHERE ? = '' OR lower(name) = lower(?) ORDER BY name",
            [name, name],
        ).fetchall()
        if name and not rows:
            raise ShellError(f"no table or view named {name!r}; .tables lists them")
        for _, statement in rows:
            text = str(statement).strip()
            self.write(text + ("" if text.endswith(";") else ";") + "\n")

    def sql(self, query: str) -> None:
        import duckdb

        try:
            rel = self.con.sql(query)
            if rel is None:
                self.write("OK\n")
                return
            self.show(rel)
        except duckdb.Error as exc:
            raise ShellError(one_line(exc)) from None

    # --- output ------------------------------------------------------------------------------------------------------
    def show(self, rel: duckdb.DuckDBPyRelation) -> None:
        if self.mode == "table":
            box = self._box(rel)
            self.write(box + "\n")
            if self.terminal and " shown)" in box.rsplit("\n", 1)[-1]:  # the footer says columns were hidden
                self.write("(every column: .mode jsonl, or `fitbit-sleep sql -c '…' | less -S`)\n")
            return
        columns = list(rel.columns)
        rows = _plain_rows(rel.fetchall())
        if self.mode in ("csv", "tsv"):
            writer = csv.writer(self.out, delimiter="," if self.mode == "csv" else "\t", lineterminator="\n")
            writer.writerow(columns)
            writer.writerows([_csv_cell(v) for v in row] for row in rows)
        elif self.mode == "json":
            records = [dict(zip(columns, row, strict=True)) for row in rows]
            self.write(json.dumps(records, ensure_ascii=False, indent=1) + "\n")
        else:  # jsonl
            for row in rows:
                self.write(json.dumps(dict(zip(columns, row, strict=True)), ensure_ascii=False) + "\n")

    def _box(self, rel: duckdb.DuckDBPyRelation) -> str:
        """DuckDB's own table renderer: fitted to a terminal, complete into a pipe or a file."""
        import io

        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):  # show() is the public renderer, and it prints
            if self.terminal:
                rel.show(max_width=shutil.get_terminal_size().columns, max_rows=TERMINAL_ROWS)
            else:
                rel.show(max_width=EVERYTHING, max_rows=EVERYTHING, max_col_width=EVERYTHING)
        return buffer.getvalue().rstrip("\n")

    def write(self, text: str) -> None:
        self.out.write(text)


def one_line(exc: BaseException) -> str:
    """DuckDB's message up to its first blank line (the part after it repeats the query with a caret), on one line."""
    head = str(exc).split("\n\n", 1)[0]
    return " ".join(part.strip() for part in head.splitlines() if part.strip())


def _plain_rows(rows: Iterable[tuple[Any, ...]]) -> list[list[Any]]:
    """Values as CSV and JSON can carry them: ISO dates and times, numbers, NaN/inf as null, the rest as text."""
    return [[_plain(v) for v in row] for row in rows]


def _csv_cell(value: Any) -> Any:
    """NULL as an empty cell and booleans as SQL writes them (true/false), as DuckDB's own CSV does."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def repl(shell: Shell, read_line: Callable[[str], str], *, interactive: bool, warehouse: Path) -> int:
    """Read statements until ``.quit`` or end of input; returns the number of failed statements.

    A statement ends with ';' (a dot command with the line); what is left at end of input runs too, so
    ``echo "select 1" | fitbit-sleep sql`` works. Prompts and the banner only appear on a terminal."""
    if interactive:
        click.echo(f"Read-only SQL on {warehouse}. End statements with ';'. .help lists the dot commands.")
    buffer: list[str] = []
    failures = 0
    while True:
        try:
            line = read_line("sql> " if not buffer else " ..> ")
        except EOFError:
            if interactive:
                click.echo()
            break
        except KeyboardInterrupt:  # Ctrl-C drops the statement being typed, as in the DuckDB shell
            click.echo()
            buffer = []
            continue
        if not buffer and (line.strip().startswith(".") or line.strip() == "\\q"):
            text, buffer = line, []
        else:
            buffer.append(line)
            if not line.strip().endswith(";"):
                continue
            text, buffer = "\n".join(buffer), []
        try:
            if not shell.run(text):
                return failures
        except ShellError as exc:
            failures += 1
            click.echo(f"Error: {exc}", err=True)
    if "".join(buffer).strip():
        try:
            shell.run("\n".join(buffer))
        except ShellError as exc:
            failures += 1
            click.echo(f"Error: {exc}", err=True)
    return failures


def _line_reader(interactive: bool) -> Callable[[str], str]:
    if interactive:
        with contextlib.suppress(ImportError):  # Windows has none
            import readline  # noqa: F401 - gives input() line editing and history
        return input

    def read(_prompt: str) -> str:
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    return read


@click.command("sql")
@click.option(
    "-c", "--command", "query", default=None, help="Run this SQL (or dot command) and print the result."
)
@click.option(
    "-f",
    "--file",
    "query_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Run the SQL in this file (e.g. sql/queries/weekday_vs_weekend.sql).",
)
@click.option("--table", "mode", flag_value="table", help="Box table (the default).")
@click.option("--csv", "mode", flag_value="csv", help="CSV with a header row.")
@click.option("--tsv", "mode", flag_value="tsv", help="Tab-separated with a header row.")
@click.option("--json", "mode", flag_value="json", help="One JSON array of objects.")
@click.option("--jsonl", "mode", flag_value="jsonl", help="One JSON object per line.")
@click.option(
    "--allow-files",
    is_flag=True,
    help="Let SQL read and write files (read_csv, COPY … TO, ATTACH); by default it sees the warehouse only.",
)
def sql(query: str | None, query_file: Path | None, mode: str | None, allow_files: bool) -> None:
    """Open a READ-ONLY SQL shell on the warehouse (or run -c QUERY / -f FILE).

    Tables: sleep_logs, sleep_segments, nights, quarantine, sleep_scores, coverage; views main_sleeps,
    sleep_logs_scored. Dot commands: .help, .tables, .schema, .mode, .quit. Into a pipe or a file the table shows
    every row and column; --csv/--tsv/--json/--jsonl suit scripts. Safe while an update runs: the update writes a
    new file and swaps it in; this session keeps its snapshot. SQL cannot touch other files unless --allow-files.
    """
    from pipeline.config import Settings
    from pipeline.errors import FitbitSleepError
    from pipeline.paths import StoragePaths
    from pipeline.warehouse import connect_readonly

    paths = StoragePaths(Settings.from_env().home)
    try:
        con = connect_readonly(paths, sealed=not allow_files)
    except FitbitSleepError as exc:
        raise click.ClickException(str(exc)) from None
    shell = Shell(con, mode or "table", sys.stdout, terminal=sys.stdout.isatty())
    try:
        if query_file is not None:
            shell.run(query_file.read_text(encoding="utf-8"))
        if query is not None:
            shell.run(query)
        if query is None and query_file is None:
            interactive = sys.stdin.isatty()
            failures = repl(
                shell, _line_reader(interactive), interactive=interactive, warehouse=paths.warehouse_file
            )
            if failures and not interactive:
                sys.exit(1)  # a script whose statements failed must not look successful
    except ShellError as exc:
        raise click.ClickException(str(exc)) from None
    except BrokenPipeError:  # `fitbit-sleep sql ... | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # keeps the exit-time flush quiet
    finally:
        con.close()
