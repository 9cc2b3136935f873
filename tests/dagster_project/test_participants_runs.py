"""Participants through real Dagster runs: three participants end to end, one revoked in the middle of a backfill
fails alone while the others land, the failed run is visible as failed and names them, re-executing it from the
failure fetches only the missing participant, and re-running the backfill changes no table.

The definitions are the deployed ones (``build_defs()`` from the environment), so the re-execution can rebuild the
job the way the daemon does (``reconstructable``)."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    JobDefinition,
    ReexecutionOptions,
    execute_job,
    reconstructable,
)

from dagster_project.backfill import run_backfill
from pipeline.paths import StoragePaths
from tests.clock import TEST_TODAY
from tests.dagster_project.dagster_helpers import (
    SANDBOX_TZ,
    account_calls,
    add_and_login,
    login_to,
    set_account,
)

pytestmark = pytest.mark.slow  # real Dagster runs for three participants: run first (tests/conftest.py)

PEOPLE = ("p1", "p2", "p3")
END = TEST_TODAY - timedelta(days=1)
# Two runs of 10 days: what is tested is a revocation between two runs, not the 100-day run size (test_backfill.py
# and test_dagster_dev.py check that), and 3 participants x 130 days made this one of the slowest tests.
DAYS, CHUNK_DAYS = 20, 10
START = END - timedelta(days=DAYS - 1)


def daily_job() -> JobDefinition:
    """The daily job as the code location builds it (module level, so ``reconstructable`` can rebuild it)."""
    from dagster_project.definitions import build_defs

    return build_defs().resolve_job_def("sleep_daily_job")


@pytest.fixture
def cohort(
    sandbox_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, use_sandbox: Any
) -> tuple[Any, Path]:
    server = use_sandbox(sandbox_factory(days=DAYS + 20, accounts=PEOPLE))
    home = tmp_path / "home"
    monkeypatch.setenv("FITBIT_SLEEP_HOME", str(home))
    monkeypatch.setenv("FITBIT_SLEEP_START_DATE", (TEST_TODAY - timedelta(days=DAYS + 10)).isoformat())
    monkeypatch.setenv("FITBIT_SLEEP_TZ", SANDBOX_TZ)
    add_and_login(server, home, PEOPLE)
    return server, home


def _landed(home: Path, participant: str) -> set[date]:
    own = StoragePaths(home).participant(participant)
    return {date.fromisoformat(p.stem.removeprefix("date=")) for p in own.raw_sleep_dir.glob("date=*.json")}


def _nights(home: Path, participant: str) -> set[date]:
    files = sorted(
        str(p) for p in (home / "participants" / participant / "tables" / "nights").glob("*/*.parquet")
    )
    return {r[0] for r in duckdb.sql(f"SELECT night_date FROM read_parquet({files})").fetchall()}


def _tables_digest(home: Path) -> dict[str, str]:
    """Each Parquet table's rows (without ingestion times) per participant, hashed."""
    out = {}
    for part in sorted(home.glob("participants/*/tables/*")):
        files = sorted(str(p) for p in part.glob("*/*.parquet"))
        if not files:
            continue
        rel = duckdb.sql(f"SELECT * EXCLUDE (ingested_at) FROM read_parquet({files})") if _has_ingested(files) else (
            duckdb.sql(f"SELECT * FROM read_parquet({files})")
        )  # fmt: skip
        rows = rel.order("ALL").fetchall()
        out[str(part.relative_to(home))] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out


def _has_ingested(files: list[str]) -> bool:
    return "ingested_at" in {
        r[0] for r in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet({files})").fetchall()
    }


def test_one_revoked_participant_fails_alone_and_a_reexecution_fetches_only_it(
    cohort: tuple[Any, Path], tmp_path: Path
) -> None:
    from dagster_project.definitions import build_defs

    server, home = cohort
    defs = build_defs()
    chunks_done: list[Any] = []

    def revoke_after_the_first_run(chunk: Any) -> None:
        chunks_done.append(chunk)
        if len(chunks_done) == 1:
            set_account(server, "p2", "revoked")  # p2 withdraws consent between the two runs

    (tmp_path / "dagster_home").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / "dagster_home")) as instance:
        outcome = run_backfill(
            defs,
            instance,
            START,
            END,
            downstream=False,
            on_chunk_done=revoke_after_the_first_run,
            chunk_days=CHUNK_DAYS,
        )
        first, second = outcome.chunks
        assert first.success and not second.success
        assert second.landed and second.participants_failed == "p2"
        assert "p2: ReauthRequired" in second.error and "invalid_grant" in second.error
        assert "fitbit-sleep login --participant p2" in second.error
        assert "1 of 3 participants failed" in second.error
        run = instance.get_run_by_id(second.run_id)
        assert run is not None and run.status == DagsterRunStatus.FAILURE

        window = {START + timedelta(days=i) for i in range(DAYS)}
        second_window = {d for d in window if d >= second.start}
        for p in ("p1", "p3"):
            assert window <= _landed(home, p), p
            assert max(_nights(home, p)) >= END - timedelta(days=1), p  # their tables hold the second run too
        assert not second_window & _landed(home, "p2")
        assert window - second_window <= _landed(home, "p2")

        # p2 consents again; re-executing the failed run from its failure fetches p2 alone
        set_account(server, "p2", "ok")
        login_to(server, home, "p2")
        before = account_calls(server)
        result = execute_job(
            reconstructable(daily_job),
            instance=instance,
            reexecution_options=ReexecutionOptions.from_failure(second.run_id, instance),
            tags={
                k: v for k, v in run.tags.items() if k.startswith("dagster/asset_partition_range")
            },  # as the UI
        )
        failures = [
            (e.step_failure_data.error.to_string() if e.step_failure_data.error else "")
            for e in result.all_events
            if e.is_step_failure
        ]
        assert result.success, failures
        after = account_calls(server)
        assert after["p2"] == before["p2"] + 1
        assert (after["p1"], after["p3"]) == (before["p1"], before["p3"])
        assert window <= _landed(home, "p2")
        assert max(_nights(home, "p2")) >= END - timedelta(days=1)

        # the whole backfill again: every participant fetched, no table changes
        digest = _tables_digest(home)
        assert len(digest) >= 9  # 3 participants x logs, segments, nights (at least)
        again = run_backfill(defs, instance, START, END, downstream=False, chunk_days=CHUNK_DAYS)
        assert again.success, [c.error for c in again.chunks]
        assert _tables_digest(home) == digest


def test_a_participant_tag_limits_the_runs_to_that_participant(
    cohort: tuple[Any, Path], tmp_path: Path
) -> None:
    from dagster_project.definitions import build_defs

    server, home = cohort
    before = account_calls(server)
    (tmp_path / "dagster_home").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / "dagster_home")) as instance:
        outcome = run_backfill(build_defs(), instance, END - timedelta(days=9), END, participant="p3")
    assert outcome.success and outcome.downstream_success
    after = account_calls(server)
    assert after["p3"] == before["p3"] + 1 and (after["p1"], after["p2"]) == (before["p1"], before["p2"])
    assert _landed(home, "p3") and not _landed(home, "p1") and not _landed(home, "p2")
    # the whole-history run wrote the cohort page with everyone, p3 with its nights
    page = (home / "report" / "cohort.html").read_text()
    assert all(f"<td>{p}</td>" in page for p in PEOPLE)
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT participant_id, nights > 0 FROM cohort_coverage").fetchall() == [
            ("p1", False),
            ("p2", False),
            ("p3", True),
        ]
    finally:
        con.close()
