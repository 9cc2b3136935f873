"""`fitbit-sleep plan | fetch` against the real sandbox: fetch ends in the tables and the warehouse; ranges after
today and wrong API URLs are one-line errors."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from fitbit_sleep.cli import main
from tests.clock import TEST_TODAY


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _landed_log_ids(home: Path) -> set[int]:
    ids: set[int] = set()
    for raw in (home / "raw" / "sleep").glob("date=*.json"):
        ids.update(log["logId"] for log in json.loads(raw.read_text())["payload"]["sleep"])
    return ids


@pytest.fixture
def logged_in(sandbox_env: Any, data_home: Path) -> Any:
    assert _run("login", "--auto").exit_code == 0
    return sandbox_env


def _last_days(sandbox: Any, days: int) -> tuple[str, str]:
    end: date = (
        sandbox.state.today
    )  # the sandbox's "today" in its user's zone, which login saved as the profile's
    return (end - timedelta(days=days - 1)).isoformat(), end.isoformat()


def test_fetch_updates_the_tables_and_the_warehouse(logged_in: Any, data_home: Path) -> None:
    start, end = _last_days(logged_in, 30)
    fetched = _run("fetch", "--start", start, "--end", end)
    assert fetched.exit_code == 0, fetched.output
    assert "landed 30 days" in fetched.output and "in 1 call;" in fetched.output
    assert "Updated the tables" in fetched.output and "`fitbit-sleep backfill` records one" in fetched.output
    with duckdb.connect(str(data_home / "warehouse.duckdb"), read_only=True) as con:
        in_sql = {row[0] for row in con.execute("select log_id from sleep_logs").fetchall()}
        covered = con.execute("select count(*) from coverage").fetchone()
    assert in_sql == _landed_log_ids(data_home) and len(in_sql) > 20
    assert covered == (30,)


def test_fetch_no_build_only_lands(logged_in: Any, data_home: Path) -> None:
    start, end = _last_days(logged_in, 5)
    fetched = _run("fetch", "--start", start, "--end", end, "--no-build")
    assert fetched.exit_code == 0 and "fitbit-sleep rebuild" in fetched.output
    assert len(_landed_log_ids(data_home)) > 0 and not (data_home / "warehouse.duckdb").exists()


def test_plan_counts_in_words_that_agree() -> None:
    one = _run("plan", "--start", "2024-01-01", "--end", "2024-01-01")
    assert one.exit_code == 0 and "(1 day)" in one.output and "1 day -> 1 call;" in one.output
    two = _run("plan", "--start", "2024-01-01", "--end", "2024-04-10")
    assert "101 days -> 2 calls;" in two.output and "(1 day)" in two.output and "(100 days)" in two.output


@pytest.mark.parametrize("command", ["plan", "fetch"])
@pytest.mark.parametrize(
    ("start", "end", "says"),
    [("2999-01-01", "2999-01-31", "is in the future"), ("2024-01-01", "2999-01-31", "ends in the future")],
)
def test_a_range_after_today_is_refused_in_one_line(
    data_home: Path, monkeypatch: pytest.MonkeyPatch, command: str, start: str, end: str, says: str
) -> None:
    monkeypatch.setenv("FITBIT_SLEEP_TZ", "Pacific/Kiritimati")  # the zone furthest ahead: still not 2999
    result = _run(command, "--start", start, "--end", end)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {start}..{end} {says} (today is ")
    assert "in Pacific/Kiritimati): there is no sleep after today yet; use --end " in result.output
    assert result.output.count("\n") == 1


def test_an_unknown_fitbit_sleep_tz_is_an_error_not_ignored(
    data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FITBIT_SLEEP_TZ", "Mars/Olympus")
    result = _run("plan", "--start", "2024-01-01", "--end", "2024-01-02")
    assert result.exit_code == 1 and result.output.startswith(
        "Error: FITBIT_SLEEP_TZ='Mars/Olympus' is not a known"
    )


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (
            "not-a-url",
            "error: FITBIT_API_URL='not-a-url' is not a usable base URL (it must start with https://",
        ),
        ("refused", "(connection refused). Check FITBIT_API_URL: it should be https://api.fitbit.com"),
        ("wrong-path", "answered 404 Not Found, so FITBIT_API_URL="),
    ],
)
def test_a_wrong_fitbit_api_url_is_one_line_that_names_it(
    logged_in: Any, monkeypatch: pytest.MonkeyPatch, refused_url: str, url: str, says: str
) -> None:
    monkeypatch.setenv(
        "FITBIT_API_URL", {"refused": refused_url, "wrong-path": logged_in.base_url + "/x"}.get(url, url)
    )
    start, end = _last_days(logged_in, 3)
    result = _run("fetch", "--start", start, "--end", end)
    assert result.exit_code == 1
    assert says in result.output and result.output.count("\n") == 1 and "Traceback" not in result.output


def test_plan_for_the_google_source_counts_pages_of_sessions(
    data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FITBIT_SLEEP_SOURCE", "google-health")
    monkeypatch.setenv("FITBIT_SLEEP_TODAY", TEST_TODAY.isoformat())
    end = TEST_TODAY - timedelta(days=1)
    start = end - timedelta(days=728)
    result = _run("plan", "--start", start.isoformat(), "--end", end.isoformat())
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"GET /v4/users/me/dataTypes/sleep/dataPoints  (wake dates {start}..{end}, 25 sessions a page)",
        "729 days -> about 35 calls; no quota wait (300 calls a minute).",
    ]
