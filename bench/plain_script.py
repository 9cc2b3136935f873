"""The seed tutorial's plain script, the baseline of bench_backfill.py: requests + pandas + three figures.

What it does, and nothing more: one GET of the v1.2 sleep range endpoint per 100 days with a bearer token, each
response saved as JSON, the logs flattened with one ``pandas.json_normalize`` over all of them, and three matplotlib
PNGs (minutes asleep per night, efficiency histogram, bedtime over time). No landing per date, no checks, no
warehouse, no report, no retries: the floor a person gets by writing the script by hand.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import requests  # noqa: E402


def fetch(base_url: str, token: str, start: date, end: date, out_dir: Path) -> list[dict]:
    """Every sleep log of START..END, 100 days a request; each raw response saved under OUT_DIR/raw."""
    raw = out_dir / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    logs: list[dict] = []
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    chunk_start = start
    while chunk_start <= end:
        chunk_end = min(end, chunk_start + timedelta(days=99))
        url = f"{base_url}/1.2/user/-/sleep/date/{chunk_start}/{chunk_end}.json"
        response = session.get(url, timeout=30)
        response.raise_for_status()
        body = response.json()
        (raw / f"{chunk_start}_{chunk_end}.json").write_text(json.dumps(body))
        logs.extend(body["sleep"])
        chunk_start = chunk_end + timedelta(days=1)
    return logs


def figures(logs: list[dict], out_dir: Path) -> list[Path]:
    """The three figures of the tutorial, from one flattened DataFrame."""
    frame = pd.json_normalize(logs)
    frame["dateOfSleep"] = pd.to_datetime(frame["dateOfSleep"])
    frame["startTime"] = pd.to_datetime(frame["startTime"])
    main = frame[frame["isMainSleep"].eq(True)].sort_values("dateOfSleep")  # some real logs lack the flag
    bedtime = (main["startTime"].dt.hour + main["startTime"].dt.minute / 60 + 12) % 24 - 12
    out: list[Path] = []
    for name, draw in (
        ("minutes_asleep", lambda ax: ax.plot(main["dateOfSleep"], main["minutesAsleep"], lw=0.8)),
        ("efficiency", lambda ax: ax.hist(main["efficiency"], bins=30)),
        ("bedtime", lambda ax: ax.scatter(main["dateOfSleep"], bedtime, s=4)),
    ):
        fig, ax = plt.subplots(figsize=(10, 4))
        draw(ax)
        ax.set_title(name.replace("_", " "))
        path = out_dir / f"{name}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        out.append(path)
    return out


def run(base_url: str, token: str, start: date, end: date, out_dir: Path) -> int:
    """The whole script; returns the number of logs."""
    logs = fetch(base_url, token, start, end, out_dir)
    figures(logs, out_dir)
    return len(logs)
