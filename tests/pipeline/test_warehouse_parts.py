"""The warehouse's parts: a daily update writes what changed (not the history), gives what a from-scratch build gives,
and never pulls a part from under a reader, however many updates run while it is open."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from landing_fixtures import land_logs
from warehouse_reader import warehouse_reader

from fitbit_sandbox.generator import generate_history
from pipeline.paths import StoragePaths
from pipeline.tables import update_tables
from pipeline.warehouse import WarehouseResult, build_warehouse, connect_readonly
from pipeline.warehouse_parts import KEEP_GENERATIONS, parts_dir

LA = "America/Los_Angeles"
END = date(2025, 6, 20)  # the daily update's 3 days sit inside June; the nights' month before is May
LATER = datetime(2025, 6, 21, 6, tzinfo=UTC)

READER = (
    "SELECT (SELECT count(*) FROM sleep_segments), (SELECT count(*) FROM sleep_logs), "
    "(SELECT sum(seconds) FROM sleep_bouts), (SELECT count(*) FROM night_metrics)"
)


def _history(paths: StoragePaths, days: int) -> None:
    land_logs(paths, generate_history(7, days, END, LA))
    update_tables(paths, tz=LA)
    build_warehouse(paths)


def _daily_update(paths: StoragePaths, last: date = END, seed: int = 99) -> WarehouseResult:
    """The daily run's shape: the last 3 days landed again (other content), their months' tables, the warehouse."""
    logs = [
        log
        for log in generate_history(seed, 3, last, LA)
        if date.fromisoformat(log["dateOfSleep"]) > last - timedelta(days=3)
    ]
    dates = land_logs(paths, logs, fetched_at=LATER + timedelta(days=(last - END).days))
    update_tables(paths, dates, tz=LA)
    return build_warehouse(paths)


def _parts(paths: StoragePaths) -> set[Path]:
    return set(parts_dir(paths).glob("*/*/*.parquet"))


def _current(paths: StoragePaths) -> set[Path]:
    con = connect_readonly(paths)
    try:
        return {Path(r[0]) for r in con.execute("SELECT path FROM warehouse_files").fetchall()}
    finally:
        con.close()


def _relations(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() UNION ALL "
            "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1"
        ).fetchall()
    ]


def test_a_daily_update_writes_the_changed_months_whatever_the_history(tmp_path: Path) -> None:
    written: dict[int, tuple[WarehouseResult, set[str]]] = {}
    for days in (40, 380):  # the long one holds a closed year (2024) in one part per table
        paths = StoragePaths(tmp_path / str(days))
        _history(paths, days)
        before = _parts(paths)
        result = _daily_update(paths)
        new = _parts(paths) - before
        written[days] = (result, {p.name.split("-")[0] + "-" + p.name.split("-")[1] for p in new})
        assert result.parts_written == len(new) and result.parts_reused > 0
        assert result.bytes_written == result.bytes + sum(p.stat().st_size for p in new)
    short, long = written[40], written[380]
    # only the parts of June (the 3 days) and May (their nights' month before) are written, at either length
    assert short[1] <= {"2025-05", "2025-06"} and long[1] <= {"2025-05", "2025-06"}, (short[1], long[1])
    assert long[0].parts_written == short[0].parts_written
    # so the bytes follow the new days: 10x the history, about the same bytes (the file lists a few more parts)
    assert long[0].bytes_written <= 1.25 * short[0].bytes_written, (
        long[0].bytes_written,
        short[0].bytes_written,
    )
    assert long[0].rows["sleep_logs"] > 5 * short[0].rows["sleep_logs"]


def test_updated_in_place_equals_a_build_from_scratch(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path / "updated")
    _history(paths, 380)
    _daily_update(paths)
    _daily_update(paths, END + timedelta(days=12), seed=5)  # into July: a new month part, June changed again
    fresh = StoragePaths(tmp_path / "fresh")
    for name in ("raw", "tables"):
        shutil.copytree(paths.root / name, fresh.root / name)
    build_warehouse(fresh)
    a, b = connect_readonly(paths), connect_readonly(fresh)
    try:
        names = _relations(a)
        assert names == _relations(b) and {"sleep_bouts", "sri_pairs", "night_metrics", "nights"} <= set(
            names
        )
        for name in names:
            if name == "warehouse_files":  # the paths of each root's own parts
                continue
            assert (
                a.execute(f"SELECT * FROM {name}").fetchall() == b.execute(f"SELECT * FROM {name}").fetchall()
            ), name
        assert a.execute("SELECT count(*) FROM sleep_bouts").fetchall()[0][0] > 0
    finally:
        a.close()
        b.close()


def test_a_reader_keeps_its_snapshot_through_many_updates_and_its_parts_go_after_it(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    _history(paths, 40)
    generations = parts_dir(paths) / "generations"
    with warehouse_reader(tmp_path, READER) as reader:
        newest = max(generations.glob("*.json"), key=lambda p: int(p.stem))
        theirs = {Path(part["path"]) for part in json.loads(newest.read_text())["parts"]}
        for k in range(1, KEEP_GENERATIONS + 3):  # more updates than generations kept without a reader
            _daily_update(paths, END + timedelta(days=k), seed=k)
        # the reader's generation is still there, and so are the parts its views name (some no longer current)
        assert len(list(generations.glob("*.json"))) == KEEP_GENERATIONS + 1
        assert theirs <= _parts(paths) and theirs - _current(paths)
        assert reader.again() == reader.first
        fresh = connect_readonly(paths)
        assert fresh.execute("SELECT count(*) FROM sleep_logs").fetchall()[0][0] > int(reader.first[1])
        fresh.close()
    _daily_update(paths, END + timedelta(days=9), seed=9)  # the reader is gone: its generation and parts go
    kept = list(generations.glob("*.json"))
    assert len(kept) == KEEP_GENERATIONS
    listed = {Path(part["path"]) for g in kept for part in json.loads(g.read_text())["parts"]}
    assert _parts(paths) == listed and not theirs <= listed


def test_the_sealed_shell_reads_the_parts_and_no_other_file(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    _history(paths, 40)
    con = connect_readonly(paths, sealed=True)
    try:
        assert con.execute("SELECT count(*) FROM night_metrics").fetchall()[0][0] > 30
        [(part,)] = con.execute(
            "SELECT path FROM warehouse_files WHERE table_name = 'sleep_segments' LIMIT 1"
        ).fetchall()
        assert Path(part).is_relative_to(parts_dir(paths))  # copies: tables/ is out of the shell's reach
        source = next(paths.tables_dir.glob("sleep_logs/month=*/part-0.parquet"))
        try:
            con.execute(f"SELECT count(*) FROM read_parquet('{source}')").fetchall()
            raise AssertionError("the sealed shell read a file outside the warehouse")
        except duckdb.PermissionException:
            pass
    finally:
        con.close()


def test_a_root_spelt_relative_then_absolute_keeps_every_part_the_warehouse_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make demo` builds with an absolute data root, `fitbit-sleep backfill` then with FITBIT_SLEEP_HOME=data from
    the same folder: the parts the warehouse names must survive the second build's clean-up (they were all
    deleted once, and every figure failed)."""
    absolute = StoragePaths(tmp_path / "data")
    _history(absolute, 60)
    monkeypatch.chdir(tmp_path)
    relative = StoragePaths(Path("data"))
    _daily_update(relative)
    named = _current(relative)
    assert named and all(p.is_absolute() and p.exists() for p in named)
    assert named <= _parts(absolute)
    con = connect_readonly(absolute)
    try:
        assert con.execute(READER).fetchone()[0] > 0  # type: ignore[index]
    finally:
        con.close()
