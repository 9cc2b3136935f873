"""The physiology files of the sandbox's archives (fitbit_sandbox/physio_export.py): real names, shapes and quirks
(reference real-fitbit-data.md §3, fitbit-web-api-v1.2.md §5), and the same values the API serves."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fitbit_sandbox.export import export_history
from fitbit_sandbox.generator import generate_history
from fitbit_sandbox.physio_export import PHONE_ROW_EVERY, heart_rate_json, resting_json
from fitbit_sandbox.physiology import Physiology
from fitbit_sandbox.takeout2026 import Takeout2026, export_takeout_history
from tests.clock import TEST_TODAY

TZ = "America/Los_Angeles"
ZONE = ZoneInfo(TZ)
HR_STAMP = re.compile(r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d$")


def physiology(days: int) -> Physiology:
    logs = generate_history(42, days, TEST_TODAY, TZ)
    return Physiology(42, logs, TEST_TODAY - timedelta(days=days - 1), TEST_TODAY, tz=TZ)


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


@pytest.fixture(scope="module")
def legacy_archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, bytes], Physiology]:
    path = tmp_path_factory.mktemp("legacy") / "a.zip"
    export_history(path, days=40, today=TEST_TODAY, layout="takeout", physiology=True, heart_rate_days=2)
    return members(path), physiology(40)


@pytest.fixture(scope="module")
def google_takeout(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Takeout2026, dict[str, bytes], Physiology]:
    tmp = tmp_path_factory.mktemp("takeout")
    takeout = export_takeout_history(
        tmp / "t.zip", days=220, today=TEST_TODAY, physiology=True, heart_rate_days=3
    )
    return takeout, members(tmp / "t.zip"), physiology(220)


def test_heart_rate_json_is_one_local_day_in_utc_with_two_digit_years(
    legacy_archive: tuple[dict[str, bytes], Physiology],
) -> None:
    files, phys = legacy_archive
    names = {n for n in files if "Global Export Data/heart_rate-" in n}
    days = [TEST_TODAY - timedelta(days=1), TEST_TODAY]  # heart_rate_days=2: the last two local days
    assert names - {"Takeout/Fitbit/Global Export Data/heart_rate-2024-01-01.json"} == {
        f"Takeout/Fitbit/Global Export Data/heart_rate-{d.isoformat()}.json" for d in days
    }
    for day in days:
        data = json.loads(files[f"Takeout/Fitbit/Global Export Data/heart_rate-{day.isoformat()}.json"])
        assert set(data[0]) == {"dateTime", "value"} and set(data[0]["value"]) == {"bpm", "confidence"}
        assert all(HR_STAMP.match(row["dateTime"]) for row in data)
        local = [
            datetime.strptime(row["dateTime"], "%m/%d/%y %H:%M:%S").replace(tzinfo=UTC).astimezone(ZONE)
            for row in data
        ]
        assert {moment.date() for moment in local} == {day}  # a local day, written in UTC
        assert local[0].utcoffset() != timedelta(0) and data[0]["dateTime"][9:11] != "00"
        heart = phys.heart_day(day)
        assert [row["value"]["bpm"] for row in data] == heart.bpm.tolist()  # what the API's 1sec serves
        seconds = [m.hour * 3600 + m.minute * 60 + m.second for m in local]
        assert seconds == heart.seconds.tolist()
    assert files["Takeout/Fitbit/Global Export Data/heart_rate-2024-01-01.json"] == b"[]\n"  # an empty day


def test_heart_rate_json_on_the_dst_change_stays_on_its_local_day() -> None:
    phys = physiology(40)
    day = date(2026, 11, 1)  # Los Angeles falls back at 02:00
    data = json.loads(heart_rate_json(phys.heart_day(day), ZONE))
    stamps = [datetime.strptime(r["dateTime"], "%m/%d/%y %H:%M:%S").replace(tzinfo=UTC) for r in data]
    assert {s.astimezone(ZONE).date() for s in stamps} == {day}
    assert stamps == sorted(stamps)
    assert {s.astimezone(ZONE).utcoffset() for s in stamps} == {timedelta(hours=-7), timedelta(hours=-8)}


def test_heart_rate_json_skips_the_hour_clocks_spring_over() -> None:
    """No samples in the local hour that does not exist (02:00-03:00 on 8 March 2026): UTC times stay increasing."""
    phys = physiology(300)
    day = date(2026, 3, 8)
    heart = phys.heart_day(day)
    hours = set((heart.seconds // 3600).tolist())
    assert 2 not in hours and {1, 3} <= hours
    data = json.loads(heart_rate_json(heart, ZONE))
    stamps = [datetime.strptime(r["dateTime"], "%m/%d/%y %H:%M:%S") for r in data]
    assert all(a < b for a, b in zip(stamps, stamps[1:], strict=False))


def test_resting_heart_rate_files_with_zero_placeholders(
    legacy_archive: tuple[dict[str, bytes], Physiology],
) -> None:
    files, phys = legacy_archive
    names = sorted(n for n in files if "resting_heart_rate-" in n)
    entries = [e for n in names for e in json.loads(files[n])]
    assert len(names) == 2 and len(entries) == 40
    for entry in entries:
        day = datetime.strptime(entry["dateTime"], "%m/%d/%y %H:%M:%S").date()
        resting = phys.resting_hr(day)
        if resting is None:  # no night logged: Fitbit's placeholder
            assert entry["value"] == {"date": None, "value": 0.0, "error": 0.0}
            continue
        assert entry["value"]["date"] == day.strftime("%m/%d/%y")
        assert abs(entry["value"]["value"] - resting) < 0.01 and 0 < entry["value"]["error"] < 10
    # a year has days without a logged night: their placeholder is a null date and 0.0
    year = physiology(365)
    days = [TEST_TODAY - timedelta(days=k) for k in range(365)]
    placeholders = [e for e in json.loads(resting_json(year, days)) if e["value"]["date"] is None]
    assert placeholders and all(e["value"]["value"] == 0.0 for e in placeholders)
    assert len(placeholders) == sum(year.resting_hr(d) is None for d in days)


def test_legacy_nightly_files_hold_the_apis_values(
    legacy_archive: tuple[dict[str, bytes], Physiology],
) -> None:
    files, phys = legacy_archive
    nights = {n.day: n for n in phys.nights(phys.first, phys.last)}
    summaries = [n for n in files if "Daily Heart Rate Variability Summary - " in n]
    assert summaries and all(re.search(r" - \d{4}-\d\d-\(\d\d\)\.csv$", n) for n in summaries)  # the odd name
    for name in summaries:
        (row,) = rows(files[name])
        night = nights[date.fromisoformat(row["timestamp"][:10])]
        assert night.hrv is not None and float(row["rmssd"]) == night.hrv.daily_rmssd
        assert 35 < float(row["nremhr"]) < 80
        details = rows(
            files[f"Takeout/Fitbit/Heart Rate Variability/Heart Rate Variability Details - {night.day}.csv"]
        )
        assert list(details[0]) == ["timestamp", "rmssd", "coverage", "low_frequency", "high_frequency"]
        assert [float(d["rmssd"]) for d in details] == [w[1] for w in night.hrv.windows]
        assert all(len(d["timestamp"]) == 19 for d in details)  # local time, no zone
    assert len(summaries) == sum(n.hrv is not None for n in nights.values())
    spo2 = [r for n in files if "/Daily SpO2 - 2026" in n for r in rows(files[n])]
    assert {date.fromisoformat(r["timestamp"][:10]) for r in spo2} == {d for d, n in nights.items() if n.spo2}
    for r in spo2:
        night = nights[date.fromisoformat(r["timestamp"][:10])]
        assert night.spo2 and (float(r["average_value"]), float(r["lower_bound"]), float(r["upper_bound"])) == (
            night.spo2.avg, night.spo2.min, night.spo2.max)  # fmt: skip
    breathing = [n for n in files if "Daily Respiratory Rate Summary - " in n]
    for name in breathing:
        (row,) = rows(files[name])
        night = nights[date.fromisoformat(row["timestamp"][:10])]
        assert night.br and float(row["daily_respiratory_rate"]) == night.br.full
    temps = [r for n in files if "Computed Temperature - " in n for r in rows(files[n])]
    assert len(temps) == sum(n.temp is not None for n in nights.values())
    for r in temps:
        night = nights[datetime.fromisoformat(r["sleep_end"]).date()]
        relative = float(r["baseline_relative_sample_sum"]) / int(r["temperature_samples"])
        assert night.temp is not None and relative == pytest.approx(night.temp, abs=0.001)


def test_google_heart_rate_csv_mixes_sources_that_must_not_be_added(
    google_takeout: tuple[Takeout2026, dict[str, bytes], Physiology],
) -> None:
    _, files, phys = google_takeout
    names = sorted(
        n for n in files if re.search(r"Physical Activity_GoogleData/heart_rate_\d{4}-\d\d-\d\d\.csv$", n)
    )
    assert len(names) >= 3
    sources: Counter[str] = Counter()
    band_by_utc: dict[datetime, float] = {}
    for name in names:
        table = rows(files[name])
        assert list(table[0]) == ["timestamp", "beats per minute", "data source"]
        utc_day = name[-14:-4]
        for row in table:
            assert row["timestamp"].endswith("Z") and row["timestamp"][:10] == utc_day
            sources[row["data source"]] += 1
            if row["data source"] == "Charge 6":
                band_by_utc[datetime.fromisoformat(row["timestamp"])] = float(row["beats per minute"])
    band = sources["Charge 6"]
    assert 0.5 / PHONE_ROW_EVERY < sources["Pixel 8"] / band < 2 / PHONE_ROW_EVERY
    assert sources["Health Connect"] > 0
    day = TEST_TODAY - timedelta(
        days=1
    )  # a whole local day inside the files: the band's rows are its samples
    heart = phys.heart_day(day)
    midnight = datetime(day.year, day.month, day.day, tzinfo=ZONE)
    expect = [midnight + timedelta(seconds=int(s)) for s in heart.seconds]
    assert [band_by_utc[m.astimezone(UTC)] for m in expect] == [float(b) for b in heart.bpm]


def test_google_daily_csvs_with_their_sentinels_and_nans(
    google_takeout: tuple[Takeout2026, dict[str, bytes], Physiology],
) -> None:
    takeout, files, phys = google_takeout
    base = "Takeout/Fitbit/Physical Activity_GoogleData/"
    csv_from = takeout.migrated_on - timedelta(days=14)
    nights = {n.day: n for n in phys.nights(csv_from, phys.last)}
    hrv = rows(files[base + "daily_heart_rate_variability.csv"])
    assert {date.fromisoformat(r["timestamp"][:10]) for r in hrv} == {d for d, n in nights.items() if n.hrv}
    for r in hrv:
        night = nights[date.fromisoformat(r["timestamp"][:10])]
        assert r["timestamp"].endswith("T00:00:00Z") and night.hrv is not None
        assert float(r["average heart rate variability milliseconds"]) == night.hrv.daily_rmssd
        assert (
            float(r["deep sleep root mean square of successive differences milliseconds"])
            == night.hrv.deep_rmssd
        )
    spo2 = rows(files[base + "daily_oxygen_saturation.csv"])
    sentinel = [r for r in spo2 if float(r["average percentage"]) == 50]
    without = [d for d, n in nights.items() if n.spo2 is None]
    assert sentinel and len(sentinel) < len(without) + 1
    assert all(nights[date.fromisoformat(r["timestamp"][:10])].spo2 is None for r in sentinel)
    real = [r for r in spo2 if float(r["average percentage"]) != 50]
    assert len(real) == sum(n.spo2 is not None for n in nights.values())
    temps = rows(files[base + "daily_sleep_temperature_derivations.csv"])
    assert any(r["relative nightly stddev 30d celsius"] == "NaN" for r in temps)
    assert any(r["nightly temperature celsius"] == "NaN" for r in temps)
    for r in temps:
        if r["nightly temperature celsius"] != "NaN":
            night = nights[date.fromisoformat(r["timestamp"][:10])]
            relative = float(r["nightly temperature celsius"]) - float(r["baseline temperature celsius"])
            assert night.temp is not None and relative == pytest.approx(night.temp, abs=0.0015)
    breathing = [
        r
        for n in sorted(files)
        if n.startswith(base + "respiratory_rate_sleep_summary_")
        for r in rows(files[n])
    ]
    assert len(breathing) == sum(n.br is not None for n in nights.values())
    ends = {
        n.end.replace(tzinfo=ZONE).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"): n for n in nights.values()
    }
    for r in breathing:
        night = ends[r["timestamp"]]  # the session's end, in UTC
        assert night.br is not None and float(r["full sleep breaths per minute"]) == night.br.full
        assert float(r["deep sleep breaths per minute"]) < float(r["rem sleep breaths per minute"])
    hrv_folder = [n for n in files if "Heart Rate Variability/Daily Heart Rate Variability Summary" in n]
    assert len(hrv_folder) == sum(n.hrv is not None for n in phys.nights(phys.first, phys.last))


def test_physiology_archives_are_byte_identical_for_the_same_arguments(tmp_path: Path) -> None:
    for name in ("a", "b"):
        export_history(
            tmp_path / f"{name}.zip", days=10, today=TEST_TODAY, physiology=True, heart_rate_days=1
        )
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    plain = export_history(tmp_path / "plain.zip", days=10, today=TEST_TODAY)
    assert not any("heart_rate-2026" in n or "Heart Rate Variability" in n for n in plain.members)


def test_a_takeout_with_physiology_days_holds_the_last_days_with_the_full_exports_values(
    tmp_path: Path,
) -> None:
    """``physiology_days`` (the demo's short physiology span): only the last N days' files, each day as the
    whole-history export has it (a day's values do not depend on the span)."""
    import gzip

    from pipeline.paths import StoragePaths
    from pipeline.physiology_landing import KINDS, landed_physiology_files
    from pipeline.sources.fitbit_export.importer import import_archive

    def landed(name: str, physiology_days: int | None) -> dict[tuple[str, date], Any]:
        export_takeout_history(
            tmp_path / name / "t.zip",
            days=40,
            today=TEST_TODAY,
            migrated_on=TEST_TODAY - timedelta(days=7),
            physiology=True,
            heart_rate_days=2,
            physiology_days=physiology_days,
        )
        paths = StoragePaths(tmp_path / f"{name}-home")
        import_archive(paths, tmp_path / name)
        out = {}
        for kind in KINDS:
            for day, path in landed_physiology_files(paths, kind):
                raw = path.read_bytes()
                record = json.loads(gzip.decompress(raw) if path.name.endswith(".gz") else raw)
                out[kind, day] = record["payload"]  # the day's v1.2 document
        return out

    short, full = landed("short", 10), landed("full", None)
    first = TEST_TODAY - timedelta(days=9)
    assert short and {day for _, day in short} <= {first + timedelta(days=i) for i in range(10)}
    assert {day for _, day in full} - {day for _, day in short}  # the full export has older days
    assert {key: full[key] for key in short} == short
