"""A SIMULATION (not a run) of a cohort: 1,000 participants x 2 years on the scale profile.

What it computes, from the API's rules and sizes measured here (each constant says where it comes from):
API calls and hours of quota, storage, Dagster runs and partitions, for the initial backfill of two years and for
two years of daily operation, under three partition designs. Prints a markdown table (docs/scale.md carries it).

    .venv/bin/python bench/simulate_cohort.py [--participants 1000] [--years 2] [--sample-root DIR]

``--sample-root`` calibrates the storage per night from a real data root (e.g. a participant of
``fitbit-sleep cohort demo``: ``data/cohort-demo/participants/p01``) instead of the defaults.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

# --- the API (docs/architecture.md, shared/reference) ---------------------------------------------------------------
QUOTA_PER_HOUR = 150  # v1.2: calls per user per hour
MAX_DAYS_PER_CALL = 100  # v1.2 sleep range endpoint
GOOGLE_PER_PAGE = 25  # Google Health API v4: sleep sessions per page
ACCESS_TOKEN_HOURS = 8  # a refresh per 8 h of activity
DAGSTER_PARTITION_GUIDELINE = 100_000  # Dagster's recommended maximum partitions per asset

# --- measured here (participant p01 of the cohort demo: 30 nights; bytes per night, 2026-11-30) ---------------------
RAW_BYTES_PER_NIGHT = 4_162  # raw/sleep/date=D.json incl. stages segments and provenance
PARQUET_BYTES_PER_NIGHT = (
    2_027  # tables/*/month=M/part-0.parquet, all tables (month files: less per night with more)
)
# Dagster's own rows, measured in the cohort demo's Postgres (20 participants x 30 days): 2,644 event-log rows for
# 40 runs (daily + publish), 66 a run; the row size is an estimate (JSON event bodies of 1-2 kB).
EVENTS_PER_RUN = 66
EVENT_ROW_BYTES = 1_500


def calibrate(root: Path) -> tuple[int, int]:
    """Bytes per night of raw JSON and of Parquet in a real data root."""
    raw = list((root / "raw" / "sleep").glob("date=*.json"))
    parquet = list((root / "tables").rglob("*.parquet"))
    nights = max(1, len(raw))
    return (
        sum(p.stat().st_size for p in raw) // nights,
        sum(p.stat().st_size for p in parquet) // nights,
    )


def human(n: float, unit: str = "B") -> str:
    for prefix in ("", "K", "M", "G", "T"):
        if abs(n) < 1000:
            return f"{n:,.1f} {prefix}{unit}" if prefix else f"{n:,.0f} {unit}"
        n /= 1000
    return f"{n:,.1f} P{unit}"


def simulate(participants: int, days: int, raw_night: int, parquet_night: int) -> list[tuple[str, str, str]]:
    """(quantity, initial backfill of ``days``, ``days`` of daily operation) rows."""
    backfill_calls_v12 = math.ceil(days / MAX_DAYS_PER_CALL) + 1 + 1  # ranges + profile + one token refresh
    backfill_calls_v4 = math.ceil(days / GOOGLE_PER_PAGE) + 2 + 1  # pages + identity/settings + a refresh
    # a daily run: one range call (the lookback fits in one), and one refresh (the 8-h token expired since yesterday)
    daily_calls = days * 2
    rows: list[tuple[str, str, str]] = []
    rows.append(
        (
            "API calls, v1.2 (all participants)",
            f"{participants * backfill_calls_v12:,} ({backfill_calls_v12} each)",
            f"{participants * daily_calls:,} ({daily_calls} each: 1 range call + 1 refresh a day)",
        )
    )
    rows.append(
        (
            "API calls, Google Health v4",
            f"{participants * backfill_calls_v4:,} ({backfill_calls_v4} each, 25 sessions a page)",
            f"{participants * daily_calls:,} (1 page + 1 refresh a day)",
        )
    )
    quota_hours = backfill_calls_v12 / QUOTA_PER_HOUR
    rows.append(
        (
            "hours of quota per participant (v1.2, 150/h)",
            f"{quota_hours:.2f} h: one quota window; quotas are per person, so the cohort's wall time is set by "
            "run throughput, not quota",
            f"{2 / QUOTA_PER_HOUR * 100:.1f} % of one hour a day",
        )
    )
    raw = participants * days * raw_night
    parquet = participants * days * parquet_night
    rows.append(
        (
            "storage: raw JSON + Parquet (S3, plus the same working copy)",
            f"{human(raw)} + {human(parquet)}",
            "the same (daily runs re-land a 3-day lookback; a revised day replaces its file)",
        )
    )
    rows.append(
        (
            "storage: shared warehouse (DuckLake Parquet on S3)",
            f"about {human(parquet)} per snapshot; old snapshots until expired",
            "one snapshot per rebuild; `CALL ducklake_expire_snapshots` keeps it bounded",
        )
    )
    per_participant_runs = math.ceil(days / MAX_DAYS_PER_CALL) + 1  # ≤100-day runs + the publish run
    fanned_runs = math.ceil(days / MAX_DAYS_PER_CALL) + 1
    rows.append(
        (
            "Dagster runs: a run per participant and ≤100 days (this branch's cohort demo)",
            f"{participants * per_participant_runs:,}",
            f"{participants * days * 2:,} (daily + publish per participant a day)",
        )
    )
    rows.append(
        (
            "Dagster runs: participants fanned out inside a date run",
            f"{fanned_runs:,}",
            f"{days * 2:,}",
        )
    )
    events = participants * days * 2 * EVENTS_PER_RUN
    rows.append(
        (
            "Postgres event log (run-per-participant design)",
            f"{human(participants * per_participant_runs * EVENTS_PER_RUN * EVENT_ROW_BYTES)}",
            f"{events:,} rows, {human(events * EVENT_ROW_BYTES)}",
        )
    )
    rows.append(
        (
            "partitions per asset: participant x date (multi-partitions)",
            f"{participants * days:,} ({'over' if participants * days > DAGSTER_PARTITION_GUIDELINE else 'under'} "
            f"Dagster's ~{DAGSTER_PARTITION_GUIDELINE:,})",
            "grows by the participants each day",
        )
    )
    rows.append(
        ("partitions per asset: date only, participants inside runs", f"{days:,}", "grows by 1 a day")
    )
    groups = math.ceil(participants / 50)
    rows.append(
        (
            "partitions per asset: groups of 50 participants x date",
            f"{groups * days:,}",
            f"grows by {groups} a day",
        )
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--sample-root", type=Path, default=None)
    args = parser.parse_args(argv)
    raw_night, parquet_night = RAW_BYTES_PER_NIGHT, PARQUET_BYTES_PER_NIGHT
    source = "defaults measured on a cohort-demo participant"
    if args.sample_root is not None:
        raw_night, parquet_night = calibrate(args.sample_root)
        source = f"calibrated on {args.sample_root}"
    days = 365 * args.years
    print(
        f"Simulated: {args.participants:,} participants x {args.years} years ({days} days); "
        f"{raw_night:,} B raw + {parquet_night:,} B Parquet a night ({source})"
    )
    print()
    print(f"| quantity | initial backfill of {days} days | {days} days of daily runs |")
    print("|---|---|---|")
    for quantity, backfill, daily in simulate(args.participants, days, raw_night, parquet_night):
        print(f"| {quantity} | {backfill} | {daily} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
