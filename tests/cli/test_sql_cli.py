"""`fitbit-sleep sql` as people use it: dot commands, every column and row into a pipe, CSV/JSON for scripts,
one-line errors; and once in a real pseudo-terminal (banner, prompt, table fitted to the window)."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import select
import struct
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from fitbit_sandbox.generator import generate_history
from fitbit_sleep.cli import main
from pipeline.paths import StoragePaths
from pipeline.tables import update_tables
from pipeline.warehouse import build_warehouse

sys.path.insert(0, str(Path(__file__).parents[1] / "pipeline"))
from landing_fixtures import land_logs  # noqa: E402

QUERY = "select * from nights order by night_date limit 25"


@pytest.fixture(scope="module")
def warehouse_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse of 40 sandbox nights (pinned dates), built once for the module."""
    home = tmp_path_factory.mktemp("sql") / "home"
    paths = StoragePaths(home)
    land_logs(paths, generate_history(42, 40, date(2026, 9, 30), "America/Los_Angeles"))
    update_tables(paths, None, tz="America/Los_Angeles")
    build_warehouse(paths)
    return home


@pytest.fixture
def home(warehouse_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FITBIT_SLEEP_HOME", str(warehouse_home))
    return warehouse_home


def _sql(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(main, ["sql", *args], input=input, catch_exceptions=False)


def _columns(home: Path, table: str) -> list[str]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return [row[0] for row in con.execute(f"describe {table}").fetchall()]


def _scalar(home: Path, sql: str) -> Any:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        row = con.execute(sql).fetchone()
        assert row is not None
        return row[0]


def test_into_a_pipe_the_table_shows_every_column_and_every_row(home: Path) -> None:
    result = _sql("-c", QUERY)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    header = lines[1]
    columns = _columns(home, "nights")
    assert [c.strip() for c in header.strip("│").split("│")] == columns  # all of them, none elided
    data_rows = [line for line in lines[4:] if line.startswith("│")]
    assert len(data_rows) == 25 and "…" not in result.stdout
    assert lines[-1].split() == ["25", "rows", str(len(columns)), "columns"]  # no "(n shown)"


def test_csv_tsv_json_and_jsonl_carry_every_row_and_column(home: Path) -> None:
    columns = _columns(home, "nights")
    rows = list(csv.reader(io.StringIO(_sql("--csv", "-c", QUERY).stdout)))
    assert rows[0] == columns and len(rows) == 26
    night = columns.index("night_date")
    assert date.fromisoformat(rows[1][night]) and rows[1][columns.index("is_weekend")] in ("true", "false")
    tsv = list(csv.reader(io.StringIO(_sql("--tsv", "-c", QUERY).stdout), delimiter="\t"))
    assert tsv == rows
    records = json.loads(_sql("--json", "-c", QUERY).stdout)
    assert len(records) == 25 and list(records[0]) == columns
    assert records[0]["night_date"] == rows[1][night] and isinstance(records[0]["minutes_asleep"], int)
    lines = _sql("--jsonl", "-c", QUERY).stdout.splitlines()
    assert [json.loads(line) for line in lines] == records


def test_dot_commands_in_a_piped_session(home: Path) -> None:
    script = (
        ".help\n.tables\n.mode\n.mode csv\n.mode\nselect count(*) as n\nfrom nights;\n.schema main_sleeps\n"
        ".quit\nselect 'not run';\n"
    )
    result = _sql(input=script)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert ".schema [NAME]" in out and ".mode [MODE]" in out  # .help
    for name in ("coverage", "main_sleeps", "nights", "quarantine", "sleep_logs", "sleep_logs_scored"):
        assert f"│ {name} " in out  # .tables (in table mode)
    assert "\ntable\n" in out and "\ncsv\n" in out  # .mode shows, then sets
    nights = _scalar(home, "select count(*) from nights")
    assert f"\nn\n{nights}\n" in out  # the statement spread over two lines ran once, as CSV
    view = _scalar(home, "select sql from duckdb_views() where view_name = 'main_sleeps'")
    assert view.strip() in out  # .schema prints the view's CREATE statement
    assert "not run" not in out and "sql>" not in out  # .quit stopped it; no prompts into a pipe


def test_a_statement_without_semicolon_at_the_end_of_input_still_runs(home: Path) -> None:
    result = _sql("--csv", input="select 41 + 1 as answer\n")
    assert result.exit_code == 0 and result.stdout == "answer\n42\n"


def test_dot_commands_work_with_c_too(home: Path) -> None:
    result = _sql("--csv", "-c", ".tables")
    assert result.stdout.splitlines()[0] == "name,type" and "sleep_scores,table" in result.stdout


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("select * from nope", "Error: Catalog Error: Table with name nope does not exist!"),
        ("select * frm nights", "Error: Parser Error: syntax error at or near"),
        ("delete from nights", "read-only mode"),
        (".bogus", "Error: unknown command .bogus; .help lists the commands"),
        (".mode html", "Error: unknown mode 'html'; use one of table, csv, tsv, json, jsonl"),
        (".schema nope", "Error: no table or view named 'nope'; .tables lists them"),
    ],
)
def test_errors_are_one_line(home: Path, query: str, says: str) -> None:
    result = CliRunner().invoke(main, ["sql", "-c", query])
    assert result.exit_code == 1 and says in result.stderr
    assert result.stderr.count("\n") == 1 and "LINE 1" not in result.stderr and result.stdout == ""


