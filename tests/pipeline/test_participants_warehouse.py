"""The shared warehouse keeps participants apart: two participants whose nights interleave (same nights, and log ids
from the same date bands, so ids collide) each see exactly the warehouse they would have alone.

Real sandbox accounts, real logins, real landing, Parquet tables and DuckDB files."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb

from pipeline.cohort_fetch import fetch_participants
from pipeline.participants import participant_tz
from pipeline.paths import StoragePaths
from pipeline.source_client import open_client
from pipeline.tables import update_tables
from pipeline.warehouse import build_warehouse, connect_participant
from tests.clock import TEST_TODAY
from tests.dagster_project.dagster_helpers import add_and_login, sandbox_settings

PEOPLE = ("p1", "p2")
# every table and view a person's figures, report and metrics read
RELATIONS = (
    "nights",
    "sleep_logs",
    "sleep_segments",
    "main_sleeps",
    "naps",
    "coverage",
    "sleep_log_periods",
    "sleep_bouts",
    "night_metrics",
    "sri_day_intervals",
    "sri_pairs",
    "sri_rolling",
    "period_metrics",
    "period_metrics_28d",
    "sleep_debt",
    "work_free_nights",
)
VOLATILE = {"participant_id", "ingested_at", "fetched_at"}


def land_cohort(server: Any, home: Path, people: tuple[str, ...], days: int) -> StoragePaths:
    """Register, log in, fetch and table ``days`` days for each participant; returns the cohort root's paths."""
    add_and_login(server, home, people)
    root = StoragePaths(home)
    settings = sandbox_settings(server, home)
    start, end = TEST_TODAY - timedelta(days=days - 1), TEST_TODAY
    cohort = fetch_participants(
        [root.participant(p) for p in people],
        start,
        end,
        lambda own: open_client(replace(settings, home=own.root)),
    )
    assert not cohort.failed, cohort.failure_summary()
    if len(people) > 1:
        assert share_log_ids(root, people[0], people[1]) > days // 2
    for p in people:
        own = root.participant(p)
        update_tables(own, tz=participant_tz(own))
    return root


def share_log_ids(root: StoragePaths, donor: str, taker: str) -> int:
    """Give ``taker``'s logs the log ids of ``donor``'s logs of the same date (in start order), as two participants of
    sources with per-account id spaces would have; returns how many ids are now shared. Real ids never collide on
    Fitbit, but a join on ``log_id`` alone must still never mix two people."""
    import json

    from pipeline.landing import payload_sha256

    shared = 0
    for path in sorted(root.participant(taker).raw_sleep_dir.glob("date=*.json")):
        record = json.loads(path.read_bytes())
        other = root.participant(donor).raw_sleep_dir / path.name
        if not other.exists():
            continue
        donor_logs = sorted(
            json.loads(other.read_bytes())["payload"]["sleep"], key=lambda log: log["startTime"]
        )
        logs = sorted(record["payload"]["sleep"], key=lambda log: log["startTime"])
        for log, theirs in zip(logs, donor_logs, strict=False):
            log["logId"] = theirs["logId"]
            shared += 1
        record["payload"]["sleep"] = logs
        record["payload_sha256"] = payload_sha256(logs)
        path.write_text(json.dumps(record))
    return shared


def _rows(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[Any, ...]]:
    cols = [r[0] for r in con.execute(f'DESCRIBE "{relation}"').fetchall() if r[0] not in VOLATILE]
    return con.execute(f'SELECT {", ".join(cols)} FROM "{relation}" ORDER BY ALL').fetchall()


def test_interleaved_participants_each_see_their_own_warehouse(sandbox_factory: Any, tmp_path: Path) -> None:
    server = sandbox_factory(days=70, accounts=PEOPLE)
    root = land_cohort(server, tmp_path / "cohort", PEOPLE, days=60)
    build_warehouse(root)
    shared = duckdb.connect(str(root.warehouse_file), read_only=True)
    try:
        nights = dict(shared.execute("SELECT participant_id, count(*) FROM nights GROUP BY 1").fetchall())
        clashing = shared.execute(
            "SELECT count(*) FROM (SELECT log_id FROM sleep_logs GROUP BY log_id HAVING count(DISTINCT participant_id) > 1)"
        ).fetchone()
        people = shared.execute("SELECT participant_id, status FROM participants ORDER BY 1").fetchall()
    finally:
        shared.close()
    assert set(nights) == set(PEOPLE) and min(nights.values()) > 50
    assert (
        clashing is not None and clashing[0] > 10
    )  # the same log ids: a join on log_id alone would mix them
    assert people == [("p1", "active"), ("p2", "active")]
    for p in PEOPLE:
        solo_home = tmp_path / f"solo-{p}"
        shutil.copytree(root.participant(p).root, solo_home)  # the participant's data root, alone
        solo = StoragePaths(solo_home)
        build_warehouse(solo)
        alone = duckdb.connect(str(solo.warehouse_file), read_only=True)
        scoped = connect_participant(root.participant(p))
        try:
            for relation in RELATIONS:
                expected = _rows(alone, relation)
                assert expected or relation in ("naps",), (p, relation)
                assert _rows(scoped, relation) == expected, (p, relation)
            assert scoped.execute("SELECT DISTINCT participant_id FROM night_metrics").fetchall() == [(p,)]
        finally:
            alone.close()
            scoped.close()


def test_a_single_user_root_is_unchanged_and_its_warehouse_says_default(sandbox: Any, tmp_path: Path) -> None:
    from tests.dagster_project.dagster_helpers import login_to

    home = tmp_path / "home"
    login_to(sandbox, home)
    paths = StoragePaths(home)
    settings = sandbox_settings(sandbox, home)
    cohort = fetch_participants(
        [paths], TEST_TODAY - timedelta(days=20), TEST_TODAY, lambda own: open_client(settings)
    )
    assert not cohort.failed
    update_tables(paths)
    build_warehouse(paths)
    assert sorted(p.name for p in home.iterdir()) == ["raw", "state", "tables", "tokens", "warehouse.duckdb"]
    con = connect_participant(paths)
    try:
        assert con.execute("SELECT DISTINCT participant_id FROM nights").fetchall() == [("default",)]
        assert con.execute("SELECT participant_id, status FROM participants").fetchall() == [
            ("default", "active")
        ]
    finally:
        con.close()
