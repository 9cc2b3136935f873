"""Smoke test: `dagster dev` (webserver + daemon) runs a UI-style backfill as ≤100-day runs, then the automation.

It starts `dagster dev` from Python in its own process group with a temporary DAGSTER_HOME holding the committed
dagster.yaml, launches a 200-day backfill with the same GraphQL mutation the UI's "Materialize" dialog sends, and
checks it ran as 2 runs and 2 sleep API calls, that the whole-history automation rebuilt the warehouse once by
itself, and that SIGTERM to the group stops every process.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests

from dagster_project.devserver import (
    free_port,
    install_instance_config,
    start_dagster_dev,
    stop_process_group,
    wait_until_ready,
)
from tests.dagster_project.dagster_helpers import login_to, sleep_calls, today_in

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
  }
}
"""
BACKFILL_STATUS = """
query Status($id: String!) {
  partitionBackfillOrError(backfillId: $id) { __typename ... on PartitionBackfill { status } }
}
"""
RUNS = """
query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    ... on Runs { results { runId status tags { key value } assetSelection { path } } }
  }
}
"""


def _gql(port: int, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = requests.post(
        f"http://127.0.0.1:{port}/graphql", json={"query": query, "variables": variables or {}}, timeout=30
    )
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


def _runs(port: int, tags: list[dict[str, str]] | None = None) -> list[dict[str, Any]]:
    data = _gql(port, RUNS, {"filter": {"tags": tags} if tags else {}})
    return data["runsOrError"]["results"]  # type: ignore[no-any-return]


def _wait(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def test_dagster_dev_runs_a_200_day_ui_backfill_as_two_runs_then_rebuilds_once(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(days=230)
    home = tmp_path / "data"
    login_to(sandbox, home)
    dagster_home = tmp_path / "dagster_home"
    install_instance_config(dagster_home)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FITBIT_", "DAGSTER_"))},
        "DAGSTER_HOME": str(dagster_home),
        "FITBIT_SLEEP_HOME": str(home),
        "FITBIT_CLIENT_ID": sandbox.config.client_id,
        "FITBIT_CLIENT_SECRET": sandbox.config.client_secret,
        "FITBIT_API_URL": sandbox.base_url,
        "FITBIT_AUTH_URL": sandbox.base_url,
    }
    port = free_port()
    proc = start_dagster_dev(env, port, log_file=tmp_path / "dagster_dev.log")
    try:
        wait_until_ready(port, proc, timeout=180)
        end = today_in() - timedelta(days=1)
        keys = [(end - timedelta(days=i)).isoformat() for i in range(199, -1, -1)]
        params = {
            "assetSelection": [{"path": ["raw_sleep"]}, {"path": ["sleep_tables"]}],
            "partitionNames": keys,
            "fromFailure": False,
            "tags": [],
        }
        launched = _gql(port, LAUNCH, {"params": params})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        backfill_id = launched["backfillId"]

        def finished() -> str | None:
            status = _gql(port, BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"]["status"]
            return (
                status if status in {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED"} else None
            )

        assert _wait(finished, 300, "the backfill") in {"COMPLETED", "COMPLETED_SUCCESS"}
        runs = _runs(port, [{"key": "dagster/backfill", "value": backfill_id}])
        assert [r["status"] for r in runs] == ["SUCCESS", "SUCCESS"]
        ranges = sorted(
            (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"])
            for tags in ({t["key"]: t["value"] for t in r["tags"]} for r in runs)
        )
        assert ranges == [(keys[0], keys[99]), (keys[100], keys[199])]
        assert sleep_calls(sandbox) == 2
        assert len(list((home / "raw" / "sleep").glob("date=*.json"))) == 200

        # the whole-history chain follows by itself, in one run
        def rebuilt() -> list[dict[str, Any]]:
            done = [
                r
                for r in _runs(port, [{"key": "dagster/sensor_name", "value": "whole_history_automation"}])
                if r["status"] in {"SUCCESS", "FAILURE"}
            ]
            return done

        automation_runs = _wait(rebuilt, 150, "the automation run")
        assert [r["status"] for r in automation_runs] == ["SUCCESS"]
        targeted = {p["path"][-1] for p in automation_runs[0]["assetSelection"]}
        assert {"warehouse", "sleep_report"} <= targeted and any(k.startswith("plot_") for k in targeted)
        wh = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
        assert wh.execute("SELECT count(DISTINCT date_of_sleep) FROM sleep_logs").fetchone()[0] >= 190  # type: ignore[index]
        wh.close()
    finally:
        rc = stop_process_group(proc)
    assert rc is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # nothing of the group is left