def test_a_piped_script_with_a_failing_statement_goes_on_but_exits_non_zero(home: Path) -> None:
    result = CliRunner().invoke(main, ["sql", "--csv"], input="select nope;\nselect 7 as n;\n")
    assert result.exit_code == 1 and result.stdout == "n\n7\n"
    assert result.stderr.startswith("Error: Binder Error:") and result.stderr.count("\n") == 1


def test_in_a_terminal_there_is_a_banner_a_prompt_and_a_table_fitted_to_the_window(home: Path) -> None:
    import fcntl
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))  # 30 rows x 100 columns
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("fitbit-sleep")), "sql"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**env, "FITBIT_SLEEP_HOME": str(home)},
    )
    os.close(slave)
    os.write(master, b"select * from nights order by night_date;\n.quit\n")
    seen = b""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(timeout=30)
    os.close(master)
    text = seen.decode("utf-8", "replace").replace("\r\n", "\n")
    assert proc.returncode == 0, text
    assert "Read-only SQL on" in text and "sql> " in text
    table = [line for line in text.splitlines() if line.startswith(("┌", "│", "└"))]
    assert table and max(len(line) for line in table) <= 100
    nights, columns = _scalar(home, "select count(*) from nights"), len(_columns(home, "nights"))
    assert f"{nights} rows" in text and f"{columns} columns (" in text and " shown)" in text  # what it hid
    assert "(every column: .mode jsonl, or `fitbit-sleep sql -c '…' | less -S`)" in text


@pytest.mark.parametrize(
    "statement",
    [
        "COPY sleep_logs TO '{out}'",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM read_csv('/etc/passwd')",
        "ATTACH '{out}.duckdb' AS other",
        "SET enable_external_access = true",
    ],
)
def test_the_read_only_shell_cannot_write_or_read_other_files(
    home: Path, tmp_path: Path, statement: str
) -> None:
    out = tmp_path / "leak.csv"
    result = _sql("-c", statement.format(out=out))
    assert result.exit_code != 0
    assert "disabled by configuration" in result.output or "locked" in result.output, result.output
    assert "Traceback" not in result.output and not list(tmp_path.iterdir())
    assert _sql("-c", "select count(*) as n from nights").exit_code == 0  # the warehouse itself still answers


def test_allow_files_lets_sql_write_a_file_when_asked(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "nights.csv"
    result = _sql("--allow-files", "-c", f"COPY (select night_date from nights) TO '{out}'")
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("night_date\n")
