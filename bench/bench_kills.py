"""Kills at random moments of a 1-year CLI backfill, each followed by a plain rerun (issue 20's "done when").

For each of N trials: ``fitbit-sleep backfill`` is started on a fresh data root, ``kill -9``'d from outside after a
random share of a clean backfill's wall time, then rerun once without any manual step. Printed per trial: when it
was killed, whether the rerun finished, its wall time as a ratio of the clean backfill's (the baseline, measured in
this process), what the rerun cleaned, and whether landing, tables and warehouse equal the clean run's (fetch and
ingest timestamps aside). Needs nothing but the repo: the sandbox runs in this process.

Usage: .venv/bin/python bench/bench_kills.py [--kills 10] [--days 365] [--seed 3]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fitbit_sandbox.config import SandboxConfig  # noqa: E402
from fitbit_sandbox.server import SandboxServer  # noqa: E402
from tests.clock import TEST_TODAY  # noqa: E402
from tests.dagster_project.test_kills import prepared_home, state, temp_files  # noqa: E402

CLI = str(REPO / ".venv" / "bin" / "fitbit-sleep")


def command(sandbox: SandboxServer, home: Path, days: int) -> tuple[list[str], dict[str, str]]:
    end = TEST_TODAY - timedelta(days=1)
    start = end - timedelta(days=days - 1)
    env = {
        **os.environ,
        **sandbox.client_env(),
        "FITBIT_SLEEP_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster_home"),
        "FITBIT_SLEEP_TODAY": TEST_TODAY.isoformat(),
        "FITBIT_SLEEP_START_DATE": (start - timedelta(days=5)).isoformat(),
        "FITBIT_SLEEP_TZ": "America/Los_Angeles",
    }
    return [CLI, "backfill", "--start", start.isoformat(), "--end", end.isoformat()], env


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    config = SandboxConfig(days=args.days + 30, seed=21, today=TEST_TODAY, auto_approve=True, quota=10_000)
    with tempfile.TemporaryDirectory() as tmp, SandboxServer(config).start() as sandbox:
        root = Path(tmp)
        clean_home = prepared_home(sandbox, root / "clean")
        argv, env = command(sandbox, clean_home, args.days)
        started = time.monotonic()
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        baseline = time.monotonic() - started
        assert done.returncode == 0, done.stderr
        clean = state(clean_home)
        print(f"clean {args.days}-day backfill: {baseline:.1f} s (baseline)")
        finished = identical = 0
        for trial in range(1, args.kills + 1):
            home = prepared_home(sandbox, root / f"trial{trial}")
            argv, env = command(sandbox, home, args.days)
            at = rng.uniform(0.05, 0.95) * baseline
            proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(at)
            killed = proc.poll() is None
            if killed:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            started = time.monotonic()
            try:
                rerun = subprocess.run(
                    argv, env=env, capture_output=True, text=True, timeout=3 * baseline + 60
                )
                ok = rerun.returncode == 0
                notes = sum("Cleaned up run" in line for line in rerun.stderr.splitlines())
            except subprocess.TimeoutExpired:
                ok, notes = False, 0
            took = time.monotonic() - started
            same = ok and state(home) == clean and not temp_files(home)
            finished += ok
            identical += same
            print(
                f"trial {trial:2d}: killed at {at:5.1f} s{'' if killed else ' (had ended)'}; rerun "
                f"{'finished' if ok else 'FAILED'} in {took:5.1f} s = {took / baseline:.2f}x clean; "
                f"cleaned {notes} run(s); {'identical' if same else 'DIFFERENT'} to the clean run"
            )
        print(f"{finished}/{args.kills} reruns finished, {identical}/{args.kills} identical to the clean run")


if __name__ == "__main__":
    main()
