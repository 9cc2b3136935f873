"""The v1.2 heart-rate, HRV, SpO2, breathing-rate and skin-temperature endpoints (reference §4, §2, §3.5, §3.8)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from statistics import mean
from typing import Any

import pytest
import requests
from sandbox_helpers import authorize, control, issue_tokens

from fitbit_sandbox.physiology import Physiology

ALL_SCOPES = "sleep profile heartrate oxygen_saturation respiratory_rate temperature"
Get = Callable[..., requests.Response]


def getter(server: Any, scope: str = ALL_SCOPES) -> Get:
    token = issue_tokens(server, scope)["access_token"]

    def get(path: str) -> requests.Response:
        return requests.get(
            f"{server.base_url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=60
        )

    return get


def phys(server: Any) -> Physiology:
    return server.state.physiology


def measured_day(server: Any, *kinds: str) -> date:
    """The newest date before the last one whose night has every measure in ``kinds``."""
    p = phys(server)
    day = server.state.today - timedelta(days=1)
    while True:
        night = p.night(day)
        if night is not None and all(getattr(night, k) is not None for k in kinds):
            return day
        day -= timedelta(days=1)


def assert_fitbit_400(response: requests.Response, error_type: str = "validation") -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["success"] is False and body["errors"][0]["errorType"] == error_type
    assert body["errors"][0]["message"]


def test_heart_series_by_period_and_range_has_zones_and_resting_hr(sandbox: Any) -> None:
    """activities-heart: one entry per date with the four zones and restingHeartRate (the generator's, rounded)."""
    get = getter(sandbox)
    day = sandbox.state.today - timedelta(days=2)
    week = get(f"/1/user/-/activities/heart/date/{day}/7d.json").json()["activities-heart"]
    assert [e["dateTime"] for e in week] == [(day - timedelta(days=6 - i)).isoformat() for i in range(7)]
    entry = week[-1]["value"]
    assert entry["customHeartRateZones"] == []
    assert [z["name"] for z in entry["heartRateZones"]] == ["Out of Range", "Fat Burn", "Cardio", "Peak"]
    assert sum(z["minutes"] for z in entry["heartRateZones"]) > 1000
    assert entry["restingHeartRate"] == round(phys(sandbox).resting_hr(day))
    ranged = get(f"/1/user/-/activities/heart/date/{day - timedelta(days=6)}/{day}.json").json()
    assert ranged["activities-heart"] == week
    assert "activities-heart-intraday" not in ranged


def test_heart_intraday_detail_levels_agree_with_the_samples(sandbox: Any) -> None:
    """1sec = the device samples (HH:mm:ss); 1min / 15min = their rounded means, minutes without samples absent."""
    get = getter(sandbox)
    day = sandbox.state.today - timedelta(days=3)
    raw = get(f"/1/user/-/activities/heart/date/{day}/1d/1sec.json").json()["activities-heart-intraday"]
    assert (raw["datasetInterval"], raw["datasetType"]) == (1, "second")
    samples = raw["dataset"]
    heart = phys(sandbox).heart_day(day)
    assert len(samples) == heart.seconds.size > 5000
    by_minute: dict[str, list[int]] = {}
    for row in samples:
        by_minute.setdefault(row["time"][:5] + ":00", []).append(row["value"])
    minute = get(f"/1/user/-/activities/heart/date/{day}/1d/1min.json").json()["activities-heart-intraday"]
    assert (minute["datasetInterval"], minute["datasetType"]) == (1, "minute")
    assert [r["time"] for r in minute["dataset"]] == sorted(by_minute)
    assert len(by_minute) < 1440  # off-wrist minutes are missing
    for row in minute["dataset"][::97]:
        assert abs(row["value"] - mean(by_minute[row["time"]])) <= 0.5
    quarter = get(f"/1/user/-/activities/heart/date/{day}/1d/15min.json").json()["activities-heart-intraday"]
    assert quarter["datasetInterval"] == 15 and all(
        r["time"][3:5] in ("00", "15", "30", "45") for r in quarter["dataset"]
    )
    window = get(f"/1/user/-/activities/heart/date/{day}/1d/1sec/time/03:00/03:10.json").json()
    times = [r["time"] for r in window["activities-heart-intraday"]["dataset"]]
    assert times and times[0] >= "03:00:00" and times[-1] <= "03:10:59"
    assert times == [r["time"] for r in samples if "03:00:00" <= r["time"] <= "03:10:59"]


def test_heart_intraday_interval_crosses_midnight_within_24_hours(sandbox: Any) -> None:
    get = getter(sandbox)
    day = sandbox.state.today - timedelta(days=4)
    nxt = day + timedelta(days=1)
    body = get(f"/1/user/-/activities/heart/date/{day}/{nxt}/1min/time/22:00/06:00.json").json()
    assert [e["dateTime"] for e in body["activities-heart"]] == [day.isoformat(), nxt.isoformat()]
    times = [r["time"] for r in body["activities-heart-intraday"]["dataset"]]
    assert times[0] >= "22:00:00" and times[-1] <= "06:00:00"
    assert "23:59:00" in times or "00:00:00" in times
    whole = get(f"/1/user/-/activities/heart/date/{day}/{day}/1sec.json")
    assert whole.status_code == 200
    assert_fitbit_400(get(f"/1/user/-/activities/heart/date/{day}/{nxt}/1min.json"), "request")
    assert_fitbit_400(
        get(f"/1/user/-/activities/heart/date/{day}/{nxt}/1min/time/06:00/06:01.json"), "request"
    )
    assert_fitbit_400(get(f"/1/user/-/activities/heart/date/{day}/1d/2min.json"))
    assert_fitbit_400(get(f"/1/user/-/activities/heart/date/{day}/1d/1min/time/25:00/26:00.json"))


def test_range_limits_answer_the_fitbit_400_body(sandbox: Any) -> None:
    """HR range 1 year; HRV, BR, SpO2 intraday and skin temperature 30 days; SpO2 summary unlimited."""
    get = getter(sandbox)
    end = sandbox.state.today
    year, d30, d31 = end - timedelta(days=365), end - timedelta(days=29), end - timedelta(days=30)
    assert get(f"/1/user/-/activities/heart/date/{year}/{end}.json").status_code == 200
    assert_fitbit_400(get(f"/1/user/-/activities/heart/date/{year - timedelta(days=1)}/{end}.json"))
    for path in ("hrv/date/{s}/{e}.json", "hrv/date/{s}/{e}/all.json", "br/date/{s}/{e}.json",
                 "br/date/{s}/{e}/all.json", "spo2/date/{s}/{e}/all.json", "temp/skin/date/{s}/{e}.json"):  # fmt: skip
        assert get("/1/user/-/" + path.format(s=d30, e=end)).status_code == 200, path
        assert_fitbit_400(get("/1/user/-/" + path.format(s=d31, e=end)))
    spo2 = get(f"/1/user/-/spo2/date/{end - timedelta(days=99)}/{end}.json")
    assert spo2.status_code == 200 and isinstance(spo2.json(), list) and len(spo2.json()) > 50
    assert_fitbit_400(get(f"/1/user/-/hrv/date/{end}/{d30}.json"))  # end before start
    assert_fitbit_400(get("/1/user/-/br/date/2026-13-01.json"))


def test_nightly_measures_in_their_real_shapes_on_the_date_the_sleep_ended(sandbox: Any) -> None:
    get = getter(sandbox)
    day = measured_day(sandbox, "hrv", "spo2", "br", "temp")
    night = phys(sandbox).night(day)
    assert night is not None and night.hrv and night.spo2 and night.br and night.temp is not None
    hrv = get(f"/1/user/-/hrv/date/{day}.json").json()
    assert hrv == {"hrv": [{"value": {"dailyRmssd": night.hrv.daily_rmssd, "deepRmssd": night.hrv.deep_rmssd},
                            "dateTime": day.isoformat()}]}  # fmt: skip
    minutes = get(f"/1/user/-/hrv/date/{day}/all.json").json()["hrv"][0]["minutes"]
    assert set(minutes[0]["value"]) == {"rmssd", "coverage", "hf", "lf"}
    first = datetime.fromisoformat(minutes[0]["minute"])
    assert minutes[0]["minute"].endswith(":00.000") and first.date() <= day  # the night began the day before
    assert mean(m["value"]["rmssd"] for m in minutes) == pytest.approx(night.hrv.daily_rmssd, abs=0.001)
    spo2 = get(f"/1/user/-/spo2/date/{day}.json").json()
    assert spo2 == {"dateTime": day.isoformat(), "value": {"avg": night.spo2.avg, "min": night.spo2.min,
                                                           "max": night.spo2.max}}  # fmt: skip
    spo2_minutes = get(f"/1/user/-/spo2/date/{day}/all.json").json()
    assert spo2_minutes["dateTime"] == day.isoformat() and len(spo2_minutes["minutes"]) > 150
    assert len(spo2_minutes["minutes"][0]["minute"]) == 19  # 2021-10-04T04:02:17
    assert get(f"/1/user/-/br/date/{day}.json").json() == {
        "br": [{"value": {"breathingRate": night.br.full}, "dateTime": day.isoformat()}]
    }
    stages = get(f"/1/user/-/br/date/{day}/all.json").json()["br"][0]["value"]
    assert set(stages) == {"deepSleepSummary", "remSleepSummary", "fullSleepSummary", "lightSleepSummary"}
    assert get(f"/1/user/-/temp/skin/date/{day}.json").json() == {
        "tempSkin": [
            {
                "dateTime": day.isoformat(),
                "value": {"nightlyRelative": night.temp},
                "logType": "dedicated_temp_sensor",
            }
        ]  # fmt: skip
    }


def test_nights_without_a_measure_are_left_out(sandbox: Any) -> None:
    """Only dates with data: a 30-day range lists fewer dates than it spans; a single date without data is empty."""
    get = getter(sandbox)
    end = sandbox.state.today - timedelta(days=1)
    start = end - timedelta(days=29)
    expect = {n.day.isoformat() for n in phys(sandbox).nights(start, end) if n.temp is not None}
    got = [e["dateTime"] for e in get(f"/1/user/-/temp/skin/date/{start}/{end}.json").json()["tempSkin"]]
    assert got == sorted(expect) and 0 < len(got) < 30
    empty = next(
        d
        for d in (end - timedelta(days=k) for k in range(60))
        if (n := phys(sandbox).night(d)) is None or n.spo2 is None
    )
    assert get(f"/1/user/-/spo2/date/{empty}.json").json() == {}
    assert get(f"/1/user/-/hrv/date/{sandbox.state.store.first - timedelta(days=5)}.json").json() == {
        "hrv": []
    }


def test_last_nights_measures_wait_for_its_sync(sandbox: Any, sandbox_factory: Any) -> None:
    """The nightly measures of the last date appear once its main sleep is synced (like the sleep log)."""
    last = measured_day(sandbox, "br")
    server = sandbox_factory(today=last, days=30)
    get = getter(server)
    control(server, "sync", {"state": "unsynced"})
    assert get(f"/1/user/-/br/date/{last}.json").json() == {"br": []}
    control(server, "sync", {"state": "pending"})
    assert get(f"/1/user/-/br/date/{last}.json").json() == {"br": []}
    control(server, "sync", {"state": "synced"})
    assert len(get(f"/1/user/-/br/date/{last}.json").json()["br"]) == 1


PHYSIO_PATHS = {
    "heartrate": ["/1/user/-/activities/heart/date/{d}/1d.json", "/1/user/-/activities/heart/date/{d}/1d/1min.json",
                  "/1/user/-/hrv/date/{d}.json", "/1/user/-/hrv/date/{d}/all.json"],
    "oxygen_saturation": ["/1/user/-/spo2/date/{d}.json", "/1/user/-/spo2/date/{d}/all.json"],
    "respiratory_rate": ["/1/user/-/br/date/{d}.json", "/1/user/-/br/date/{d}/all.json"],
    "temperature": ["/1/user/-/temp/skin/date/{d}.json"],
}  # fmt: skip


def test_each_measure_needs_its_scope_and_sleep_keeps_working(sandbox: Any) -> None:
    """A token without a scope: 403 insufficient_scope (Fitbit body) on its endpoints; the sleep is still 200."""
    day = sandbox.state.today - timedelta(days=2)
    for scope, paths in PHYSIO_PATHS.items():
        others = " ".join(s for s in ALL_SCOPES.split() if s != scope)
        get = getter(sandbox, others)
        for path in paths:
            response = get(path.format(d=day))
            assert response.status_code == 403, path
            body = response.json()
            assert body["success"] is False and body["errors"][0]["errorType"] == "insufficient_scope"
            assert scope in body["errors"][0]["message"]
        assert get(f"/1.2/user/-/sleep/date/{day}.json").status_code == 200
        for other, other_paths in PHYSIO_PATHS.items():
            if other != scope:
                assert get(other_paths[0].format(d=day)).status_code == 200


def test_withheld_scope_is_not_granted_by_auto_approval_or_the_consent_page(sandbox_factory: Any) -> None:
    """``withheld_scopes`` / POST /_sandbox/access: the user unticks heartrate; the grant lacks it."""
    server = sandbox_factory(withheld_scopes=("heartrate",))
    granted = issue_tokens(server, ALL_SCOPES)["scope"].split()
    assert "heartrate" not in granted and {"sleep", "oxygen_saturation"} <= set(granted)
    day = server.state.today - timedelta(days=2)
    get = getter(server)
    assert get(f"/1/user/-/activities/heart/date/{day}/1d.json").status_code == 403
    assert get(f"/1.2/user/-/sleep/date/{day}.json").status_code == 200
    assert control(server, "access", {"withhold_scopes": []}) == {"intraday": True, "withhold_scopes": []}
    assert "heartrate" in issue_tokens(server, ALL_SCOPES)["scope"].split()
    control(server, "access", {"withhold_scopes": ["heartrate", "temperature"]})
    page = sandbox_factory(auto_approve=False)
    control(page, "access", {"withhold_scopes": ["heartrate"]})
    html = authorize(page, ALL_SCOPES).text
    assert 'value="heartrate">' in html and 'value="sleep" checked>' in html


def test_without_intraday_access_the_intraday_key_is_absent(sandbox_factory: Any) -> None:
    server = sandbox_factory(intraday=False)
    get = getter(server)
    day = server.state.today - timedelta(days=2)
    body = get(f"/1/user/-/activities/heart/date/{day}/1d/1min.json").json()
    assert (
        "activities-heart-intraday" not in body and body["activities-heart"][0]["dateTime"] == day.isoformat()
    )
    control(server, "access", {"intraday": True})
    assert "activities-heart-intraday" in get(f"/1/user/-/activities/heart/date/{day}/1d/1min.json").json()


def test_physiology_calls_count_against_the_sleep_quota(sandbox_factory: Any) -> None:
    """One 150/h budget per user: physiology and sleep calls spend it alike; the 429 is Fitbit's."""
    server = sandbox_factory(quota=4)
    get = getter(server)
    day = server.state.today - timedelta(days=2)
    remaining = [
        int(get(path).headers["Fitbit-Rate-Limit-Remaining"])
        for path in (f"/1/user/-/hrv/date/{day}.json", f"/1/user/-/spo2/date/{day}.json",
                     f"/1.2/user/-/sleep/date/{day}.json", f"/1/user/-/activities/heart/date/{day}/1d.json")
    ]  # fmt: skip
    assert remaining == [3, 2, 1, 0]
    over = get(f"/1/user/-/br/date/{day}.json")
    assert over.status_code == 429 and over.json()["errors"][0]["message"] == "Too Many Requests"
    assert get(f"/1.2/user/-/sleep/date/{day}.json").status_code == 429
    stats = control(server, "stats")["requests"]
    assert stats["GET /1/user/-/br/date/{start}.json"] == {"429": 1}
    assert stats["GET /1/user/-/hrv/date/{start}.json"] == {"200": 1}
