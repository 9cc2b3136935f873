"""The physiology members of the sandbox user's archives, both generations, from the same ``Physiology`` the API
serves (reference ``real-fitbit-data.md`` §3, ``fitbit-web-api-v1.2.md`` §5), so an archive import and the API path
can agree night by night.

Legacy ("Global Export Data" / MyFitbitData):

- ``heart_rate-YYYY-MM-DD.json``: one LOCAL day per file, its samples' ``dateTime`` in UTC as ``MM/DD/YY HH:MM:SS``,
  ``{"bpm", "confidence"}``, pretty-printed like the sleep files;
- ``resting_heart_rate-YYYY-MM-DD.json``: 30 days per file (named after the first), ``value`` a float with an
  ``error``; days without a resting HR read ``{"date": null, "value": 0.0, "error": 0.0}``;
- ``Daily Heart Rate Variability Summary - YYYY-MM-(DD).csv`` (the odd name) ``timestamp,rmssd,nremhr,entropy`` and
  ``Heart Rate Variability Details - YYYY-MM-DD.csv`` (5-min rows, local time without zone), one per night;
  ``Daily Respiratory Rate Summary - YYYY-MM-DD.csv``; ``Daily SpO2 - <from>-<to>.csv`` (30 days a file) and
  ``Minute SpO2 - YYYY-MM-DD.csv``; ``Computed Temperature - YYYY-MM-DD.csv`` (a month a file; nightlyRelative =
  ``baseline_relative_sample_sum / temperature_samples``).

Google era (``Physical Activity_GoogleData``):

- ``heart_rate_YYYY-MM-DD.csv`` per UTC day: ``timestamp,beats per minute,data source``, the band's samples plus a
  phone's and Health Connect's rows over the same minutes (``PHONE_ROW_EVERY``; never add them up);
- ``daily_heart_rate_variability.csv``, ``daily_oxygen_saturation.csv`` (a night without a reading: a row of
  exactly 50, on ``SENTINEL_SHARE`` of the eligible nights without SpO2), ``respiratory_rate_sleep_summary_<month>.csv``
  (timestamp = the session's end, UTC), ``daily_sleep_temperature_derivations.csv`` (``NaN`` for the 30-day spread
  until 30 nights exist, and a ``NaN`` row on ``SENTINEL_SHARE`` of nights without a temperature).

Dates in the daily CSVs are the date the sleep ended (the API's ``dateTime``); ``T00:00:00Z`` there means that local
date, not UTC midnight.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from fitbit_sandbox.physiology import HeartDay, Night, Physiology

BAND = "Charge 6"
PHONE = "Pixel 8"
HEALTH_CONNECT = "Health Connect"
PHONE_ROW_EVERY = 40  # about one band sample in 40 has a phone reading near it
SENTINEL_SHARE = 0.5  # of the nights without a measure, this share still has a "no reading" row
RESTING_DAYS_PER_FILE = 30
SPO2_DAYS_PER_FILE = 30
TEMP_BASELINE_C = 33.9
GOOGLE_HRV_HEADER = [
    "timestamp",
    "average heart rate variability milliseconds",
    "non rem heart rate beats per minute",
    "entropy",
    "deep sleep root mean square of successive differences milliseconds",
    "data source",
]
GOOGLE_SPO2_HEADER = [
    "timestamp",
    "average percentage",
    "lower bound percentage",
    "upper bound percentage",
    "baseline percentage",
    "standard deviation percentage",
    "data source",
]
GOOGLE_BR_HEADER = [
    "timestamp",
    *(
        f"{stage} sleep {what}"
        for stage in ("deep", "light", "rem", "full")
        for what in ("breaths per minute", "standard deviation breaths per minute", "signal to noise")
    ),
    "data source",
]
GOOGLE_TEMP_HEADER = [
    "timestamp",
    "nightly temperature celsius",
    "baseline temperature celsius",
    "relative nightly stddev 30d celsius",
    "data source",
]
COMPUTED_TEMP_HEADER = [
    "type",
    "sleep_start",
    "sleep_end",
    "temperature_samples",
    "nightly_temperature",
    "baseline_relative_sample_sum",
    "baseline_relative_sample_sum_of_squares",
    "baseline_relative_nightly_standard_deviation",
    "baseline_relative_sample_standard_deviation",
]


def csv_bytes(header: list[str], rows: Iterable[list[str]]) -> bytes:
    """A CSV member as the archives write it: a header, ``\n`` line ends, UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def utc_seconds(heart: HeartDay, zone: ZoneInfo) -> np.ndarray:
    """The samples' times as seconds after UTC midnight of ``heart.day`` (negative: the UTC day before).

    Each local hour gets its own offset, so a day with a DST change converts right on both sides of it."""
    midnight = datetime(heart.day.year, heart.day.month, heart.day.day)
    offsets = np.array(
        [
            int(
                (
                    (midnight + timedelta(hours=h)).replace(tzinfo=zone).utcoffset() or timedelta(0)
                ).total_seconds()
            )
            for h in range(24)
        ]
    )
    return heart.seconds.astype(np.int64) - offsets[heart.seconds // 3600]


def nrem_heart_rate(phys: Physiology, night: Night) -> float:
    """Mean bpm of the samples in the main sleep's light and deep epochs (the CSVs' ``nremhr``)."""
    log = next(lg for lg in phys.by_date[night.day] if int(lg["logId"]) == night.log_id)
    levels = phys.epochs(log)
    values: list[np.ndarray] = []
    for day in (night.start.date(), night.end.date()):
        heart = phys.heart_day(day)
        offset = int((night.start - datetime(day.year, day.month, day.day)).total_seconds()) // 30
        index = heart.seconds // 30 - offset
        inside = (index >= 0) & (index < len(levels))
        nrem = np.array([levels[i] in ("light", "deep") for i in index[inside]], bool)
        values.append(heart.bpm[inside][nrem])
    joined = np.concatenate(values) if values else np.zeros(0)
    return round(float(joined.mean()), 3) if joined.size else 0.0


def entropy(night: Night) -> float:
    """The night's sleep-HRV entropy (the CSVs' and v4's ``entropy``): a stable draw per night."""
    return round(random.Random(night.log_id).uniform(2.1, 3.4), 3)


# --- legacy -----------------------------------------------------------------------------------------------------------
def heart_rate_json(heart: HeartDay, zone: ZoneInfo) -> bytes:
    """``heart_rate-<local date>.json``: the local day's samples, UTC ``MM/DD/YY HH:MM:SS``, pretty-printed."""
    utc = utc_seconds(heart, zone)
    base = datetime(heart.day.year, heart.day.month, heart.day.day)
    prefixes = {k: (base + timedelta(days=k)).strftime("%m/%d/%y") for k in (-1, 0, 1)}
    parts = []
    for second, bpm, confidence in zip(
        utc.tolist(), heart.bpm.tolist(), heart.confidence.tolist(), strict=True
    ):
        k, rest = divmod(second, 86400)
        stamp = f"{prefixes[k]} {rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
        parts.append(
            f'{{\n  "dateTime" : "{stamp}",\n  "value" : {{\n    "bpm" : {bpm},\n    "confidence" : {confidence}\n  }}\n}}'
        )
    return ("[" + ",".join(parts) + "]").encode("utf-8")


def resting_json(phys: Physiology, days: list[date]) -> bytes:
    """``resting_heart_rate-<first>.json``: a float value and error per day, 0.0 placeholders without one."""
    rows = []
    for day in days:
        stamp = day.strftime("%m/%d/%y")
        resting = phys.resting_hr(day)
        value: dict[str, Any]
        if resting is None:
            value = {"date": None, "value": 0.0, "error": 0.0}
        else:
            error = round(random.Random(phys.seed * 31 + day.toordinal()).uniform(4.5, 8.5), 2)
            value = {"date": stamp, "value": round(resting, 2), "error": error}
        rows.append({"dateTime": f"{stamp} 00:00:00", "value": value})
    return json.dumps(rows, indent=2, separators=(",", " : ")).encode("utf-8")


def legacy_members(
    phys: Physiology,
    *,
    heart_dir: str,
    hrv_dir: str,
    spo2_dir: str,
    temp_dir: str,
    zone: ZoneInfo,
    first: date,
    last: date,
    heart_rate_from: date | None = None,
) -> dict[str, bytes]:
    """The legacy physiology members for the local days ``first``..``last`` (heart-rate samples from
    ``heart_rate_from`` on: a day of them is ~0.5 MB)."""
    members: dict[str, bytes] = {}
    days = _days(first, last)
    for day in days:
        if heart_rate_from is None or day >= heart_rate_from:
            heart = phys.heart_day(day)
            if heart.seconds.size:
                members[f"{heart_dir}/heart_rate-{day.isoformat()}.json"] = heart_rate_json(heart, zone)
    for i in range(0, len(days), RESTING_DAYS_PER_FILE):
        chunk = days[i : i + RESTING_DAYS_PER_FILE]
        members[f"{heart_dir}/resting_heart_rate-{chunk[0].isoformat()}.json"] = resting_json(phys, chunk)
    nights = phys.nights(first, last)
    members.update(hrv_folder_members(phys, nights, hrv_dir))
    for i in range(0, len(days), SPO2_DAYS_PER_FILE):
        chunk = days[i : i + SPO2_DAYS_PER_FILE]
        rows = [
            [f"{n.day.isoformat()}T00:00:00", str(n.spo2.avg), str(n.spo2.min), str(n.spo2.max)]
            for n in nights
            if n.spo2 is not None and chunk[0] <= n.day <= chunk[-1]
        ]
        name = f"{spo2_dir}/Daily SpO2 - {chunk[0].isoformat()}-{chunk[-1].isoformat()}.csv"
        members[name] = csv_bytes(["timestamp", "average_value", "lower_bound", "upper_bound"], rows)
    for n in nights:
        if n.spo2 is not None:
            rows = [[at.isoformat(timespec="seconds"), str(v)] for at, v in n.spo2.minutes]
            members[f"{spo2_dir}/Minute SpO2 - {n.day.isoformat()}.csv"] = csv_bytes(
                ["timestamp", "value"], rows
            )
    months = sorted({date(d.year, d.month, 1) for d in days})
    for month in months:
        rows = [
            _computed_temperature(n) for n in nights if n.temp is not None and n.day.replace(day=1) == month
        ]
        if rows:
            members[f"{temp_dir}/Computed Temperature - {month.isoformat()}.csv"] = csv_bytes(
                COMPUTED_TEMP_HEADER, rows
            )
    return members


def hrv_folder_members(phys: Physiology, nights: list[Night], hrv_dir: str) -> dict[str, bytes]:
    """``Heart Rate Variability/``: the daily HRV summary (odd ``(DD)`` names), the 5-min details, the daily
    breathing rate; one file per night."""
    members: dict[str, bytes] = {}
    for n in nights:
        day = n.day.isoformat()
        if n.hrv is not None:
            name = f"{hrv_dir}/Daily Heart Rate Variability Summary - {day[:8]}({day[8:]}).csv"
            row = [f"{day}T00:00:00", str(n.hrv.daily_rmssd), str(nrem_heart_rate(phys, n)), str(entropy(n))]
            members[name] = csv_bytes(["timestamp", "rmssd", "nremhr", "entropy"], [row])
            details = [
                [at.isoformat(timespec="seconds"), str(r), str(c), str(lf), str(hf)]
                for at, r, c, hf, lf in n.hrv.windows
            ]
            members[f"{hrv_dir}/Heart Rate Variability Details - {day}.csv"] = csv_bytes(
                ["timestamp", "rmssd", "coverage", "low_frequency", "high_frequency"], details
            )
        if n.br is not None:
            members[f"{hrv_dir}/Daily Respiratory Rate Summary - {day}.csv"] = csv_bytes(
                ["timestamp", "daily_respiratory_rate"], [[f"{day}T00:00:00", str(n.br.full)]]
            )
    return members


def _computed_temperature(n: Night) -> list[str]:
    assert n.temp is not None
    rng = random.Random(n.log_id * 7)
    samples = rng.randint(250, 520)
    spread = rng.uniform(0.15, 0.4)
    total = n.temp * samples
    squares = samples * (spread**2 + n.temp**2)
    return [
        "LOCAL",
        n.start.isoformat(timespec="seconds"),
        n.end.isoformat(timespec="seconds"),
        str(samples),
        f"{TEMP_BASELINE_C + n.temp:.3f}",
        f"{total:.4f}",
        f"{squares:.4f}",
        f"{rng.uniform(0.2, 0.5):.4f}",
        f"{spread:.4f}",
    ]


# --- Google era ---------------------------------------------------------------------------------------------------------
def google_heart_rate_members(
    phys: Physiology, csv_dir: str, zone: ZoneInfo, first: date, last: date
) -> dict[str, bytes]:
    """``heart_rate_<UTC date>.csv`` for the local days ``first``..``last``: band samples plus phone and Health
    Connect rows at the same moments, sorted by time (several sources in one file)."""
    by_utc_day: dict[date, list[tuple[int, str]]] = {}
    for day in _days(first, last):
        heart = phys.heart_day(day)
        if not heart.seconds.size:
            continue
        utc = utc_seconds(heart, zone)
        rng = np.random.default_rng([phys.seed & 0xFFFFFFFF, day.toordinal(), 9])
        extra = rng.random(utc.size) < 1 / PHONE_ROW_EVERY
        connect = rng.random(utc.size) < 1 / (PHONE_ROW_EVERY * 2)
        shift = rng.integers(-4, 5, utc.size)
        base = datetime(day.year, day.month, day.day)
        rows = zip(
            utc.tolist(), heart.bpm.tolist(), extra.tolist(), connect.tolist(), shift.tolist(), strict=True
        )
        for second, bpm, phone, hc, delta in rows:
            k, rest = divmod(second, 86400)
            utc_day = (base + timedelta(days=k)).date()
            moment = f"{utc_day.isoformat()}T{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}Z"
            bucket = by_utc_day.setdefault(utc_day, [])
            bucket.append((rest, f"{moment},{float(bpm)},{BAND}"))
            if phone:  # the phone read the same pulse a little differently
                bucket.append((rest, f"{moment},{float(bpm + delta)},{PHONE}"))
            if hc:  # Health Connect mirrors the band's reading
                bucket.append((rest, f"{moment},{float(bpm)},{HEALTH_CONNECT}"))
    members = {}
    for utc_day, lines in sorted(by_utc_day.items()):
        lines.sort(key=lambda row: row[0])
        body = "timestamp,beats per minute,data source\n" + "".join(line + "\n" for _, line in lines)
        members[f"{csv_dir}/heart_rate_{utc_day.isoformat()}.csv"] = body.encode("utf-8")
    return members


def google_daily_members(
    phys: Physiology, csv_dir: str, zone: ZoneInfo, first: date, last: date
) -> dict[str, bytes]:
    """The daily CSVs of the nights reported ``first``..``last``."""
    eligible = [d for d in _days(first, last) if phys.main_sleep(d) is not None]
    nights = {n.day: n for n in phys.nights(first, last)}
    hrv, spo2, temp = [], [], []
    br: dict[date, list[list[str]]] = {}
    temps_seen = 0
    for day in eligible:
        n = nights[day]
        stamp = f"{day.isoformat()}T00:00:00Z"
        rng = random.Random(n.log_id * 13)
        if n.hrv is not None:
            hrv.append([stamp, str(n.hrv.daily_rmssd), str(nrem_heart_rate(phys, n)), str(entropy(n)),
                        str(n.hrv.deep_rmssd), BAND])  # fmt: skip
        baseline = f"{phys.person.spo2_base:.1f}"
        if n.spo2 is not None:
            spo2.append([stamp, str(n.spo2.avg), str(n.spo2.min), str(n.spo2.max), baseline,
                         f"{rng.uniform(0.4, 1.2):.2f}", BAND])  # fmt: skip
        elif rng.random() < SENTINEL_SHARE:
            spo2.append([stamp, "50.0", "50.0", "50.0", baseline, "0.0", BAND])
        if n.br is not None:
            end = n.end.replace(tzinfo=zone).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            cells = [end]
            for stage, rate in (
                ("deep", n.br.deep),
                ("light", n.br.light),
                ("rem", n.br.rem),
                ("full", n.br.full),
            ):
                sd, snr = n.br.extras[stage]
                cells += [str(rate), str(sd), str(snr)]
            br.setdefault(day.replace(day=1), []).append([*cells, BAND])
        if n.temp is not None:
            temps_seen += 1
            spread = "NaN" if temps_seen < 30 else f"{rng.uniform(0.2, 0.5):.3f}"
            temp.append([stamp, f"{TEMP_BASELINE_C + n.temp:.3f}", f"{TEMP_BASELINE_C:.3f}", spread, BAND])
        elif rng.random() < SENTINEL_SHARE:
            temp.append([stamp, "NaN", f"{TEMP_BASELINE_C:.3f}", "NaN", BAND])
    members = {
        f"{csv_dir}/daily_heart_rate_variability.csv": csv_bytes(GOOGLE_HRV_HEADER, hrv),
        f"{csv_dir}/daily_oxygen_saturation.csv": csv_bytes(GOOGLE_SPO2_HEADER, spo2),
        f"{csv_dir}/daily_sleep_temperature_derivations.csv": csv_bytes(GOOGLE_TEMP_HEADER, temp),
    }
    for month, rows in br.items():
        members[f"{csv_dir}/respiratory_rate_sleep_summary_{month.isoformat()}.csv"] = csv_bytes(
            GOOGLE_BR_HEADER, rows
        )
    return members
