"""Bench: one year of 1-second heart-rate samples through the physiology landing and tables. Prints ratios.

(a) stored size: the gzip'd raw days and the ``heart_rate`` Parquet months, against the same samples as plain JSON;
(b) import time (land every day + build the tables), against a plain baseline in the same process: ``json.loads``
    of each day, a pandas DataFrame with the same columns, one ``to_parquet`` per month (zstd);
(c) peak memory of the import (``VmHWM`` of a subprocess that runs only the import);
(d) a scan of the year (mean bpm per day) on the warehouse, in seconds.

Samples are synthetic: one every ``--step`` seconds (1 = the dense worst case of ~86k a day; real 1-s exports hold
one every 1-15 s), a smooth day curve plus noise, a few out-of-range glitches to quarantine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pipeline.paths import StoragePaths  # noqa: E402
from pipeline.physiology_landing import land_physiology_day  # noqa: E402
from pipeline.physiology_tables import update_physiology_tables  # noqa: E402
from pipeline.writer_lock import writer_lock  # noqa: E402

FIRST = date(2025, 1, 1)
FETCHED = datetime(2026, 1, 2, 6, tzinfo=UTC)


def day_document(day: date, step: int) -> dict[str, Any]:
    rng = np.random.default_rng(day.toordinal())
    seconds = np.arange(0, 86400, step)
    curve = 62 + 14 * np.sin((seconds / 86400 - 0.3) * 2 * np.pi) + rng.normal(0, 3, len(seconds))
    bpm = np.clip(np.round(curve), 30, 200).astype(int)
    bpm[rng.integers(0, len(bpm), 3)] = 250  # glitches: quarantined
    dataset = [
        {"time": f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}", "value": int(v)}
        for s, v in zip(seconds.tolist(), bpm.tolist(), strict=True)
    ]
    return {
        "activities-heart": [{"dateTime": day.isoformat(), "value": {"restingHeartRate": 58}}],
        "activities-heart-intraday": {"dataset": dataset, "datasetInterval": 1, "datasetType": "second"},
    }


def documents(days: int, step: int) -> list[tuple[date, bytes]]:
    """Every day's document as JSON bytes (made once, outside the timings)."""
    return [
        (FIRST + timedelta(days=i), json.dumps(day_document(FIRST + timedelta(days=i), step)).encode())
        for i in range(days)
    ]


def product_import(root: Path, docs: list[tuple[date, bytes]]) -> float:
    paths = StoragePaths(root)
    started = time.perf_counter()
    with writer_lock(paths, "bench"):
        for day, raw in docs:
            land_physiology_day(
                paths, "heart_rate_intraday", day, json.loads(raw), source="export", source_ref="bench",
                fetched_at=FETCHED,
            )  # fmt: skip
        update_physiology_tables(paths)
    return time.perf_counter() - started


def baseline_import(root: Path, docs: list[tuple[date, bytes]]) -> float:
    started = time.perf_counter()
    months: dict[str, list[pd.DataFrame]] = {}
    for day, raw in docs:
        dataset = json.loads(raw)["activities-heart-intraday"]["dataset"]
        frame = pd.DataFrame(dataset)
        frame["ts_local"] = pd.to_datetime(day.isoformat() + " " + frame["time"])
        frame = frame[(frame["value"] >= 25) & (frame["value"] <= 220)]
        months.setdefault(day.strftime("%Y-%m"), []).append(
            pd.DataFrame(
                {"ts_local": frame["ts_local"], "bpm": frame["value"].astype("uint8"), "source": "export"}
            )
        )
    for month, frames in months.items():
        target = root / f"month={month}.parquet"
        pd.concat(frames).to_parquet(target, compression="zstd")
    return time.perf_counter() - started


def size(path: Path, pattern: str) -> int:
    return sum(p.stat().st_size for p in path.glob(pattern))


def peak_rss_of_import(days: int, step: int) -> int:
    """VmHWM (kB) of a fresh interpreter that makes the documents and runs the product import only."""
    code = (
        f"import sys, tempfile, pathlib; sys.path.insert(0, {str(ROOT)!r}); import bench.bench_physiology_tables as b; "
        f"docs = b.documents({days}, {step}); root = pathlib.Path(tempfile.mkdtemp()); "
        "b.product_import(root, docs); "
        "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--step", type=int, default=1, help="seconds between samples (1 = 86,400 a day)")
    args = parser.parse_args()
    docs = documents(args.days, args.step)
    plain_json = sum(len(raw) for _, raw in docs)
    samples = sum(len(json.loads(raw)["activities-heart-intraday"]["dataset"]) for _, raw in docs[:1]) * len(
        docs
    )
    with tempfile.TemporaryDirectory() as product, tempfile.TemporaryDirectory() as baseline:
        product_s = product_import(Path(product), docs)
        baseline_s = baseline_import(Path(baseline), docs)
        raw_gz = size(Path(product), "raw/physiology/heart_rate_intraday/*.json.gz")
        table = size(Path(product), "tables/heart_rate/month=*/part-0.parquet")
        baseline_parquet = size(Path(baseline), "*.parquet")
        from pipeline.warehouse import build_warehouse, connect_readonly

        built = build_warehouse(StoragePaths(Path(product)))
        with connect_readonly(StoragePaths(Path(product))) as con:
            started = time.perf_counter()
            days = con.execute("SELECT ts_local::DATE, avg(bpm) FROM heart_rate GROUP BY 1").fetchall()
            scan_s = time.perf_counter() - started
            rows = con.execute("SELECT count(*) FROM heart_rate").fetchall()[0][0]
    peak_kb = peak_rss_of_import(args.days, args.step)
    mb = 1024 * 1024
    print(f"{args.days} days, one sample every {args.step} s: ~{samples:,} samples, {rows:,} in heart_rate")
    print(
        f"(a) raw gzip'd JSON {raw_gz / mb:.1f} MB vs plain JSON {plain_json / mb:.1f} MB: {raw_gz / plain_json:.3f}x"
    )
    print(f"(a) heart_rate Parquet {table / mb:.1f} MB ({table / max(rows, 1):.2f} B/sample) vs plain JSON: "
          f"{table / plain_json:.4f}x; vs the pandas baseline's Parquet {baseline_parquet / mb:.1f} MB: "
          f"{table / baseline_parquet:.2f}x")  # fmt: skip
    print(f"(b) import (land + tables) {product_s:.1f} s vs baseline (json + pandas + Parquet) {baseline_s:.1f} s: "
          f"{product_s / baseline_s:.2f}x")  # fmt: skip
    print(f"(c) peak RSS of the import {peak_kb / 1024:.0f} MB")
    print(f"(d) warehouse {built.bytes / mb:.1f} MB (built in {built.seconds:.1f} s); a year's per-day mean bpm "
          f"({len(days)} days) in {scan_s:.3f} s")  # fmt: skip


if __name__ == "__main__":
    main()
