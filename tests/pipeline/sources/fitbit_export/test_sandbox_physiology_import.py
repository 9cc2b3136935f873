"""Sandbox archives of both generations land the physiology the sandbox generated, the same night by night.

The sandbox writes its archives from the same ``Physiology`` it serves on the v1.2 endpoints, so this checks the
readers against an independent writer (``fitbit_sandbox.physio_export``): every kind lands, the values are the
generator's, and the legacy export and the 2026 Takeout (legacy JSON before the move, Google-era CSVs after it)
give the same documents where both hold a measure.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from clock import TEST_TODAY

from fitbit_sandbox.export import export_history
from fitbit_sandbox.generator import generate_history
from fitbit_sandbox.physiology import Physiology
from fitbit_sandbox.takeout2026 import export_takeout_history
from pipeline.paths import StoragePaths
from pipeline.physiology_landing import KINDS, read_physiology_day
from pipeline.sources.fitbit_export.importer import ImportSummary, import_archive

SEED, DAYS, TZ, HR_DAYS = 5, 40, "America/Los_Angeles", 4
FIRST = TEST_TODAY - timedelta(days=DAYS - 1)


def _day_payloads(paths: StoragePaths, kind: str) -> dict[date, dict]:  # type: ignore[type-arg]
    out = {}
    for offset in range(DAYS):
        day = FIRST + timedelta(days=offset)
        record = read_physiology_day(paths, kind, day)
        if record is not None:
            out[day] = record["payload"]
    return out


def _entry(kind: str, payload: dict) -> dict:  # type: ignore[type-arg]
    """The dated entry of a document: the payload itself for spo2, else the first of its list."""
    if kind == "spo2":
        return payload
    if kind == "heart_rate_intraday":
        return payload["activities-heart-intraday"]  # type: ignore[no-any-return]
    key = {"hrv": "hrv", "breathing_rate": "br", "skin_temp": "tempSkin"}.get(kind, "activities-heart")
    return payload[key][0]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def imported(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[StoragePaths, ImportSummary, StoragePaths, ImportSummary]:
    tmp = tmp_path_factory.mktemp("sandbox-physiology")
    legacy = export_history(
        tmp / "legacy.zip", seed=SEED, days=DAYS, today=TEST_TODAY, tz=TZ, layout="takeout",
        physiology=True, heart_rate_days=HR_DAYS,
    )  # fmt: skip
    takeout = export_takeout_history(
        tmp / "takeout.zip",
        seed=SEED,
        days=DAYS,
        today=TEST_TODAY,
        tz=TZ,
        physiology=True,
        heart_rate_days=HR_DAYS,
    )
    a, b = StoragePaths(tmp / "a"), StoragePaths(tmp / "b")
    return a, import_archive(a, legacy.path), b, import_archive(b, takeout.parts)


def test_every_kind_lands_with_the_generators_values(
    imported: tuple[StoragePaths, ImportSummary, StoragePaths, ImportSummary],
) -> None:
    paths, summary, _, _ = imported
    assert not [p for p in summary.problems if "sleep_score" not in p]
    assert set(summary.physio_days) == set(KINDS) and summary.physio_days["heart_rate_intraday"] == HR_DAYS
    phys = Physiology(SEED, generate_history(SEED, DAYS, TEST_TODAY, TZ), FIRST, TEST_TODAY, tz=TZ)
    hrv, spo2 = _day_payloads(paths, "hrv"), _day_payloads(paths, "spo2")
    br, temp = _day_payloads(paths, "breathing_rate"), _day_payloads(paths, "skin_temp")
    nights = phys.nights(FIRST, TEST_TODAY)
    assert nights and sum(n.hrv is not None for n in nights) == len(hrv)
    for night in nights:
        if night.hrv is not None:
            entry = hrv[night.day]["hrv"][0]
            assert entry["value"]["dailyRmssd"] == pytest.approx(night.hrv.daily_rmssd)
            assert len(entry["minutes"]) == len(night.hrv.windows)
        if night.spo2 is not None:
            assert spo2[night.day]["value"] == pytest.approx(
                {"avg": night.spo2.avg, "min": night.spo2.min, "max": night.spo2.max}
            )
        if night.br is not None:
            assert br[night.day]["br"][0]["value"]["breathingRate"] == pytest.approx(night.br.full)
        if night.temp is not None:
            assert temp[night.day]["tempSkin"][0]["value"]["nightlyRelative"] == pytest.approx(
                night.temp, abs=1e-3
            )
    resting = _day_payloads(paths, "heart_rate_daily")
    for day, payload in resting.items():
        expected = phys.resting_hr(day)
        assert expected is not None
        assert payload["activities-heart"][0]["value"]["restingHeartRate"] == pytest.approx(
            expected, abs=0.01
        )
    for day, payload in _day_payloads(paths, "heart_rate_intraday").items():
        heart = phys.heart_day(day)
        dataset = payload["activities-heart-intraday"]["dataset"]
        assert [row["value"] for row in dataset] == heart.bpm.tolist()


def test_both_generations_give_the_same_physiology(
    imported: tuple[StoragePaths, ImportSummary, StoragePaths, ImportSummary],
) -> None:
    legacy_paths, _, takeout_paths, takeout = imported
    assert takeout.hr_samples_other_sources > 0  # the phone and Health Connect rows of the Google-era CSVs
    compared = 0
    for kind in KINDS:
        legacy, google = _day_payloads(legacy_paths, kind), _day_payloads(takeout_paths, kind)
        for day in legacy.keys() & google.keys():
            mine, theirs = _entry(kind, legacy[day]), _entry(kind, google[day])
            # the Google-era CSVs add deepRmssd and per-stage breathing rates and lack minute SpO2: compare
            # what both generations hold
            for key in mine.keys() & theirs.keys():
                if isinstance(mine[key], dict):
                    common = mine[key].keys() & theirs[key].keys()
                    assert {k: mine[key][k] for k in common} == {k: theirs[key][k] for k in common}, (
                        kind,
                        day,
                    )
                else:
                    assert mine[key] == theirs[key], (kind, day, key)
            compared += 1
    assert compared > DAYS  # most dates of most kinds are in both
