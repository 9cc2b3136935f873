"""The Google Health API v4 physiology types of the sandbox (fitbit_sandbox/google_physio.py): parsed with the
official ``google-devicesandservices-health`` types (unknown fields refused), and equal to the v1.2 side's values."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from google.devicesandservices import health_v4

from fitbit_sandbox.physio_export import TEMP_BASELINE_C
from tests.clock import TEST_TODAY

_spec = importlib.util.spec_from_file_location(
    "google_helpers", Path(__file__).with_name("test_sandbox_google.py")
)
assert _spec is not None and _spec.loader is not None
google = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(google)

HEALTH = google.SCOPE + "health_metrics_and_measurements.readonly"
TYPES = "/v4/users/me/dataTypes/{}/dataPoints"


@pytest.fixture
def server(sandbox_factory: Any) -> Any:
    return sandbox_factory(days=60)


def login(server: Any, scopes: str) -> str:
    return str(google._login(server, scope=scopes)["access_token"])


def listed(server: Any, token: str, type_id: str, **params: Any) -> dict[str, Any]:
    response = google._get(server, token, TYPES.format(type_id), **params)
    assert response.status_code == 200, response.text
    health_v4.ListDataPointsResponse.from_json(response.text, ignore_unknown_fields=False)
    return response.json()  # type: ignore[no-any-return]


def _date(point: dict[str, Any], field: str) -> str:
    d = point[field]["date"]
    return f"{d['year']:04d}-{d['month']:02d}-{d['day']:02d}"


def test_daily_types_carry_the_v12_values_on_the_date_the_sleep_ended(server: Any) -> None:
    token = login(server, f"{HEALTH} {google.SCOPE}sleep.readonly")
    phys = server.state.physiology
    first, after = TEST_TODAY - timedelta(days=20), TEST_TODAY

    def points(type_id: str, field: str) -> dict[str, dict[str, Any]]:
        member = type_id.replace("-", "_")
        body = listed(
            server, token, type_id, filter=f'{member}.date >= "{first}" AND {member}.date < "{after}"'
        )
        days = [_date(p, field) for p in body["dataPoints"]]
        assert days == sorted(days, reverse=True)  # newest first
        assert all(
            "name" not in p and p["dataSource"]["recordingMethod"] == "DERIVED" for p in body["dataPoints"]
        )
        return {_date(p, field): p[field] for p in body["dataPoints"]}

    resting = points("daily-resting-heart-rate", "dailyRestingHeartRate")
    hrv = points("daily-heart-rate-variability", "dailyHeartRateVariability")
    spo2 = points("daily-oxygen-saturation", "dailyOxygenSaturation")
    breathing = points("daily-respiratory-rate", "dailyRespiratoryRate")
    temp = points("daily-sleep-temperature-derivations", "dailySleepTemperatureDerivations")
    assert len(resting) >= 19 and 0 < len(hrv) < 21
    for k in range(20):
        day = first + timedelta(days=k)
        iso = day.isoformat()
        rhr = phys.resting_hr(day)
        assert (iso in resting) == (rhr is not None)
        if rhr is not None:
            assert resting[iso]["beatsPerMinute"] == str(round(rhr))  # int64 as a string
        night = phys.night(day)
        assert (iso in hrv) == bool(night and night.hrv)
        if night and night.hrv:
            assert hrv[iso]["averageHeartRateVariabilityMilliseconds"] == night.hrv.daily_rmssd
            assert (
                hrv[iso]["deepSleepRootMeanSquareOfSuccessiveDifferencesMilliseconds"] == night.hrv.deep_rmssd
            )
        if night and night.spo2:
            assert (spo2[iso]["averagePercentage"], spo2[iso]["lowerBoundPercentage"]) == (
                night.spo2.avg,
                night.spo2.min,
            )
        if night and night.br:
            assert breathing[iso]["breathsPerMinute"] == night.br.full
        if night and night.temp is not None:
            nightly = temp[iso]["nightlyTemperatureCelsius"] - temp[iso]["baselineTemperatureCelsius"]
            assert (
                nightly == pytest.approx(night.temp, abs=0.001)
                and temp[iso]["baselineTemperatureCelsius"] == TEMP_BASELINE_C
            )


def test_heart_rate_samples_page_newest_first_and_match_the_v12_samples(server: Any) -> None:
    token = login(server, HEALTH)
    day = TEST_TODAY - timedelta(days=2)
    heart = server.state.physiology.heart_day(day)
    start = datetime(day.year, day.month, day.day, 3)  # local 03:00, as a UTC instant
    lo = start.replace(tzinfo=server.state.google.zone).astimezone(UTC)
    hi = lo + timedelta(hours=1)
    member = "heart_rate.sample_time.physical_time"
    window = f'{member} >= "{lo:%Y-%m-%dT%H:%M:%SZ}" AND {member} < "{hi:%Y-%m-%dT%H:%M:%SZ}"'
    first = listed(server, token, "heart-rate", filter=window)
    assert len(first["dataPoints"]) == 50 and first["nextPageToken"]  # the live default page of heart-rate
    seen: list[dict[str, Any]] = []
    page: dict[str, Any] = {"filter": window, "pageSize": 100}
    while True:
        body = listed(server, token, "heart-rate", **page)
        seen += body.get("dataPoints", [])
        if not body.get("nextPageToken"):
            break
        page["pageToken"] = body["nextPageToken"]
    stamps = [p["heartRate"]["sampleTime"]["physicalTime"] for p in seen]
    assert stamps == sorted(stamps, reverse=True) and len(set(stamps)) == len(stamps)
    expect = [
        (s, b)
        for s, b in zip(heart.seconds.tolist(), heart.bpm.tolist(), strict=True)
        if 3 * 3600 <= s < 4 * 3600
    ]
    civil = [p["heartRate"]["sampleTime"]["civilTime"]["time"] for p in reversed(seen)]
    assert [c.get("hours", 0) * 3600 + c.get("minutes", 0) * 60 + c.get("seconds", 0) for c in civil] == [
        s for s, _ in expect
    ]
    assert [int(p["heartRate"]["beatsPerMinute"]) for p in reversed(seen)] == [b for _, b in expect]
    big = listed(server, token, "heart-rate", pageSize=10000)
    assert len(big["dataPoints"]) == 5000  # the effective cap
    other = google._get(server, token, TYPES.format("heart-rate"), filter=window, pageSize=99,
                        pageToken=first["nextPageToken"])  # fmt: skip
    assert other.status_code == 400  # a token is bound to its filter and page size


def test_sample_types_of_the_main_sleep_and_reconcile(server: Any) -> None:
    token = login(server, HEALTH)
    phys = server.state.physiology
    day = next(d for d in (TEST_TODAY - timedelta(days=k) for k in range(1, 30))
               if (n := phys.night(d)) and n.hrv and n.spo2 and n.br)  # fmt: skip
    night = phys.night(day)
    lo = night.start.replace(tzinfo=server.state.google.zone).astimezone(UTC) - timedelta(minutes=1)
    hi = night.end.replace(tzinfo=server.state.google.zone).astimezone(UTC) + timedelta(minutes=1)

    def window(member: str) -> str:
        m = f"{member}.sample_time.physical_time"
        return f'{m} >= "{lo:%Y-%m-%dT%H:%M:%SZ}" AND {m} < "{hi:%Y-%m-%dT%H:%M:%SZ}"'

    hrv = listed(server, token, "heart-rate-variability", filter=window("heart_rate_variability"))[
        "dataPoints"
    ]
    assert [
        p["heartRateVariability"]["rootMeanSquareOfSuccessiveDifferencesMilliseconds"] for p in reversed(hrv)
    ] == [w[1] for w in night.hrv.windows]
    spo2 = listed(server, token, "oxygen-saturation", filter=window("oxygen_saturation"))["dataPoints"]
    assert [p["oxygenSaturation"]["percentage"] for p in reversed(spo2)] == [v for _, v in night.spo2.minutes]
    (summary,) = listed(server, token, "respiratory-rate-sleep-summary",
                        filter=window("respiratory_rate_sleep_summary"))["dataPoints"]  # fmt: skip
    stats = summary["respiratoryRateSleepSummary"]
    assert stats["fullSleepStats"]["breathsPerMinute"] == night.br.full
    assert stats["deepSleepStats"]["breathsPerMinute"] < stats["remSleepStats"]["breathsPerMinute"]
    response = google._get(server, token, TYPES.format("heart-rate-variability") + ":reconcile",
                           filter=window("heart_rate_variability"))  # fmt: skip
    reconciled = response.json()["dataPoints"]
    assert len(reconciled) == len(hrv) and all("dataSource" not in p for p in reconciled)
    health_v4.ReconcileDataPointsResponse.from_json(response.text, ignore_unknown_fields=False)


def test_scope_and_filter_errors_are_googles(server: Any) -> None:
    sleep_only = login(server, f"{google.SCOPE}sleep.readonly")
    denied = google._get(server, sleep_only, TYPES.format("heart-rate"))
    assert denied.status_code == 403
    assert denied.json()["error"]["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    assert google._get(server, sleep_only, google.SLEEP, filter=google._window(60)).status_code == 200
    token = login(server, HEALTH)
    for type_id, bad in (
        ("heart-rate", 'heart_rate.date >= "2026-11-01"'),  # a daily member on a sample type
        (
            "heart-rate",
            'heart_rate.sample_time.civil_time >= "2026-11-01T00:00:00Z"',
        ),  # a zone on a civil time
        ("heart-rate", 'heart_rate.sample_time.physical_time >= "2026-11-01"'),  # no zone on a physical time
        ("daily-resting-heart-rate", 'daily_resting_heart_rate.date > "2026-11-01"'),  # only >= and <
    ):
        response = google._get(server, token, TYPES.format(type_id), filter=bad)
        assert response.status_code == 400, bad
        error = response.json()["error"]
        assert (
            error["status"] == "INVALID_ARGUMENT"
            and error["details"][0]["reason"] == "INVALID_DATA_POINT_FILTER"
        )
        assert error["details"][1]["fieldViolations"][0]["field"] == "filter"
