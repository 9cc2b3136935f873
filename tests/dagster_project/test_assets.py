"""The daily chain (raw_sleep -> sleep_tables + checks) and the whole-history chain, with the real sandbox."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest
from dagster import DagsterInstance

from pipeline.plots import FIGURES
from tests.clock import TEST_TODAY, latest_day
from tests.dagster_project.dagster_helpers import (
    SANDBOX_TZ,
    login_to,
    project_defs,
    range_tags,
    sleep_calls,
    table_rows,
)


@pytest.fixture
def env(sandbox: Any, tmp_path: Path) -> tuple[Any, Path, Any]:
    home = tmp_path / "home"
    login_to(sandbox, home)
    return sandbox, home, project_defs(home, sandbox)


def _run(
    defs: Any, instance: DagsterInstance, tags: dict[str, str] | None = None, partition: str | None = None
) -> Any:
    job = defs.resolve_job_def("sleep_daily_job")
    result = job.execute_in_process(
        instance=instance, tags=tags, partition_key=partition, raise_on_error=False
    )
    assert result.success
    return result


def _checks(result: Any) -> dict[str, Any]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _raw_log_ids(home: Path, start: date, end: date) -> set[int]:
    ids: set[int] = set()
    for i in range((end - start).days + 1):
        record = json.loads((home / "raw" / "sleep" / f"date={start + timedelta(days=i)}.json").read_text())
        ids.update(log["logId"] for log in record["payload"]["sleep"])
    return ids


def _tables_digest(home: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted((home / "tables").rglob("*.parquet")):
        digest.update(str(path.relative_to(home)).encode() + path.read_bytes())
    return digest.hexdigest()


def test_one_partition_lands_one_day_and_passes_the_checks(env: tuple[Any, Path, Any]) -> None:
    sandbox, home, defs = env
    day = latest_day(sandbox, before=TEST_TODAY - timedelta(days=2))
    with DagsterInstance.ephemeral() as instance:
        result = _run(defs, instance, partition=day.isoformat())
    assert sorted(p.name for p in (home / "raw" / "sleep").iterdir()) == [f"date={day}.json"]
    assert sleep_calls(sandbox) == 1
    files = [str(p) for p in (home / "tables" / "sleep_logs").glob("month=*/*.parquet")]
    landed = (
        duckdb.connect().execute("SELECT DISTINCT date_of_sleep FROM read_parquet(?)", [files]).fetchall()
    )
    assert landed == [(day,)]
    checks = _checks(result)
    assert {"log_id_unique", "log_in_one_night", "landed_logs_in_tables", "no_overlapping_logs"} <= set(
        checks
    )
    assert all(c.passed for c in checks.values() if c.severity.value == "ERROR")
    # only a night of two days ago is in: the freshness check says last night has not arrived (a warning)
    assert not checks["last_night_arrived"].passed
    assert checks["last_night_arrived"].severity.value == "WARN"
    assert checks["last_night_arrived"].metadata["latest_main_sleep"].value == day.isoformat()
    metadata = result.asset_materializations_for_node("raw_sleep")[0].metadata
    assert metadata["run_api_calls"].value == 1
    assert metadata["run_days"].value == 1
    assert "token" not in json.dumps({k: str(v.value) for k, v in metadata.items()}).lower()


def test_a_partition_the_sandbox_slept_nowhere_lands_an_empty_day_and_passes_the_checks(
    env: tuple[Any, Path, Any],
) -> None:
    sandbox, home, defs = env
    day = latest_day(sandbox, before=TEST_TODAY - timedelta(days=1), slept=False)
    with DagsterInstance.ephemeral() as instance:
        result = _run(defs, instance, partition=day.isoformat())
    record = json.loads((home / "raw" / "sleep" / f"date={day}.json").read_text())
    assert record["payload"]["sleep"] == []  # the empty answer is kept, so the date counts as fetched
    assert table_rows(home, "sleep_logs") == []
    checks = _checks(result)
    blocking = {"log_id_unique", "segments_add_up", "minutes_add_up", "no_overlapping_logs"}
    assert blocking <= set(checks) and all(checks[name].passed for name in blocking)
    assert checks["last_night_arrived"].metadata["latest_main_sleep"].value == "none"


def test_a_100_day_range_is_one_call_and_the_tables_hold_exactly_the_landed_logs(
    env: tuple[Any, Path, Any],
) -> None:
    sandbox, home, defs = env
    end = TEST_TODAY - timedelta(days=1)
    start = end - timedelta(days=99)
    with DagsterInstance.ephemeral() as instance:
        result = _run(defs, instance, tags=range_tags(start, end))
        assert sleep_calls(sandbox) == 1
        tables = result.asset_materializations_for_node("sleep_tables")
        assert len({m.partition for m in tables}) == 100
        counted = {k: tables[0].metadata[f"tables_{k}"].value for k in ("nights", "main_sleeps", "naps")}
        assert (
            counted["nights"] == counted["main_sleeps"] >= 95
        )  # one main sleep a night; the sandbox sleeps most
        # every log is a main sleep's part or a nap (a split night's second part is neither counted twice nor a nap)
        assert tables[0].metadata["run_logs"].value >= counted["main_sleeps"] + counted["naps"]
        checks = _checks(result)
        assert checks["table_dates_inside_run_window"].passed
        assert checks["table_dates_inside_run_window"].metadata["window"].value == f"{start}..{end}"
        assert checks["raw_dates_inside_run_window"].metadata["dates_checked"].value == 100
        blocking = [n for n, c in checks.items() if c.severity.value == "ERROR"]
        assert {"log_id_unique", "log_in_one_night", "landed_logs_in_tables", "no_overlapping_logs"} <= set(
            blocking
        )
        assert all(checks[name].passed for name in blocking), {n: checks[n].metadata for n in blocking}

        raw_ids = _raw_log_ids(home, start, end)
        con = duckdb.connect()
        files = [str(p) for p in (home / "tables" / "sleep_logs").glob("month=*/*.parquet")]
        table_ids = {r[0] for r in con.execute("SELECT log_id FROM read_parquet(?)", [files]).fetchall()}
        assert table_ids == raw_ids and len(raw_ids) >= 100

        rebuild = defs.resolve_job_def("whole_history_job").execute_in_process(instance=instance)
        assert rebuild.success
    wh = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    assert (
        wh.execute("SELECT count(*), count(DISTINCT log_id) FROM sleep_logs").fetchone()
        == (len(raw_ids),) * 2
    )
    nights = wh.execute("SELECT count(DISTINCT night_date) FROM main_sleeps").fetchone()[0]  # type: ignore[index]
    wh.close()
    metadata = rebuild.asset_materializations_for_node("plots")
    assert metadata and all(list(m.metadata)[:2] == ["preview", "path"] for m in metadata)
    assert all(Path(m.metadata["path"].value).exists() for m in metadata)
    for m in metadata:  # the legible preview (see tests/pipeline/test_plots.py), within a bounded size
        preview = m.metadata["preview"].value
        assert preview.startswith("![") and "](data:image/png;base64," in preview and len(preview) < 100_000
    report = rebuild.asset_materializations_for_node("sleep_report")[0].metadata
    assert Path(report["path"].value).is_file() and report["figures_embedded"].value == len(FIGURES)
    numbers = report["key_numbers"].value
    assert len(numbers) < 1_000  # the UI shows markdown inline only under 1,000 characters
    assert f"| Nights | {nights} |" in numbers
    assert (
        "No Sleep Scores" in report["sleep_scores"].value
    )  # the API has no scores; an archive would add them


def test_re_running_a_range_leaves_the_tables_byte_identical(env: tuple[Any, Path, Any]) -> None:
    sandbox, home, defs = env
    end = TEST_TODAY - timedelta(days=5)
    start = end - timedelta(days=39)
    with DagsterInstance.ephemeral() as instance:
        _run(defs, instance, tags=range_tags(start, end))
        first = _tables_digest(home)
        _run(defs, instance, tags=range_tags(start, end))
        assert _tables_digest(home) == first
        _run(defs, instance, tags=range_tags(start, end))
        assert _tables_digest(home) == first


def test_overlapping_backfills_leave_no_duplicates(env: tuple[Any, Path, Any]) -> None:
    sandbox, home, defs = env
    end = TEST_TODAY - timedelta(days=1)
    with DagsterInstance.ephemeral() as instance:
        _run(defs, instance, tags=range_tags(end - timedelta(days=79), end - timedelta(days=30)))
        _run(defs, instance, tags=range_tags(end - timedelta(days=49), end))
        result = _run(defs, instance, tags=range_tags(end - timedelta(days=59), end - timedelta(days=20)))
    assert _checks(result)["log_id_unique"].passed
    ids = [row[0] for row in table_rows(home, "sleep_logs")]
    assert len(ids) == len(set(ids))
    assert set(ids) == _raw_log_ids(home, end - timedelta(days=79), end)


def test_the_schedule_request_runs_as_one_call_over_today_and_the_lookback(
    env: tuple[Any, Path, Any],
) -> None:
    from dagster import build_schedule_context

    sandbox, home, defs = env
    schedule = defs.resolve_schedule_def("sleep_daily_schedule")
    with DagsterInstance.ephemeral() as instance:
        context = build_schedule_context(
            instance=instance,
            resources={"storage": defs.resources["storage"]},
            # 09:00 on the pinned day in the user's zone, as the real tick would fire
            scheduled_execution_time=datetime.combine(TEST_TODAY, time(9), ZoneInfo(SANDBOX_TZ)),
        )
        (request,) = schedule.evaluate_tick(context).run_requests or []
        result = _run(defs, instance, tags=dict(request.tags))
    keys = sorted(m.partition for m in result.asset_materializations_for_node("raw_sleep"))
    today = TEST_TODAY
    assert keys == [(today - timedelta(days=d)).isoformat() for d in range(3, -1, -1)]
    assert sleep_calls(sandbox) == 1


def test_410_gone_fails_the_run_at_once_with_advice_and_no_step_retry(env: tuple[Any, Path, Any]) -> None:
    import requests

    sandbox, home, defs = env
    requests.post(f"{sandbox.base_url}/_sandbox/gone", json={"gone": True}, timeout=5).raise_for_status()
    day = TEST_TODAY - timedelta(days=1)
    with DagsterInstance.ephemeral() as instance:
        job = defs.resolve_job_def("sleep_daily_job")
        result = job.execute_in_process(
            instance=instance, partition_key=day.isoformat(), raise_on_error=False
        )
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["raw_sleep"]
    assert "410 Gone" in failures[0].step_failure_data.error.message
    assert not any(e.event_type_value == "STEP_UP_FOR_RETRY" for e in result.all_events)
    assert sleep_calls(sandbox) == 1
