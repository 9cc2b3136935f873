"""Participants: what fanning a run out over many participants costs, against one participant in the same process.

Measured on a real multi-user sandbox whose accounts answer slowly (0.3 s a call, like a loaded API), N participants
x 60 days:

- fetch: ``fetch_participants`` with 4 workers against 1 worker (the speed-up the per-participant quotas allow);
- warehouse: ``build_warehouse`` of the N-participant cohort against a root holding one of them (cost per
  participant should stay about flat);
- a participant's query (``night_metrics``) through ``connect_participant`` on the cohort warehouse against the same
  query on that participant's own single-participant warehouse.

Prints ratios; exit 0. Usage: ``.venv/bin/python bench/bench_participants.py [N]`` (default 8).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from fitbit_sandbox.accounts import account_names
from fitbit_sandbox.config import SandboxConfig
from fitbit_sandbox.server import SandboxServer
from pipeline.cohort_fetch import fetch_participants
from pipeline.config import Settings
from pipeline.login import login
from pipeline.participants import add_participant, participant_tz
from pipeline.paths import StoragePaths
from pipeline.source_client import open_client
from pipeline.tables import update_tables
from pipeline.warehouse import build_warehouse, connect_participant, connect_readonly

TODAY = date(2026, 11, 20)
DAYS = 60
QUERY = "SELECT count(*), avg(total_sleep_min), avg(waso_min) FROM night_metrics"


def best_of(repeats: int, fn) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main(n: int) -> int:
    names = account_names(str(n))
    faults = ",".join(f"{name}=slow:0.3" for name in names)
    config = SandboxConfig(
        days=DAYS + 10, today=TODAY, auto_approve=True, accounts=names, account_faults=faults
    )
    with SandboxServer(config) as server, tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "cohort"
        root = StoragePaths(home)
        settings = Settings(
            client_id=config.client_id,
            client_secret=config.client_secret,
            api_url=server.base_url,
            auth_url=server.base_url,
            home=home,
        )
        for name in names:
            add_participant(root, name)
            own = root.participant(name)
            login(
                replace(settings, home=own.root),
                own,
                port=0,
                auto=True,
                show_url=lambda _u: None,
                login_hint=name,
            )
        people = [root.participant(name) for name in names]
        start, end = TODAY - timedelta(days=DAYS - 1), TODAY

        def fetch(workers: int) -> None:
            done = fetch_participants(
                people, start, end, lambda own: open_client(replace(settings, home=own.root)), workers=workers
            )
            assert not done.failed, done.failure_summary()

        fetch(4)  # warm-up: imports, first connections (a re-fetch lands the same bytes: unchanged)
        serial = best_of(1, lambda: fetch(1))
        parallel = best_of(1, lambda: fetch(4))
        for own in people:
            update_tables(own, tz=participant_tz(own))
        cohort_build = best_of(2, lambda: build_warehouse(root))
        solo = StoragePaths(Path(tmp) / "solo")
        shutil.copytree(people[0].root, solo.root)
        solo_build = best_of(2, lambda: build_warehouse(solo))

        def query(connect, paths) -> float:  # type: ignore[no-untyped-def]
            con = connect(paths)
            try:
                return best_of(5, lambda: con.execute(QUERY).fetchall())
            finally:
                con.close()

        scoped = query(connect_participant, people[0])
        alone = query(connect_readonly, solo)
    print(f"participants {n}, {DAYS} days each, 0.3 s per API call")
    print(f"fetch, 1 worker                  {serial:7.2f} s")
    print(f"fetch, 4 workers                 {parallel:7.2f} s   speed-up x{serial / parallel:.1f}")
    print(f"warehouse build, 1 participant   {solo_build:7.2f} s")
    print(
        f"warehouse build, {n} participants  {cohort_build:7.2f} s   x{cohort_build / solo_build:.1f} "
        f"(x{cohort_build / solo_build / n:.2f} per participant)"
    )
    print(f"night_metrics, own warehouse     {alone * 1000:7.1f} ms")
    print(f"night_metrics, cohort, scoped    {scoped * 1000:7.1f} ms   x{scoped / alone:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8))
