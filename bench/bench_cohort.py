"""The cohort demo against its single-user baseline, in one process: wall time and shared-warehouse query time.

1. The cohort demo (Postgres + SeaweedFS + N sandbox accounts, backfills through Dagster on Postgres, the DuckLake
   warehouse) with one participant and with N (default 20), for the same days; printed: N participants' wall time
   against N x the single participant's (below 1 = the cohort costs less than running each person alone).
2. The same aggregate over the shared warehouse (nights per participant and their mean sleep) on the one-participant
   lake and on the N-participant lake; printed: the ratio of their median times.

Run in .venv-scale (the scale extra): ``.venv-scale/bin/python bench/bench_cohort.py [--participants 20]
[--days 30] [--parallel 2]``. Each cohort gets fresh servers; nobody is revoked here.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

try:
    import duckdb_extension_ducklake  # noqa: F401
except ImportError:
    print(
        "bench_cohort: needs the scale extra; run it as .venv-scale/bin/python bench/bench_cohort.py (make install-scale)"
    )
    raise SystemExit(0) from None

from fitbit_sleep.scale.cohort_demo import CohortSummary, run_cohort_demo  # noqa: E402
from fitbit_sleep.scale.instance import scale_env  # noqa: E402
from fitbit_sleep.scale.services import postgres_server, seaweedfs_server  # noqa: E402
from pipeline.lake import connect_lake  # noqa: E402
from pipeline.scale_profile import ScaleSettings  # noqa: E402

QUERY = """
SELECT participant_id, count(*) AS nights, avg(minutes_asleep) AS mean_asleep,
       avg(efficiency) AS mean_efficiency
FROM lake.nights GROUP BY participant_id ORDER BY participant_id
"""
REPEATS = 7


def cohort(participants: int, days: int, parallel: int, home: Path) -> tuple[CohortSummary, float]:
    """One cohort demo on fresh servers; returns its summary and the median time of QUERY on its lake."""
    with postgres_server() as pg, seaweedfs_server() as store:
        summary = run_cohort_demo(
            home,
            participants,
            days,
            parallel=parallel,
            revoke=None,
            echo=lambda _: None,
            services=(pg, store),
        )
        con = connect_lake(ScaleSettings.from_env(scale_env(pg, store)), read_only=True)
        try:
            con.execute(QUERY).fetchall()  # warm: catalog and file metadata
            times = []
            for _ in range(REPEATS):
                started = time.perf_counter()
                rows = con.execute(QUERY).fetchall()
                times.append(time.perf_counter() - started)
        finally:
            con.close()
    assert len(rows) == participants, f"expected {participants} participants in the lake, got {len(rows)}"
    return summary, statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--participants", type=int, default=20)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--parallel", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-cohort-") as tmp:
        one, one_query = cohort(1, args.days, args.parallel, Path(tmp) / "one")
        many, many_query = cohort(args.participants, args.days, args.parallel, Path(tmp) / "many")
    n = args.participants
    print(f"cohort demo, {args.days} days each, {args.parallel} participants at a time:")
    print(f"  1 participant            {one.wall_seconds:8.1f} s wall")
    print(f"  {n} participants          {many.wall_seconds:8.1f} s wall")
    print(f"  {n} x 1 participant       {n * one.wall_seconds:8.1f} s")
    print(f"  ratio {n} / ({n} x 1)       {many.wall_seconds / (n * one.wall_seconds):8.2f}")
    added = (many.wall_seconds - one.wall_seconds) / max(1, n - 1)
    print(f"  per added participant    {added:8.1f} s  (the fixed part: servers, logins, the lake run)")
    print(f"shared warehouse query (nights per participant), median of {REPEATS}:")
    print(f"  lake with 1 participant  {one_query * 1000:8.1f} ms")
    print(f"  lake with {n} participants {many_query * 1000:8.1f} ms")
    print(f"  ratio {n} / 1             {many_query / one_query:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
