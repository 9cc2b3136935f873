"""The few Dagster webserver GraphQL calls the UI makes that our checks need: launch a backfill, follow it, list runs.

Why GraphQL (not ``execute_in_process`` or the Python client): the smoke test and ``make ui-check`` must exercise the
path a user takes in the UI, so they send the same ``launchPartitionBackfill`` mutation the "Materialize" dialog
sends, to a running ``dagster dev``. One module so the test and the script cannot drift apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import requests

T = TypeVar("T")

LAUNCH_BACKFILL = """
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
BACKFILL_DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
BACKFILL_OK = {"COMPLETED", "COMPLETED_SUCCESS"}
RUN_DONE = {"SUCCESS", "FAILURE", "CANCELED"}
AUTOMATION_SENSOR = "whole_history_automation"


class GraphQLError(RuntimeError):
    """The webserver answered with GraphQL errors (a wrong query or a server-side exception)."""


def gql(port: int, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST one query to ``dagster dev`` on 127.0.0.1:``port``; returns ``data`` (raises on HTTP or GraphQL errors)."""
    response = requests.post(
        f"http://127.0.0.1:{port}/graphql", json={"query": query, "variables": variables or {}}, timeout=30
    )
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise GraphQLError(str(body["errors"])[:2000])
    return body["data"]  # type: ignore[no-any-return]


def wait_for(predicate: Callable[[], T | None], timeout: float, what: str, interval: float = 2.0) -> T:
    """Poll ``predicate`` until it returns something truthy; TimeoutError naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def launch_backfill(port: int, asset_names: Iterable[str], partition_names: list[str]) -> str:
    """Launch a partition backfill of ``asset_names`` as the UI's Materialize dialog does; returns the backfill id."""
    params = {
        "assetSelection": [{"path": [name]} for name in asset_names],
        "partitionNames": partition_names,
        "fromFailure": False,
        "tags": [],
    }
    launched = gql(port, LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
    if launched["__typename"] != "LaunchBackfillSuccess":
        raise GraphQLError(f"launchPartitionBackfill: {launched}")
    return str(launched["backfillId"])


def backfill_status(port: int, backfill_id: str) -> str:
    return str(gql(port, BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"]["status"])


def wait_for_backfill(port: int, backfill_id: str, timeout: float = 300) -> str:
    """Wait until the backfill reaches a final status and return it (the caller decides what counts as success)."""

    def done() -> str | None:
        status = backfill_status(port, backfill_id)
        return status if status in BACKFILL_DONE else None

    return wait_for(done, timeout, f"backfill {backfill_id}")


def runs(port: int, tags: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Runs (newest first) whose tags include every ``tags`` item: ``runId``, ``status``, ``tags``, ``assetSelection``."""
    tag_filter = [{"key": k, "value": v} for k, v in (tags or {}).items()]
    data = gql(port, RUNS, {"filter": {"tags": tag_filter} if tag_filter else {}})
    return data["runsOrError"]["results"]  # type: ignore[no-any-return]


def run_tags(run: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["tags"]}


def backfill_runs(port: int, backfill_id: str) -> list[dict[str, Any]]:
    return runs(port, {"dagster/backfill": backfill_id})


def automation_run_ids(port: int) -> set[str]:
    return {r["runId"] for r in runs(port, {"dagster/sensor_name": AUTOMATION_SENSOR})}


def wait_for_automation_runs(
    port: int, timeout: float = 150, *, ignore: set[str] | frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """Wait for the whole-history automation sensor's run(s) to finish; returns the finished ones (newest first).

    Why "finished" and not "launched": the plots (and their UI previews) exist only once the run is done. ``ignore``
    holds runs from before (``automation_run_ids`` taken before the backfill) when the instance is reused.
    """

    def finished() -> list[dict[str, Any]]:
        found = [
            r for r in runs(port, {"dagster/sensor_name": AUTOMATION_SENSOR}) if r["runId"] not in ignore
        ]
        return [r for r in found if r["status"] in RUN_DONE]

    return wait_for(finished, timeout, "the whole-history automation run")


def targeted_assets(run: dict[str, Any]) -> set[str]:
    return {p["path"][-1] for p in run["assetSelection"] or []}
