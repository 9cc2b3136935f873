"""The physiology endpoints table: ranges, scopes, the planned calls, and answers split into one-date documents
(hand-written v1.2 answers in tests/fixtures/physiology)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.physiology_fetch import (
    LIST_ANSWER,
    allowed_kinds,
    answer_problem,
    planned_calls,
    split_answer,
)
from pipeline.physiology_landing import KINDS, has_measurement
from pipeline.quota import plan_calls

FIXTURES = Path(__file__).parents[1] / "fixtures" / "physiology"
D14, D15, D16 = date(2024, 3, 14), date(2024, 3, 15), date(2024, 3, 16)


def fixture(name: str) -> Any:
    body = json.loads((FIXTURES / name).read_text())
    return {LIST_ANSWER: body} if isinstance(body, list) else body  # as the client hands a bare list over


@pytest.mark.parametrize(
    ("kind", "name", "measured"),
    [
        ("heart_rate_daily", "hr_daily_range.json", {D14: True, D15: False, D16: True}),
        ("hrv", "hrv_range.json", {D14: True, D15: False, D16: True}),
        ("spo2", "spo2_range.json", {D14: True, D15: False, D16: True}),
        ("breathing_rate", "br_intraday.json", {D14: False, D15: True, D16: True}),
        ("skin_temp", "skin_temp_range.json", {D14: True, D15: False, D16: True}),
    ],
)
def test_a_range_answer_splits_into_one_document_per_date(
    kind: str, name: str, measured: dict[date, bool]
) -> None:
    body = fixture(name)
    assert answer_problem(kind, body, D14, D16) is None
    documents = split_answer(kind, body, D14, D16)
    assert sorted(documents) == [
        D14,
        D15,
        D16,
    ]  # every asked date: a date without a value is "asked, nothing"
    assert {day: has_measurement(kind, doc) for day, doc in documents.items()} == measured
    for day, doc in documents.items():
        stated = [e.get("dateTime") for e in (doc.get(next(iter(doc)), []) if kind != "spo2" else [doc]) if e]
        assert all(s == day.isoformat() for s in stated)


def test_spo2_single_date_object_and_empty_object() -> None:
    assert split_answer("spo2", fixture("spo2_day.json"), D15, D15)[D15]["value"]["avg"] == 95.7
    assert answer_problem("spo2", fixture("spo2_empty.json"), D15, D15) is None
    assert split_answer("spo2", fixture("spo2_empty.json"), D15, D15) == {D15: {}}


def test_intraday_is_the_answer_itself_and_no_access_is_not_an_error() -> None:
    body = fixture("hr_intraday_1min.json")
    assert answer_problem("heart_rate_intraday", body, D15, D15) is None
    assert split_answer("heart_rate_intraday", body, D15, D15) == {D15: body}
    no_access = fixture("hr_intraday_no_access.json")
    assert answer_problem("heart_rate_intraday", no_access, D15, D15) is None
    assert not has_measurement("heart_rate_intraday", no_access)


@pytest.mark.parametrize(
    ("kind", "body", "problem"),
    [
        ("hrv", {"errors": [{"errorType": "system"}]}, "errors[]"),
        ("hrv", {}, "without a `hrv` list"),
        ("skin_temp", {"tempSkin": None}, "without a `tempSkin` list"),
        ("hrv", {"hrv": [{"dateTime": "2024-04-01", "value": {}}]}, "outside 2024-03-14..2024-03-16"),
        ("spo2", {"x": 1}, "without a `__list__` list"),
        ("breathing_rate", {"br": ["x"]}, "holds a str"),
    ],
)
def test_an_answer_that_is_not_the_one_asked_for_is_named(
    kind: str, body: dict[str, Any], problem: str
) -> None:
    found = answer_problem(kind, body, D14, D16)
    assert found is not None and problem in found


def test_scopes_decide_the_kinds() -> None:
    assert allowed_kinds(None) == []
    assert allowed_kinds({"sleep", "profile"}) == []
    assert allowed_kinds({"sleep", "heartrate"}) == ["heart_rate_intraday", "heart_rate_daily", "hrv"]
    everything = {"sleep", "heartrate", "oxygen_saturation", "respiratory_rate", "temperature"}
    assert allowed_kinds(everything) == list(KINDS)


def test_planned_calls_are_the_fewest_per_range_limit() -> None:
    start = date(2024, 1, 1)
    calls = planned_calls(start, start + timedelta(days=99), KINDS)
    assert {k: len(v) for k, v in calls.items()} == {
        "heart_rate_intraday": 100,
        "heart_rate_daily": 1,
        "hrv": 4,
        "spo2": 1,
        "breathing_rate": 4,
        "skin_temp": 4,
    }
    assert calls["hrv"][0] == "/1/user/-/hrv/date/2024-01-01/2024-01-30.json"
    assert calls["heart_rate_intraday"][1] == "/1/user/-/activities/heart/date/2024-01-02/1d/1min.json"
    assert calls["breathing_rate"][-1] == "/1/user/-/br/date/2024-03-31/2024-04-09/all.json"


def test_plan_follows_the_backfill_runs() -> None:
    start = date(2024, 1, 1)
    plan = plan_calls(start, start + timedelta(days=729), KINDS)  # 2 years: 7 runs of 100 days + one of 30
    counts = {k: len(v) for k, v in plan.items()}
    assert counts == {
        "sleep": 8,
        "heart_rate_intraday": 730,
        "heart_rate_daily": 8,
        "hrv": 7 * 4 + 1,
        "spo2": 8,
        "breathing_rate": 29,
        "skin_temp": 29,
    }
    assert plan_calls(start, start + timedelta(days=9)) == {
        "sleep": ["/1.2/user/-/sleep/date/2024-01-01/2024-01-10.json"]
    }
