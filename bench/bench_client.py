"""Bench: a 10-year sleep fetch through faults (5xx=0.1, timeout=0.02, token5xx=0.2) vs a fault-free run.

Both runs use real sandbox servers in this process, a headless login each, and a 1-second access-token lifetime so
the token endpoint (and its 502/503 faults) can be hit during the fetch; 20 forced refreshes follow it. The sandbox's timeout fault stalls 0.6 s
and the client's read timeout is 0.3 s, so the whole bench takes well under a minute. Prints calls and wall time of
the faulty run as ratios against the clean one, and checks that both runs returned the same logs.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402

from fitbit_sandbox.config import SandboxConfig  # noqa: E402
from fitbit_sandbox.server import SandboxServer  # noqa: E402
from pipeline.client import FitbitClient  # noqa: E402
from pipeline.config import Settings  # noqa: E402
from pipeline.login import login  # noqa: E402
from pipeline.paths import StoragePaths  # noqa: E402
from pipeline.tokens import TokenStore, write_private_json  # noqa: E402

DAYS = 3650
REFRESHES = 20
FAULTS = "5xx=0.1,timeout=0.02,token5xx=0.2"


def run(faults: str, home: Path) -> tuple[int, float, int, list[int], dict[str, dict[str, int]]]:
    config = SandboxConfig(
        days=DAYS, auto_approve=True, access_token_ttl=1, quota=1000, faults=faults, timeout_seconds=0.6
    )
    with SandboxServer(config) as server:
        settings = Settings(config.client_id, config.client_secret, server.base_url, server.base_url, home)
        paths = StoragePaths(home)
        user = login(settings, paths, port=0, auto=True, timeout=30, show_url=lambda _u: None).user_id
        store = TokenStore(settings, paths, user)
        client = FitbitClient(
            settings,
            store,
            paths=paths,
            timeout=(1.0, 0.3),
            backoff_initial=0.05,
            backoff_max=0.5,
            attempts=8,
        )
        requests.post(f"{server.base_url}/_sandbox/reset-stats", timeout=5).raise_for_status()
        today = config.today or date.today()
        t0 = time.perf_counter()
        fetch = client.sleep(today - timedelta(days=DAYS - 1), today)
        wall = time.perf_counter() - t0
        for _ in range(REFRESHES):  # exercise the token endpoint (and its faults): force refreshes
            data = store.load()
            data["expires_at"] = 0
            write_private_json(store.path, data)
            store.access_token()
        stats = requests.get(f"{server.base_url}/_sandbox/stats", timeout=5).json()["requests"]
        return client.calls_made, wall, store.refreshes, sorted(log["logId"] for log in fetch.logs), stats


def main() -> int:
    logging.basicConfig(level=logging.ERROR)  # the retry warnings are expected here
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.pop("OAUTHLIB_INSECURE_TRANSPORT", None)
        clean_calls, clean_wall, clean_refresh, clean_logs, _ = run("", Path(tmp) / "clean")
        calls, wall, refreshes, logs, stats = run(FAULTS, Path(tmp) / "faulty")
    token_stats = stats.get("POST /oauth2/token", {})
    range_stats = stats.get("GET /1.2/user/-/sleep/date/{start}/{end}.json", {})
    print(
        f"calls_faulty_vs_clean: {calls / clean_calls:.2f}x ({calls} vs {clean_calls} calls for {DAYS} days)"
    )
    print(f"wall_faulty_vs_clean: {wall / clean_wall:.1f}x ({wall:.2f} s vs {clean_wall:.2f} s)")
    print(
        f"refreshes_faulty_vs_clean: {refreshes / max(clean_refresh, 1):.2f}x ({refreshes} vs {clean_refresh}); "
        f"token endpoint statuses {token_stats}; range statuses {range_stats}"
    )
    same = logs == clean_logs
    print(f"logs_identical: {same} ({len(logs)} logs)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
