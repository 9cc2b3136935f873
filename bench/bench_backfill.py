"""Wall time of a 2-year backfill: plain pipeline (baseline) vs the CLI backfill vs the Dagster daemon (UI path).

Why these three: the plain pipeline (client -> landing -> tables -> warehouse, no Dagster) is the floor; the CLI
backfill (in-process ≤100-day runs recorded in a real SQLite DAGSTER_HOME) and the daemon backfill (`dagster dev`,
launched through GraphQL exactly like the UI) show what orchestration costs on top. Each prints its runs and API
calls. Everything runs against a local sandbox with 730 days of history.

Usage: .venv/bin/python bench/bench_backfill.py [--days 730] [--skip-daemon]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dagster_project.devserver import (  # noqa: E402
    free_port,
    install_instance_config,
    start_dagster_dev,
    stop_process_group,
    wait_until_ready,
)
from fitbit_sandbox.config import SandboxConfig  # noqa: E402
from fitbit_sandbox.server import SandboxServer  # noqa: E402
from pipeline.config import Settings  # noqa: E402
from pipeline.login import login  # noqa: E402
from pipeline.paths import StoragePaths  # noqa: E402

TZ = "America/Los_Angeles"


def _settings(sandbox: SandboxServer, home: Path) -> Settings:
    return Settings(
        sandbox.config.client_id, sandbox.config.client_secret, sandbox.base_url, sandbox.base_url, home
    )


def _sleep_calls(sandbox: SandboxServer) -> int:
    stats = requests.get(f"{sandbox.base_url}/_sandbox/stats", timeout=5).json()["requests"]
    return sum(sum(v.values()) for k, v in stats.items() if "/sleep/date/" in k)


def _fresh(days: int, root: Path, label: str) -> tuple[SandboxServer, Path]:
    sandbox = SandboxServer(SandboxConfig(days=days + 5, auto_approve=True)).start()
    home = root / label
    login(
        _settings(sandbox, home), StoragePaths(home), port=0, auto=True, timeout=30, show_url=lambda _u: None
    )
    requests.post(f"{sandbox.base_url}/_sandbox/reset-stats", timeout=5)
    return sandbox, home


def plain(days: int, start: date, end: date, root: Path) -> tuple[float, int]:
    from pipeline.client import FitbitClient
    from pipeline.landing import land_fetch
    from pipeline.tables import update_tables
    from pipeline.warehouse import build_warehouse

    sandbox, home = _fresh(days, root, "plain")
    try:
        t0 = time.perf_counter()
        paths = StoragePaths(home)
        with FitbitClient.from_settings(_settings(sandbox, home)) as client:
            land_fetch(paths, client.sleep(start, end))
        update_tables(paths)
        build_warehouse(paths)
        return time.perf_counter() - t0, _sleep_calls(sandbox)
    finally:
        sandbox.stop()


def cli(days: int, start: date, end: date, root: Path) -> tuple[float, int, int]:
    from dagster import DagsterInstance

    from dagster_project.backfill import run_backfill
    from dagster_project.definitions import build_defs
    from dagster_project.partitions import ProjectConfig
    from dagster_project.resources import FitbitResource, StorageResource

    sandbox, home = _fresh(days, root, "cli")
    dagster_home = root / "dagster_home_cli"
    install_instance_config(dagster_home)
    try:
        config = ProjectConfig(start_date=start, timezone=TZ, data_root=str(home))
        defs = build_defs(
            config,
            resources={
                "storage": StorageResource(root=str(home)),
                "fitbit": FitbitResource(
                    client_id=sandbox.config.client_id,
                    client_secret=sandbox.config.client_secret,
                    api_url=sandbox.base_url,
                    auth_url=sandbox.base_url,
                ),
            },
        )
        os.environ["DAGSTER_HOME"] = str(dagster_home)
        t0 = time.perf_counter()
        with DagsterInstance.get() as instance:
            outcome = run_backfill(defs, instance, start, end)
        elapsed = time.perf_counter() - t0
        assert outcome.success
        return elapsed, len(outcome.chunks) + 1, _sleep_calls(sandbox)
    finally:
        sandbox.stop()


def daemon(days: int, start: date, end: date, root: Path) -> tuple[float, float, int, int]:
    sandbox, home = _fresh(days, root, "daemon")
    dagster_home = root / "dagster_home_daemon"
    install_instance_config(dagster_home)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FITBIT_", "DAGSTER_"))},
        "DAGSTER_HOME": str(dagster_home),
        "FITBIT_SLEEP_HOME": str(home),
        "FITBIT_SLEEP_START_DATE": start.isoformat(),
        **sandbox.client_env(),
    }
    port = free_port()
    proc = start_dagster_dev(env, port, log_file=root / "dagster_dev.log")

    def gql(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = requests.post(
            f"http://127.0.0.1:{port}/graphql", json={"query": query, "variables": variables}, timeout=30
        ).json()
        return body["data"]  # type: ignore[no-any-return]

    try:
        wait_until_ready(port, proc, timeout=180)
        keys = [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]
        t0 = time.perf_counter()
        launched = gql(
            "mutation L($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) "
            "{ __typename ... on LaunchBackfillSuccess { backfillId } } }",
            {
                "p": {
                    "assetSelection": [{"path": ["raw_sleep"]}, {"path": ["sleep_tables"]}],
                    "partitionNames": keys,
                }
            },
        )["launchPartitionBackfill"]
        backfill_id = launched["backfillId"]
        status_q = "query S($id: String!) { partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } } }"
        while gql(status_q, {"id": backfill_id})["partitionBackfillOrError"]["status"] not in {
            "COMPLETED",
            "COMPLETED_SUCCESS",
            "COMPLETED_FAILED",
            "FAILED",
        }:
            time.sleep(1)
        backfill_s = time.perf_counter() - t0
        runs_q = "query R($f: RunsFilter) { runsOrError(filter: $f) { ... on Runs { results { status } } } }"
        runs = gql(runs_q, {"f": {"tags": [{"key": "dagster/backfill", "value": backfill_id}]}})
        n_runs = len(runs["runsOrError"]["results"])
        auto_filter = {"f": {"tags": [{"key": "dagster/sensor_name", "value": "whole_history_automation"}]}}
        while not [r for r in gql(runs_q, auto_filter)["runsOrError"]["results"] if r["status"] == "SUCCESS"]:
            time.sleep(1)
        total_s = time.perf_counter() - t0
        return backfill_s, total_s, n_runs + 1, _sleep_calls(sandbox)
    finally:
        stop_process_group(proc)
        sandbox.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--skip-daemon", action="store_true")
    args = parser.parse_args()
    end = datetime.now(ZoneInfo(TZ)).date() - timedelta(days=1)
    start = end - timedelta(days=args.days - 1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base_s, base_calls = plain(args.days, start, end, root)
        print(f"plain_pipeline_{args.days}d: {base_s:.1f} s, {base_calls} API calls (baseline, no Dagster)")
        cli_s, cli_runs, cli_calls = cli(args.days, start, end, root)
        print(
            f"cli_backfill_vs_plain: {cli_s / base_s:.1f}x ({cli_s:.1f} s, {cli_runs} runs incl. rebuild, "
            f"{cli_calls} API calls)"
        )
        if not args.skip_daemon:
            bf_s, total_s, d_runs, d_calls = daemon(args.days, start, end, root)
            print(
                f"daemon_backfill_vs_plain: {bf_s / base_s:.1f}x ({bf_s:.1f} s to backfill done, {total_s:.1f} s "
                f"incl. automation rebuild; {d_runs} runs incl. rebuild, {d_calls} API calls)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
