"""Run the date-sensitive tests with "today" moved to every day of a span (``make test-dates``).

Why: the suite pins one date (``tests/clock.py``); this shows the tests hold whatever that date is — month ends,
DST changes, a day the sandbox slept nowhere — and whatever the machine's time zone is (``TZ`` rotates through
zones on both sides of UTC). Each date is its own pytest process because ``TEST_TODAY`` is read at import.

    python -m tests.sweep_dates --start 2026-10-02 --days 60
    python -m tests.sweep_dates --dates 2026-11-01,2026-03-08 -- tests/dagster_project  # other tests

Prints one line per date and a summary; exits 1 when any date failed (its pytest output is printed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

# Tests whose data depends on the pinned date: the sandbox's nights, the partitions, the freshness checks and the
# schedule window. (The whole suite also runs on a few dates; this subset keeps a 60-day sweep near an hour.)
DATE_SENSITIVE = [
    "tests/dagster_project/test_assets.py",
    "tests/dagster_project/test_checks.py",
    "tests/dagster_project/test_schedules.py",
    "tests/dagster_project/test_partitions.py",
    "tests/pipeline/test_client.py",
    "tests/cli/test_auth_cli.py",
]
# The multi-range tests take most of the time and depend on the date only through counts; --fast leaves them out.
SLOW = "not (100_day_range or overlapping_backfills or re_running_a_range)"
MACHINE_ZONES = ["UTC", "America/Los_Angeles", "Pacific/Kiritimati", "Europe/Berlin", "Pacific/Pago_Pago"]
ROOT = Path(__file__).resolve().parents[1]


def _dates(args: argparse.Namespace) -> list[date]:
    if args.dates:
        return [date.fromisoformat(d) for d in args.dates.split(",")]
    first = date.fromisoformat(args.start)
    return [first + timedelta(days=i) for i in range(args.days)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="2026-10-02", help="First pinned date (YYYY-MM-DD).")
    parser.add_argument("--days", type=int, default=60, help="How many consecutive dates.")
    parser.add_argument("--dates", default="", help="Comma-separated dates instead of --start/--days.")
    parser.add_argument("--workers", default="2", help="pytest-xdist workers per date.")
    parser.add_argument("--fast", action="store_true", help=f"Leave out the slow range tests ({SLOW}).")
    parser.add_argument(
        "tests", nargs="*", default=DATE_SENSITIVE, help="Test paths (default: date-sensitive)."
    )
    args = parser.parse_args(argv)
    later = [d for d in _dates(args) if d > date.today()]
    if later:  # Dagster creates daily partitions only up to the real clock, whatever "today" the tests pin
        print(
            f"error: {later[0]} is after the machine's date: Dagster has no partitions there yet. Pin past dates, "
            f"or move the machine's clock too (e.g. faketime '{later[0]} 12:00:00' make test-dates ...).",
            file=sys.stderr,
        )
        return 2
    failed: list[str] = []
    started = time.monotonic()
    for i, day in enumerate(_dates(args)):
        zone = MACHINE_ZONES[i % len(MACHINE_ZONES)]
        env = {**os.environ, "FITBIT_SLEEP_TEST_TODAY": day.isoformat(), "TZ": zone}
        t0 = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-n",
                args.workers,
                "-p",
                "no:cacheprovider",
                "--show-capture=no",
                "--tb=short",
                *(["-k", SLOW] if args.fast else []),
                *args.tests,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        verdict = "ok" if done.returncode == 0 else "FAILED"
        tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        print(f"{day} TZ={zone:<20} {verdict:<6} {time.monotonic() - t0:6.1f} s  {tail}", flush=True)
        if done.returncode != 0:
            failed.append(day.isoformat())
            print(done.stdout[-6000:] + done.stderr[-2000:], flush=True)
    total = len(_dates(args))
    print(f"{total - len(failed)} of {total} dates passed in {time.monotonic() - started:.0f} s", flush=True)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
