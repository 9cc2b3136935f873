"""`fitbit-sleep plan` with a login that grants the physiology scopes: one line per kind, the total in the ETA."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from fitbit_sleep.cli import main
from pipeline.physiology_landing import KINDS
from pipeline.quota import plan_calls
from tests.clock import TEST_TODAY
from tests.dagster_project.dagster_helpers import login_to


def test_plan_shows_the_physiology_calls_of_the_login(
    sandbox_factory: Any, data_home: Path, use_sandbox: Any
) -> None:
    sandbox = use_sandbox(sandbox_factory(days=30))
    login_to(sandbox, data_home, physiology=True)
    start, end = TEST_TODAY - timedelta(days=365), TEST_TODAY - timedelta(days=1)
    result = CliRunner().invoke(main, ["plan", "--start", str(start), "--end", str(end)])
    assert result.exit_code == 0, result.output
    assert "heart_rate_intraday: 365 calls (one date each, scope heartrate)" in result.output
    assert (
        "hrv: 15 calls (<= 30 days each, scope heartrate)" in result.output
    )  # 4 + 4 + 4 + 3 per 100-day run
    total = sum(len(p) for p in plan_calls(start, end, KINDS).values())
    assert total == 4 + 365 + 4 + 15 + 4 + 15 + 15
    assert f"365 days -> {total} calls; quota wait" in result.output


def test_plan_without_physiology_scopes_says_how_to_get_them(
    sandbox_factory: Any, data_home: Path, use_sandbox: Any
) -> None:
    sandbox = use_sandbox(sandbox_factory(days=30))
    login_to(sandbox, data_home)
    end = TEST_TODAY - timedelta(days=1)
    result = CliRunner().invoke(main, ["plan", "--start", str(end - timedelta(days=9)), "--end", str(end)])
    assert result.exit_code == 0, result.output
    assert (
        "physiology: not fetched (the login grants none of its scopes: `fitbit-sleep login --physiology`)"
        in (result.output)
    )
    assert "10 days -> 1 call; quota wait" in result.output
