"""FITBIT_SLEEP_SOURCE=google-health through real Dagster runs: the CLI backfill lands the same sessions as the
v1.2 path over one sandbox history, the daily schedule's run picks up a night unprocessed at the first fetch, and
a revoked grant fails the run at once with its own advice."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest
import requests
from dagster import DagsterInstance, build_schedule_context

from dagster_project.backfill import run_backfill
from dagster_project.definitions import build_defs
from dagster_project.partitions import ProjectConfig
from dagster_project.resources import FitbitResource, StorageResource
from fitbit_sandbox.config import SandboxConfig
from pipeline.config import Settings
from pipeline.landing import read_day
from pipeline.login import login
from pipeline.paths import StoragePaths
from tests.clock import TEST_TODAY, latest_day
from tests.dagster_project.dagster_helpers import SANDBOX_TZ, login_to, project_defs, table_rows

# what a night is made of, in both sources' tables (ids, provenance, ingestion time and Fitbit's own efficiency
# are expected to differ: see pipeline/source_diff.py)
EXPECTED_TO_DIFFER = (
    "log_id", "source", "ingested_at", "api_efficiency", "minutes_awake",
    "source_family", "source_file",
)  # fmt: skip


def google_defs(home: Path, sandbox: Any, history_days: int = 400, today: date = TEST_TODAY) -> Any:
    config = ProjectConfig(
        start_date=today - timedelta(days=history_days),
        timezone=SANDBOX_TZ,
        lookback_days=3,
        data_root=str(home),
        today=today,
    )
    fitbit = FitbitResource(
        client_id=sandbox.config.google_client_id,
        client_secret=sandbox.config.google_client_secret,
        source="google-health",
        google_api_url=sandbox.base_url,
        google_oauth_url=sandbox.base_url,
    )
    return build_defs(config, resources={"storage": StorageResource(root=str(home)), "fitbit": fitbit})


def google_login(sandbox: Any, home: Path) -> str:
    settings = Settings.from_env({**sandbox.google_env(), "FITBIT_SLEEP_HOME": str(home)})
    return login(
        settings, StoragePaths(home), port=0, auto=True, timeout=20, show_url=lambda _u: None
    ).user_id


def _control(sandbox: Any, name: str, **body: Any) -> None:
    requests.post(f"{sandbox.base_url}/_sandbox/{name}", json=body, timeout=5).raise_for_status()


@pytest.mark.slow  # minutes of Dagster runs: run first (tests/conftest.py)
def test_a_google_backfill_lands_the_same_sessions_as_the_v12_one(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(days=150)
    end = TEST_TODAY - timedelta(days=1)
    start = end - timedelta(days=129)  # two runs: 100 + 30 days
    homes = {"v12": tmp_path / "v12", "v4": tmp_path / "v4"}
    login_to(sandbox, homes["v12"])
    google_login(sandbox, homes["v4"])
    for _label, defs in (
        ("v12", project_defs(homes["v12"], sandbox)),
        ("v4", google_defs(homes["v4"], sandbox)),
    ):
        with DagsterInstance.ephemeral() as instance:
            outcome = run_backfill(defs, instance, start, end, downstream=False)
            assert outcome.success, [c.error for c in outcome.chunks]
    v12 = table_rows(homes["v12"], "sleep_logs", exclude=EXPECTED_TO_DIFFER)
    v4 = table_rows(homes["v4"], "sleep_logs", exclude=EXPECTED_TO_DIFFER)
    assert len(v4) == len(v12) > 130
    assert (
        v4 == v12
    )  # times, dates, main-sleep flags, minutes asleep, in bed, every stage's minutes and counts
    assert table_rows(
        homes["v4"], "nights", exclude=("ingested_at", "main_log_id", "main_log_ids", "log_ids")
    ) == (
        table_rows(homes["v12"], "nights", exclude=("ingested_at", "main_log_id", "main_log_ids", "log_ids"))
    )
    day = read_day(StoragePaths(homes["v4"]), end)
    assert day is not None and day["source"] == "google-health"


@pytest.fixture
def month(sandbox_factory: Any, tmp_path: Path) -> tuple[Any, Path, Any, date]:
    """A 30-day sandbox whose "today" is its latest night up to TEST_TODAY, a Google login under a fresh data root,
    and definitions reading it through v4 with the same "today"."""
    night = latest_day(SandboxConfig(days=30, today=TEST_TODAY), before=TEST_TODAY)
    sandbox = sandbox_factory(days=30, today=night)
    home = tmp_path / "home"
    google_login(sandbox, home)
    return sandbox, home, google_defs(home, sandbox, history_days=20, today=night), night


def test_the_daily_run_picks_up_a_night_unprocessed_at_the_first_fetch(
    month: tuple[Any, Path, Any, date],
) -> None:
    sandbox, home, defs, night = month
    paths = StoragePaths(home)
    _control(sandbox, "sync", state="pending")  # detected, not yet processed: no summary
    schedule = defs.resolve_schedule_def("sleep_daily_schedule")
    job = defs.resolve_job_def("sleep_daily_job")
    with DagsterInstance.ephemeral() as instance:
        for tick_day in (
            night,
            night,
        ):  # the same morning's tick again after the night was processed
            context = build_schedule_context(
                instance=instance,
                resources={"storage": defs.resources["storage"]},
                scheduled_execution_time=datetime.combine(tick_day, time(9), ZoneInfo(SANDBOX_TZ)),
            )
            (request,) = schedule.evaluate_tick(context).run_requests or []
            assert job.execute_in_process(instance=instance, tags=dict(request.tags)).success
            day = read_day(paths, night)
            assert day is not None
            if day["state"] == "pending":
                assert not any(log["isMainSleep"] for log in day["payload"]["sleep"])
                _control(sandbox, "sync", state="synced")
    assert day["state"] == "final"
    assert [log["isMainSleep"] for log in day["payload"]["sleep"]].count(True) == 1
    files = [str(p) for p in (home / "tables" / "sleep_logs").glob("month=*/*.parquet")]
    (mains,) = duckdb.connect().execute(
        "SELECT count(*) FROM read_parquet(?) WHERE date_of_sleep = ? AND is_main_sleep AND source = 'google-health'",
        [files, night],
    ).fetchone() or (0,)
    assert mains == 1  # the tables were updated by the second run


def test_a_revoked_google_grant_fails_the_run_at_once_with_its_advice(
    month: tuple[Any, Path, Any, date],
) -> None:
    sandbox, _home, defs, night = month
    _control(sandbox, "google", revoke_all=True)
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("sleep_daily_job").execute_in_process(
            instance=instance,
            partition_key=(night - timedelta(days=1)).isoformat(),
            raise_on_error=False,
        )
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["raw_sleep"]
    assert "Google refused the saved login" in failures[0].step_failure_data.error.message
    assert not any(e.event_type_value == "STEP_UP_FOR_RETRY" for e in result.all_events)


def test_token_health_warns_two_days_before_a_testing_refresh_token_ends(
    month: tuple[Any, Path, Any, date], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time as clock

    from dagster_project.checks import token_health_facts

    _sandbox, home, _defs, _night = month
    healthy, facts = token_health_facts(StoragePaths(home))
    assert healthy and facts["provider"] == "google-health" and facts["refresh_token_expires_in_days"] > 6.9
    monkeypatch.setattr("pipeline.tokens._now", lambda: clock.time() + 5.5 * 86400)
    healthy, facts = token_health_facts(StoragePaths(home))
    assert not healthy
    assert "the Google refresh token ends in 1.5 days" in facts["problem"]
    assert "Publish app" in facts["hint"]
    saved = json.loads(next((home / "tokens").glob("*.json")).read_text())
    assert saved["refresh_token"] not in str(facts) and saved["access_token"] not in str(facts)  # no secrets
