"""What grows with history: peak memory of a whole backfill, and the bytes the daily run writes, at 1 and 10 years.

How, as a user does it: ``fitbit-sleep backfill --start <first> --end <yesterday>`` in a subprocess (all ≤100-day
runs, then warehouse, figures and report) against a sandbox with that much history, then the daily run, here the
same command for the last 3 days (the schedule's lookback; the whole-history rebuild follows it as automation does).
- peak RSS: the sum of VmRSS over the command's whole process tree (helpers included), sampled every 50 ms, max.
  Goal (issue 19): <= 300 MB at 10 years and flat (10 y / 1 y <= 1.2x).
- daily bytes: the bytes of every file under the data root (DAGSTER_HOME apart) the daily run created or changed
  (each inode once), the warehouse's share of them (``warehouse.duckdb`` and its parts under ``state/warehouse``),
  and the process's write() total (``wchar``, SQLite included). Goal: follows the new days, not the history
  (10 y / 1 y <= 1.2x).
The sandbox runs in this process and is not measured. Usage: .venv/bin/python bench/bench_history.py [--years 1 10]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_backfill import TZ, fresh  # noqa: E402

RSS_GOAL_MB = 300
FLAT = 1.2


def _tree(pid: int) -> list[int]:
    """PID and every descendant, from /proc/<pid>/task/*/children."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in (task / "children").read_text().split())
    return out


def _proc_number(pid: int, name: str, key: str) -> int:
    """The number after ``key:`` in /proc/<pid>/<name> (``status``: VmRSS in kB; ``io``: wchar in bytes); 0 when the
    process is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    return 0


def run_measured(args: list[str], env: dict[str, str]) -> tuple[float, int, float]:
    """(seconds, peak RSS of the process tree in bytes, write() bytes of the main process) of one command."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0]
    wchar = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], sum(_proc_number(p, "status", "VmRSS") for p in _tree(proc.pid)) * 1024)
            wchar[0] = max(wchar[0], _proc_number(proc.pid, "io", "wchar"))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{err.decode()[-2000:]}")
    return time.perf_counter() - t0, peak[0], wchar[0]


def _files(root: Path, skip: Path) -> dict[Path, tuple[int, int, int]]:
    return {
        p: (st.st_ino, st.st_mtime_ns, st.st_size)
        for p in root.rglob("*")
        if p.is_file() and skip not in p.parents and (st := p.stat())
    }


def _changed_bytes(
    before: dict[Path, tuple[int, int, int]], after: dict[Path, tuple[int, int, int]], *under: Path
) -> int:
    """Bytes of the files created or changed (under any of ``under``, when given), each inode once: the warehouse
    links each build's file as a generation."""
    inodes = {
        ident[0]: ident[2]
        for p, ident in after.items()
        if before.get(p) != ident and (not under or any(u == p or u in p.parents for u in under))
    }
    return sum(inodes.values())


def history(years: int, root: Path) -> dict[str, float]:
    days = 365 * years
    sandbox, home = fresh(days, root, f"{years}y")
    try:
        end = datetime.now(ZoneInfo(TZ)).date() - timedelta(days=1)
        start = end - timedelta(days=days - 1)
        dagster_home = root / f"{years}y-dagster_home"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("FITBIT_", "DAGSTER_"))},
            **sandbox.client_env(),
            "FITBIT_SLEEP_HOME": str(home),
            "FITBIT_SLEEP_START_DATE": start.isoformat(),
            "DAGSTER_HOME": str(dagster_home),
        }
        cli = str(REPO / ".venv" / "bin" / "fitbit-sleep")
        seconds, peak, _ = run_measured([cli, "backfill", "--start", str(start), "--end", str(end)], env)
        before = _files(home, dagster_home)
        daily_s, _, wchar = run_measured([cli, "backfill", "--last", "3"], env)
        after = _files(home, dagster_home)
        warehouse = _changed_bytes(before, after, home / "warehouse.duckdb", home / "state" / "warehouse")
        return {
            "backfill_s": seconds,
            "peak": peak,
            "daily_s": daily_s,
            "daily_bytes": _changed_bytes(before, after),
            "warehouse_bytes": warehouse,
            "wchar": wchar,
        }
    finally:
        sandbox.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--years", type=int, nargs=2, default=[1, 10])
    args = parser.parse_args()
    small_y, large_y = args.years
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        small, large = history(small_y, Path(tmp)), history(large_y, Path(tmp))
    mb = 1024 * 1024
    ratio = large["peak"] / small["peak"]
    ok = large["peak"] <= RSS_GOAL_MB * mb and ratio <= FLAT
    verdict = "goal met" if ok else f"GOAL MISSED (goal <= {RSS_GOAL_MB} MB and <= {FLAT}x)"
    print(
        f"backfill_peak_rss_{large_y}y_vs_{small_y}y: {ratio:.2f}x, {verdict} ({large['peak'] / mb:.0f} MB vs "
        f"{small['peak'] / mb:.0f} MB over the process tree; backfills took {large['backfill_s']:.0f} s and "
        f"{small['backfill_s']:.0f} s)"
    )
    bytes_ratio = large["daily_bytes"] / small["daily_bytes"]
    bytes_verdict = (
        "goal met" if bytes_ratio <= FLAT else f"GOAL MISSED (goal <= {FLAT}x: follows the new days)"
    )
    print(
        f"daily_run_bytes_written_{large_y}y_vs_{small_y}y: {bytes_ratio:.2f}x, {bytes_verdict} "
        f"({large['daily_bytes'] / mb:.1f} MB vs {small['daily_bytes'] / mb:.1f} MB of files under the data root, "
        f"of which the warehouse {large['warehouse_bytes'] / mb:.1f} MB vs {small['warehouse_bytes'] / mb:.1f} MB; "
        f"write() {large['wchar'] / mb:.1f} MB vs {small['wchar'] / mb:.1f} MB; "
        f"{large['daily_s']:.0f} s vs {small['daily_s']:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
