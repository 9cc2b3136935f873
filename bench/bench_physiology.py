"""Sandbox physiology figures, each a ratio to a baseline measured in the same process:

- setting up the physiology of a 2-year history vs building its sleep store (the physiology is lazy: ~0x);
- generating one day of heart-rate samples and one night's measures vs generating that night's sleep logs;
- serving a year of daily heart-rate summaries, a day of 1-s intraday and 30 days of HRV intraday vs a 100-day sleep
  range call on the same server;
- writing one day of legacy heart_rate JSON vs generating the day.
"""

from __future__ import annotations

import sys
import time
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_sandbox import token  # noqa: E402

from fitbit_sandbox.config import SandboxConfig  # noqa: E402
from fitbit_sandbox.generator import generate_night  # noqa: E402
from fitbit_sandbox.physio_export import heart_rate_json  # noqa: E402
from fitbit_sandbox.physiology import Physiology  # noqa: E402
from fitbit_sandbox.server import SandboxServer  # noqa: E402
from fitbit_sandbox.store import SleepStore  # noqa: E402

TODAY = date(2026, 11, 20)
TZ = "America/Los_Angeles"


def best(fn: object, rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    config = SandboxConfig(days=730, today=TODAY, auto_approve=True, quota=10**9)
    store_only = best(lambda: SleepStore(config.seed, config.days, TODAY, TZ), 2)
    store = SleepStore(config.seed, config.days, TODAY, TZ)
    logs = [log for day in sorted(store.by_date) for log, _ in store.by_date[day]]
    physio_init = best(lambda: Physiology(config.seed, logs, store.first, TODAY, tz=TZ))
    print(f"physiology_setup_vs_sleep_store_730_days: {physio_init / store_only:.4f}x "
          f"({physio_init * 1e3:.1f} vs {store_only * 1e3:.0f} ms: the days are generated on demand)")  # fmt: skip

    days = [TODAY - timedelta(days=k) for k in range(1, 61)]

    def sleep_nights() -> None:
        for day in days:
            generate_night(config.seed, day)

    def heart_days() -> None:
        phys = Physiology(config.seed, logs, store.first, TODAY, tz=TZ)
        for day in days:
            phys.heart_day(day)

    def nights() -> None:
        phys = Physiology(config.seed, logs, store.first, TODAY, tz=TZ)
        for day in days:
            phys.night(day)

    base = best(sleep_nights)
    heart, night = best(heart_days), best(nights)
    print(f"heart_day_vs_sleep_night_generation: {heart / base:.1f}x ({heart / len(days) * 1e3:.1f} vs "
          f"{base / len(days) * 1e3:.2f} ms a day)")  # fmt: skip
    print(
        f"nightly_measures_vs_sleep_night_generation: {night / base:.1f}x ({night / len(days) * 1e3:.1f} ms a night)"
    )
    phys = Physiology(config.seed, logs, store.first, TODAY, tz=TZ)
    day = TODAY - timedelta(days=2)
    heart_day = phys.heart_day(day)
    write = best(lambda: heart_rate_json(heart_day, ZoneInfo(TZ)))
    generate = best(lambda: phys._build_day(day))
    size = len(heart_rate_json(heart_day, ZoneInfo(TZ)))
    print(f"heart_rate_json_write_vs_generate_day: {write / generate:.1f}x ({write * 1e3:.0f} ms, "
          f"{size / 1e6:.2f} MB, {heart_day.seconds.size} samples)")  # fmt: skip

    with SandboxServer(config) as server:
        scopes = "sleep heartrate"
        headers = {"Authorization": f"Bearer {token(server, scopes)}"}
        api = f"{server.base_url}/1"

        def get(path: str) -> float:
            t = time.perf_counter()
            requests.get(api + path, headers=headers, timeout=120).raise_for_status()
            return time.perf_counter() - t

        sleep_range = min(
            get(f".2/user/-/sleep/date/{TODAY - timedelta(days=99)}/{TODAY}.json") for _ in range(3)
        )
        cold_year = get(f"/user/-/activities/heart/date/{TODAY - timedelta(days=365)}/{TODAY}.json")
        warm_year = get(f"/user/-/activities/heart/date/{TODAY - timedelta(days=365)}/{TODAY}.json")
        intraday = min(get(f"/user/-/activities/heart/date/{day}/1d/1sec.json") for _ in range(3))
        hrv = get(f"/user/-/hrv/date/{TODAY - timedelta(days=29)}/{TODAY}/all.json")
    print(f"heart_series_1_year_vs_sleep_range_100_days: cold {cold_year / sleep_range:.0f}x "
          f"({cold_year:.1f} s: 366 days generated), warm {warm_year / sleep_range:.1f}x")  # fmt: skip
    print(f"heart_intraday_1sec_day_vs_sleep_range: {intraday / sleep_range:.1f}x ({intraday * 1e3:.0f} ms)")
    print(f"hrv_intraday_30_days_vs_sleep_range: {hrv / sleep_range:.1f}x ({hrv * 1e3:.0f} ms)")


if __name__ == "__main__":
    main()
