"""Benchmark: importing a year of 1-second heart-rate samples from an archive, both generations.

The bench writes the archives itself (no real data): a legacy ``Global Export Data/heart_rate-YYYY-MM-DD.json`` per
local day (pretty-printed like the real export, UTC ``MM/DD/YY HH:MM:SS``) and a Google-era
``Physical Activity_GoogleData/heart_rate_YYYY-MM-DD.csv`` per UTC day (a band every second plus a phone every 5
minutes, in one file), 86,400 band samples a day, each archive with one sleep log and a profile. Then, each in a
child process whose process tree's RSS is polled:

- ``product``: ``import_archive`` (the product's import: local days, one source per day, gzip'd raw landing with
  hashes and provenance; then ``update_physiology_tables``: the month-compacted Parquet samples and daily tables);
- ``baseline``: the plain way, ``json.load`` / ``pandas.read_csv`` + pandas per file (timestamps parsed, converted
  to local time, the phone's rows dropped for the CSV) into one Parquet file per month.

Printed per generation: seconds, samples/s, peak RSS of the process tree, bytes stored (raw landing + tables for the
product, the Parquet files for the baseline), and the product/baseline ratios. Run:
``.venv/bin/python bench/bench_heart_rate_import.py [--days 365]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

TZ = "America/New_York"
PAGE = os.sysconf("SC_PAGE_SIZE")
POLL_SECONDS = 0.1
FIRST = date(2025, 1, 1)
SLEEP_LOG = {
    "logId": 50000000001,
    "dateOfSleep": FIRST.isoformat(),
    "startTime": f"{FIRST - timedelta(days=1)}T23:30:00.000",
    "endTime": f"{FIRST}T07:00:00.000",
    "duration": 27_000_000,
    "minutesToFallAsleep": 0,
    "minutesAsleep": 430,
    "minutesAwake": 20,
    "minutesAfterWakeup": 0,
    "timeInBed": 450,
    "efficiency": 95,
    "type": "classic",
    "infoCode": 0,
    "levels": {
        "summary": {},
        "data": [
            {"dateTime": f"{FIRST - timedelta(days=1)}T23:30:00.000", "level": "asleep", "seconds": 27000}
        ],
    },
    "mainSleep": True,
}


# ---------------------------------------------------------------- archives


def _bpm(seconds: Any) -> Any:
    import numpy as np

    hours = (seconds % 86_400) / 3600
    rng = np.random.default_rng(int(seconds[0]) % 2**32)
    return (
        (62 + 14 * np.sin((hours - 9) / 24 * 2 * np.pi) + rng.normal(0, 3, len(seconds))).round().astype(int)
    )


def _common(base: Path) -> None:
    (base / "Global Export Data").mkdir(parents=True, exist_ok=True)
    (base / "Your Profile").mkdir(parents=True, exist_ok=True)
    (base / "Your Profile" / "Profile.csv").write_text(f"id,timezone\nBENCH,{TZ}\n")
    (base / "Global Export Data" / f"sleep-{FIRST}.json").write_text(json.dumps([SLEEP_LOG], indent=2))


def write_legacy(dest: Path, days: int) -> int:
    """One pretty-printed JSON file per LOCAL day, every second of it, in UTC with 2-digit years."""
    import numpy as np

    base = dest / "Takeout" / "Fitbit"
    _common(base)
    zone = ZoneInfo(TZ)
    total = 0
    for offset in range(days):
        day = FIRST + timedelta(days=offset)
        start = int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())
        end = int(datetime.combine(day + timedelta(days=1), datetime.min.time(), zone).timestamp())
        seconds = np.arange(start, end)
        stamps = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
        bpm = _bpm(seconds)
        records = [
            f'{{\n  "dateTime" : "{s[5:7]}/{s[8:10]}/{s[2:4]} {s[11:]}",\n  "value" : {{\n    "bpm" : {b},\n'
            f'    "confidence" : 3\n  }}\n}}'
            for s, b in zip(stamps.tolist(), bpm.tolist(), strict=True)
        ]
        (base / "Global Export Data" / f"heart_rate-{day}.json").write_text("[" + ",".join(records) + "]")
        total += len(records)
    return total


def write_takeout(dest: Path, days: int) -> int:
    """One CSV per UTC day: the band every second and the phone every 5 minutes in the same file."""
    import numpy as np

    base = dest / "Takeout" / "Fitbit"
    _common(base)
    (base / "Physical Activity_GoogleData").mkdir(parents=True, exist_ok=True)
    total = 0
    for offset in range(days):
        day = FIRST + timedelta(days=offset)
        start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
        seconds = np.arange(start, start + 86_400)
        stamps = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
        bpm = _bpm(seconds)
        lines = [f"{s}Z,{b}.0,Inspire 3" for s, b in zip(stamps.tolist(), bpm.tolist(), strict=True)]
        lines += [
            f"{s}Z,{b + 5}.0,Pixel 8"
            for s, b in zip(stamps[::300].tolist(), bpm[::300].tolist(), strict=True)
        ]
        path = base / "Physical Activity_GoogleData" / f"heart_rate_{day}.csv"
        path.write_text("timestamp,beats per minute,data source\n" + "\n".join(lines) + "\n")
        total += 86_400
    return total


# ---------------------------------------------------------------- children


def run_product(archive: Path, home: Path) -> dict[str, Any]:
    from pipeline.paths import StoragePaths
    from pipeline.sources.fitbit_export.importer import import_archive

    paths = StoragePaths(home)
    start, cpu = time.perf_counter(), time.process_time()
    summary = import_archive(paths, archive)
    from pipeline.physiology_tables import update_physiology_tables

    update_physiology_tables(paths, summary.physiology_changed)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "cpu": time.process_time() - cpu,
        "samples": summary.hr_samples,
        "days": summary.physio_days.get("heart_rate_intraday", 0),
        "problems": summary.problems,
        "raw_bytes": _size(paths.raw_physiology_dir),
        "table_bytes": _size(paths.root / "tables"),
    }


def run_baseline(archive: Path, out: Path) -> dict[str, Any]:
    """json.load / read_csv + pandas per file, local time, one Parquet file per month (no provenance, no hashes)."""
    import pandas as pd

    start, cpu = time.perf_counter(), time.process_time()
    files = sorted(archive.rglob("heart_rate*"))
    months: dict[str, list[Any]] = {}
    samples = 0
    for path in files:
        if path.suffix == ".json":
            with path.open() as handle:
                rows = json.load(handle)
            frame = pd.DataFrame(
                {"dateTime": [r["dateTime"] for r in rows], "bpm": [r["value"]["bpm"] for r in rows]}
            )
            utc = pd.to_datetime(frame["dateTime"], format="%m/%d/%y %H:%M:%S", utc=True)
        else:
            frame = pd.read_csv(path).rename(columns={"beats per minute": "bpm"})
            frame = frame[frame["data source"] == frame["data source"].mode().iloc[0]]
            utc = pd.to_datetime(frame["timestamp"], utc=True)
        local = utc.dt.tz_convert(TZ).dt.tz_localize(None)
        part = pd.DataFrame({"ts_local": local.astype("datetime64[s]"), "bpm": frame["bpm"].astype("uint8")})
        samples += len(part)
        months.setdefault(path.stem[-10:-3], []).append(part)
        if len(months) > 1:  # a month is complete: write it
            first = sorted(months)[0]
            _write_month(out, first, months.pop(first))
    for month, parts in months.items():
        _write_month(out, month, parts)
    return {
        "seconds": time.perf_counter() - start,
        "cpu": time.process_time() - cpu,
        "samples": samples,
        "stored_bytes": _size(out),
    }


def _write_month(out: Path, month: str, parts: list[Any]) -> None:
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    pd.concat(parts).sort_values("ts_local").to_parquet(out / f"month={month}.parquet", index=False)


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


# ---------------------------------------------------------------- measuring


def _tree_rss(pid: int) -> int:
    """RSS in bytes of ``pid`` and its descendants, via ``/proc/<pid>/task/*/children`` (cheap: no /proc scan)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/statm") as handle:
                total += int(handle.read().split()[1]) * PAGE
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    todo.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError):
            continue
    return total


def measure(mode: str, *args: Path) -> dict[str, Any]:
    """Run one child (``--child mode args``), poll its tree's RSS every 100 ms, return its result + the peak."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", mode, *map(str, args)], stdout=subprocess.PIPE, text=True
    )
    peak = 0
    while child.poll() is None:
        peak = max(peak, _tree_rss(child.pid))
        time.sleep(POLL_SECONDS)
    out = child.stdout.read() if child.stdout else ""
    if child.returncode != 0:
        raise SystemExit(f"{mode} failed ({child.returncode})")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["peak_rss"] = peak
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, *rest = args.child
        result = (
            run_product(Path(rest[0]), Path(rest[1]))
            if mode == "product"
            else run_baseline(Path(rest[0]), Path(rest[1]))
        )
        print(json.dumps(result))
        return
    mb = 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="bench-hr-") as tmp:
        work = Path(tmp)
        for label, write in (("legacy JSON", write_legacy), ("Takeout CSV", write_takeout)):
            archive = work / label.split()[0].lower()
            started = time.perf_counter()
            samples = write(archive, args.days)
            size = _size(archive)
            print(
                f"{label}: wrote {args.days} days, {samples:,} band samples, {size / mb:,.0f} MB in "
                f"{time.perf_counter() - started:.0f} s",
                flush=True,
            )
            product = measure("product", archive, work / f"home-{label[0]}")
            base = measure("baseline", archive, work / f"parquet-{label[0]}")
            stored = product["raw_bytes"] + product["table_bytes"]
            print(
                f"  product  {product['seconds']:7.1f} s wall {product['cpu']:7.1f} s CPU  "
                f"{product['samples'] / product['cpu']:>10,.0f} samples/CPU-s  "
                f"peak RSS {product['peak_rss'] / mb:6.0f} MB  stored {stored / mb:7.1f} MB "
                f"(raw {product['raw_bytes'] / mb:.1f} + tables {product['table_bytes'] / mb:.1f}); "
                f"{product['days']} days, {product['samples']:,} samples landed"
            )
            print(
                f"  baseline {base['seconds']:7.1f} s wall {base['cpu']:7.1f} s CPU  "
                f"{base['samples'] / base['cpu']:>10,.0f} samples/CPU-s  "
                f"peak RSS {base['peak_rss'] / mb:6.0f} MB  stored {base['stored_bytes'] / mb:7.1f} MB (Parquet)"
            )
            print(
                f"  ratio product/baseline: wall {product['seconds'] / base['seconds']:.2f}x, "
                f"CPU {product['cpu'] / base['cpu']:.2f}x, peak RSS "
                f"{product['peak_rss'] / base['peak_rss']:.2f}x, stored {stored / max(base['stored_bytes'], 1):.2f}x; "
                f"archive {size / mb:.0f} MB -> stored {stored / mb:.0f} MB",
                flush=True,
            )
            for problem in product["problems"]:
                if "sleep_score" not in problem:
                    print(f"  problem: {problem}")


if __name__ == "__main__":
    main()
