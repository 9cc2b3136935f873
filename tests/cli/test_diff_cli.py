"""`fitbit-sleep diff-sources` against the real sandbox (both APIs serve one history), and the comparison rules."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fitbit_sleep.cli import main
from pipeline.landing import land_day
from pipeline.paths import StoragePaths
from pipeline.source_diff import compare_logs, compare_roots
from tests.clock import TEST_TODAY


def _run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def both_logged_in(sandbox_factory: Any, data_home: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    server = sandbox_factory(days=400)
    for name, value in {**server.client_env(), **server.google_env()}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FITBIT_SLEEP_TODAY", TEST_TODAY.isoformat())
    assert _run("login", "--auto", env={"FITBIT_SLEEP_SOURCE": "fitbit"}).exit_code == 0
    assert _run("login", "--auto").exit_code == 0  # FITBIT_SLEEP_SOURCE=google-health from google_env
    return server


def test_diff_sources_on_the_sandbox_reports_no_differing_session(
    both_logged_in: Any, data_home: Path
) -> None:
    start = TEST_TODAY - timedelta(
        days=399
    )  # naps are classic: some of v1.2's minutesAwake leave restless out
    result = _run("diff-sources", "--start", start.isoformat(), "--end", TEST_TODAY.isoformat())
    lines = result.output.strip().splitlines()
    assert result.exit_code == 0, result.output
    last = lines[-1].split()
    assert last[0] == "0" and " ".join(last[1:4]) == "differing sessions of" and int(last[4]) > 400
    assert "minutesAwake in" in lines[-2] and "logId (different id spaces)" in lines[-2]
    assert lines[0].startswith(f"{start}..{TEST_TODAY}: v1.2 in 4 calls, v4 in ")
    scratch = Path(lines[0].rsplit(" ", 1)[1])
    assert scratch.is_relative_to(data_home / "scratch")
    assert not (data_home / "raw").exists()  # the real landing is untouched
    v4_day = json.loads((scratch / "google-health" / "raw" / "sleep" / f"date={TEST_TODAY}.json").read_text())
    assert v4_day["source"] == "google-health"


def test_diff_sources_without_a_google_login_is_one_line(sandbox_env: Any, data_home: Path) -> None:
    assert _run("login", "--auto").exit_code == 0
    result = _run("diff-sources", "--start", str(TEST_TODAY - timedelta(days=3)), "--end", str(TEST_TODAY))
    assert result.exit_code == 1
    assert result.output.startswith("error: No saved Google login") and result.output.count("\n") == 1


def _log(start: str = "2026-11-19T23:00:00.000") -> dict[str, Any]:
    return {
        "logId": 1, "dateOfSleep": "2026-11-20", "startTime": start, "endTime": "2026-11-20T07:00:00.000",
        "type": "classic", "duration": 480 * 60000, "timeInBed": 480, "minutesAsleep": 440, "minutesAwake": 30,
        "minutesToFallAsleep": 0, "minutesAfterWakeup": 0, "infoCode": 0,
        "levels": {"data": [{"dateTime": start, "level": "asleep", "seconds": 28800}], "shortData": [],
                   "summary": {"asleep": {"count": 1, "minutes": 440}, "restless": {"count": 3, "minutes": 10},
                               "awake": {"count": 2, "minutes": 30}}},
    }  # fmt: skip


def test_comparison_counts_real_differences_and_lists_expected_ones(tmp_path: Path) -> None:
    v12 = _log()
    v4 = {
        **copy.deepcopy(v12),
        "logId": 99,
        "isMainSleep": True,
        "logType": "auto_detected",
        "minutesAwake": 40,
    }
    unexpected, expected = compare_logs(v12, v4)
    assert unexpected == []  # classic era flags, and minutesAwake = restless + awake as v1.2 defines it
    assert [text.split()[0] for text in expected] == ["minutesAwake", "isMainSleep", "logType"]
    changed = {**copy.deepcopy(v4), "minutesAsleep": 400}
    changed["levels"]["summary"]["asleep"]["minutes"] = 400
    unexpected, _ = compare_logs(v12, changed)
    assert unexpected == ["minutesAsleep 440 -> 400", unexpected[1]] and unexpected[1].startswith(
        "stage minutes"
    )

    day = date(2026, 11, 20)
    a, b = StoragePaths(tmp_path / "a"), StoragePaths(tmp_path / "b")
    stamp = {"source_ref": "t", "fetched_at": __import__("datetime").datetime(2026, 11, 20)}
    land_day(a, day, [v12], source="api", **stamp)  # type: ignore[arg-type]
    land_day(b, day, [changed, _log("2026-11-20T13:00:00.000")], source="google-health", **stamp)  # type: ignore[arg-type]
    report = compare_roots(a, b, day, day)
    assert (report.differing, report.sessions) == (2, 2)
    assert report.last_line == "2 differing sessions of 2"
    assert any("only in v4" in line for line in report.nights[0].differing)
