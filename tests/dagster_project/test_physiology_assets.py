"""raw_physiology and physiology_tables through real Dagster runs against the real sandbox: the calls equal the
plan's, every main sleep gets heart rate while asleep and resting HR, the nightly measures are there on the nights the
sandbox measured, the checks pass; a grant without a scope lands the sleep and skips that kind."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests
from dagster import DagsterInstance

from dagster_project.backfill import run_backfill
from pipeline.paths import StoragePaths
from pipeline.physiology_landing import KINDS, read_physiology_day
from pipeline.quota import plan_calls
from tests.clock import TEST_TODAY
from tests.dagster_project.dagster_helpers import login_to, project_defs

END = TEST_TODAY - timedelta(days=1)
START = END - timedelta(days=44)  # 45 days in runs of 30 + 15


def login(sandbox: Any, home: Path) -> None:
    login_to(sandbox, home, physiology=True)


def api_calls(sandbox: Any) -> dict[str, int]:
    """Data requests the sandbox answered, per path template (login, profile and token calls left out)."""
    stats = requests.get(f"{sandbox.base_url}/_sandbox/stats", timeout=5).json()["requests"]
    return {key: sum(by_status.values()) for key, by_status in stats.items() if "/date/" in key}


def backfill(sandbox: Any, home: Path) -> Any:
    defs = project_defs(home, sandbox)
    with DagsterInstance.ephemeral() as instance:
        outcome = run_backfill(defs, instance, START, END, chunk_days=30)
    assert outcome.success, [c.error for c in outcome.chunks] + [outcome.downstream_error]
    return outcome


@pytest.mark.slow  # minutes of Dagster runs: run first (tests/conftest.py)
def test_a_backfill_fetches_every_kind_in_the_planned_calls_and_every_main_sleep_has_heart_rate(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(days=120, quota=100_000)
    login(sandbox, tmp_path)
    outcome = backfill(sandbox, tmp_path)

    plan = plan_calls(START, END, KINDS, run_days=30)
    planned = sum(len(paths) for paths in plan.values())
    assert len(plan["heart_rate_intraday"]) == 45 and len(plan["hrv"]) == 2
    assert outcome.calls == planned == sum(api_calls(sandbox).values())

    paths = StoragePaths(tmp_path)
    con = duckdb.connect(str(paths.warehouse_file), read_only=True)
    nights = con.execute(
        "SELECT night_date, wake_date, hr_mean_asleep, hr_min_asleep, resting_hr, hrv_rmssd, spo2_avg, "
        "breathing_rate, skin_temp_delta, hr_source FROM nightly_physiology "
        "WHERE night_date >= ? AND wake_date <= ? ORDER BY night_date",
        [START, END],
    ).fetchall()
    assert len(nights) >= 40
    for night in nights:
        assert night[2] is not None and night[4] is not None, (
            night
        )  # HR asleep and resting HR, every main sleep
        assert 30 <= night[3] <= night[2] <= 120 and night[9] == "api"
    # the nightly measures are there exactly on the nights the sandbox measured (its answer for the wake date)
    for column, kind in ((5, "hrv"), (6, "spo2"), (7, "breathing_rate"), (8, "skin_temp")):
        measured = {
            n[1] for n in nights if (read_physiology_day(paths, kind, n[1]) or {}).get("state") == "final"
        }
        assert measured, kind
        assert {n[1] for n in nights if n[column] is not None} == measured, kind
    # heart rate is lower in deep sleep than in REM on most nights (the sandbox's physiology)
    deep_below_rem = con.execute(
        "SELECT avg((hr_mean_deep < hr_mean_rem)::INT) FROM nightly_physiology WHERE hr_mean_deep IS NOT NULL"
    ).fetchall()[0][0]
    assert deep_below_rem > 0.8


@pytest.mark.slow  # minutes of Dagster runs: run first (tests/conftest.py)
def test_a_grant_without_heartrate_lands_the_sleep_and_skips_those_kinds(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(days=60, quota=100_000, withheld_scopes=("heartrate",))
    login(sandbox, tmp_path)
    token_file = next((tmp_path / "tokens").glob("*.json"))
    assert "heartrate" not in json.loads(token_file.read_text())["scope"].split()
    backfill(sandbox, tmp_path)
    called = api_calls(sandbox)
    assert not any("heart" in key or "hrv" in key for key in called), (
        called
    )  # never called: the grant lacks it
    assert any("spo2" in key for key in called)
    paths = StoragePaths(tmp_path)
    assert read_physiology_day(paths, "heart_rate_intraday", END) is None
    assert read_physiology_day(paths, "spo2", END) is not None
    assert any(paths.raw_sleep_dir.glob("date=*.json"))


def test_a_403_on_a_kind_skips_it_with_one_warning_and_the_run_goes_on(
    sandbox_factory: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox = sandbox_factory(days=60, quota=100_000, withheld_scopes=("temperature",))
    login(sandbox, tmp_path)
    # the token file claims the scope the grant lacks: the API answers 403 insufficient_scope
    token_file = next((tmp_path / "tokens").glob("*.json"))
    record = json.loads(token_file.read_text())
    record["scope"] += " temperature"
    token_file.write_text(json.dumps(record))
    defs = project_defs(tmp_path, sandbox)
    with DagsterInstance.ephemeral() as instance:
        outcome = run_backfill(defs, instance, END - timedelta(days=9), END, downstream=False)
        assert outcome.success
        raw = instance.get_latest_materialization_event(defs.resolve_assets_def("raw_physiology").key)
    assert raw is not None and raw.asset_materialization is not None
    skipped = str(raw.asset_materialization.metadata["run_kinds_skipped"].value)
    assert skipped.startswith("skin_temp: 403 on the `temperature` endpoints")
    assert read_physiology_day(StoragePaths(tmp_path), "skin_temp", END) is None
    assert read_physiology_day(StoragePaths(tmp_path), "hrv", END) is not None
    forbidden = {k: v for k, v in api_calls(sandbox).items() if "temp" in k}
    assert sum(forbidden.values()) == 1, forbidden  # one call, then the kind is skipped


def test_a_sleep_only_login_records_no_physiology_materialization_and_no_physiology_call(
    sandbox_factory: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox = sandbox_factory(days=60, quota=100_000)
    login_to(sandbox, tmp_path)  # the default login: sleep scopes only
    defs = project_defs(tmp_path, sandbox)
    with DagsterInstance.ephemeral() as instance:
        outcome = run_backfill(defs, instance, START, END, chunk_days=30)
        assert outcome.success, [c.error for c in outcome.chunks] + [outcome.downstream_error]
        assert [c.logs > 0 for c in outcome.chunks] == [True, True]
        for name in ("raw_physiology", "physiology_tables"):
            key = defs.resolve_assets_def(name).key
            assert instance.get_latest_materialization_event(key) is None, name
        for name in ("raw_sleep", "sleep_tables"):
            key = defs.resolve_assets_def(name).key
            assert instance.get_latest_materialization_event(key) is not None, name
        # the physiology checks did not run (nothing to check), and nothing failed
        for run_id in [c.run_id for c in outcome.chunks]:
            record = instance.get_run_by_id(run_id)
            assert record is not None and record.is_success
    assert not any("heart" in key or "spo2" in key or "hrv" in key for key in api_calls(sandbox))
    assert not StoragePaths(tmp_path).raw_physiology_dir.exists()
    # the skipped check step is not reported as a check that "emitted no result" (noise in every CLI backfill)
    assert not [r for r in caplog.records if "emitted no result" in r.getMessage()]
