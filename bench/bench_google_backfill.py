"""API calls and wall time of a 2-year backfill through the Google Health API v4, against v1.2 (the baseline).

Why both paths on one sandbox history: v1.2 answers 100 days per call, v4 lists 25 sessions per page, so v4 needs
about 4x the calls for the same nights; what that costs in wall time (and whether the landed sessions are the same)
is what a user switching ``FITBIT_SLEEP_SOURCE`` wants to know. Two measurements per source, each in this process:

- the plain pipeline (client -> landing -> tables -> warehouse, no Dagster);
- the CLI backfill (``dagster_project.backfill.run_backfill``: ≤100-day runs plus the whole-history rebuild).

Printed as ratios v4 / v1.2; the run also checks that both landed the same number of sessions and main sleeps.

Usage: .venv/bin/python bench/bench_google_backfill.py [--days 730] [--skip-cli]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dagster_project.devserver import install_instance_config  # noqa: E402
from fitbit_sandbox.config import SandboxConfig  # noqa: E402
from fitbit_sandbox.server import SandboxServer  # noqa: E402
from pipeline.config import Settings  # noqa: E402
from pipeline.login import login  # noqa: E402
from pipeline.paths import StoragePaths  # noqa: E402

TZ = "America/Los_Angeles"
SOURCES = ("fitbit", "google-health")


def _settings(sandbox: SandboxServer, home: Path, source: str) -> Settings:
    env = {**sandbox.client_env(), **sandbox.google_env(), "FITBIT_SLEEP_HOME": str(home)}
    return Settings.from_env({**env, "FITBIT_SLEEP_SOURCE": source})


def _sleep_calls(sandbox: SandboxServer) -> int:
    stats = requests.get(f"{sandbox.base_url}/_sandbox/stats", timeout=5).json()["requests"]
    return sum(sum(v.values()) for k, v in stats.items() if "/sleep/" in k or "/dataTypes/" in k)


def _fresh(days: int, root: Path, label: str, source: str) -> tuple[SandboxServer, Path]:
    sandbox = SandboxServer(SandboxConfig(days=days + 5, auto_approve=True)).start()
    home = root / label
    login(_settings(sandbox, home, source), StoragePaths(home), port=0, auto=True, timeout=30,
          show_url=lambda _u: None)  # fmt: skip
    requests.post(f"{sandbox.base_url}/_sandbox/reset-stats", timeout=5)
    return sandbox, home


def _counts(home: Path) -> tuple[int, int]:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        row = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE night_role = 'main') FROM sleep_logs"
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return int(row[0]), int(row[1])


def plain(
    source: str, days: int, start: date, end: date, root: Path
) -> tuple[float, float, int, tuple[int, int]]:
    """(fetch + land seconds, whole pipeline seconds, sleep API calls, (sessions, main sleeps))."""
    from pipeline.landing import land_fetch
    from pipeline.source_client import open_client
    from pipeline.tables import update_tables
    from pipeline.warehouse import build_warehouse

    sandbox, home = _fresh(days, root, f"plain-{source}", source)
    try:
        t0 = time.perf_counter()
        paths = StoragePaths(home)
        with open_client(_settings(sandbox, home, source)) as client:
            land_fetch(paths, client.sleep(start, end))
        fetched = time.perf_counter() - t0
        update_tables(paths, tz=TZ)
        build_warehouse(paths)
        return fetched, time.perf_counter() - t0, _sleep_calls(sandbox), _counts(home)
    finally:
        sandbox.stop()


def cli(source: str, days: int, start: date, end: date, root: Path) -> tuple[float, int, tuple[int, int]]:
    from dagster import DagsterInstance

    from dagster_project.backfill import run_backfill
    from dagster_project.definitions import build_defs
    from dagster_project.partitions import ProjectConfig
    from dagster_project.resources import FitbitResource, StorageResource

    sandbox, home = _fresh(days, root, f"cli-{source}", source)
    dagster_home = root / f"dagster_home_{source}"
    install_instance_config(dagster_home)
    settings = _settings(sandbox, home, source)
    try:
        config = ProjectConfig(start_date=start, timezone=TZ, data_root=str(home))
        fitbit = FitbitResource(
            client_id=settings.client_id or "", client_secret=settings.client_secret, api_url=sandbox.base_url,
            auth_url=sandbox.base_url, source=source, google_api_url=sandbox.base_url,
            google_oauth_url=sandbox.base_url,
        )  # fmt: skip
        defs = build_defs(config, resources={"storage": StorageResource(root=str(home)), "fitbit": fitbit})
        os.environ["DAGSTER_HOME"] = str(dagster_home)
        t0 = time.perf_counter()
        with DagsterInstance.get() as instance:
            outcome = run_backfill(defs, instance, start, end)
        elapsed = time.perf_counter() - t0
        assert outcome.success, [c.error for c in outcome.chunks]
        return elapsed, _sleep_calls(sandbox), _counts(home)
    finally:
        sandbox.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--skip-cli", action="store_true")
    args = parser.parse_args()
    end = datetime.now(ZoneInfo(TZ)).date() - timedelta(days=1)
    start = end - timedelta(days=args.days - 1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for (
            source
        ) in SOURCES:  # warm-up: imports, DuckDB and the sandbox's first history are not either's cost
            plain(source, 30, end - timedelta(days=29), end, root / "warmup")
        (v12_f, v12_s, v12_calls, v12_counts), (v4_f, v4_s, v4_calls, v4_counts) = (
            plain(source, args.days, start, end, root) for source in SOURCES
        )
        assert v4_counts == v12_counts, (v4_counts, v12_counts)
        same = f"same {v4_counts[0]} sessions, {v4_counts[1]} main sleeps"
        print(
            f"fetch_and_land_{args.days}d_v4_vs_v12: {v4_f / v12_f:.2f}x ({v4_f:.1f} s vs {v12_f:.1f} s), API calls "
            f"{v4_calls / v12_calls:.1f}x ({v4_calls} vs {v12_calls}); {same}"
        )
        print(f"plain_pipeline_{args.days}d_v4_vs_v12: {v4_s / v12_s:.2f}x ({v4_s:.1f} s vs {v12_s:.1f} s)")
        if not args.skip_cli:
            v12_s, v12_calls, v12_counts = cli("fitbit", args.days, start, end, root)
            v4_s, v4_calls, v4_counts = cli("google-health", args.days, start, end, root)
            assert v4_counts == v12_counts, (v4_counts, v12_counts)
            print(
                f"cli_backfill_{args.days}d_v4_vs_v12: {v4_s / v12_s:.2f}x ({v4_s:.1f} s vs {v12_s:.1f} s), API "
                f"calls {v4_calls / v12_calls:.1f}x ({v4_calls} vs {v12_calls}); same {v4_counts[0]} sessions"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
