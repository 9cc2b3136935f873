"""Generator invariants (DESIGN.md "Fitbit facts", reference §1.6) over 10 years of history for several seeds, and
the quirks of real accounts (real-fitbit-data.md §1) at their rates: each invariant holds for every log except the
quirk that breaks it, and each quirk occurs as often as planned."""

from __future__ import annotations

import statistics
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from fitbit_sandbox.generator import (
    CLASSIC_MINUTES_OFF_RATE,
    QUIRK_EVERY,
    SPLIT_NIGHT_RATE,
    default_stages_since,
    generate_history,
)

TODAY = date(2026, 6, 30)
DAYS = 3653
SEEDS = (1, 42, 2024)
STAGES_SINCE = default_stages_since(TODAY)
STAGES_DAYS = (TODAY - STAGES_SINCE).days + 1


def epoch_off(log: dict[str, Any]) -> bool:
    """The segments run one 60-s epoch past the duration (a real stages quirk)."""
    return sum(s["seconds"] for s in log["levels"]["data"]) == log["duration"] / 1000 + 60


@pytest.fixture(scope="module", params=SEEDS)
def history(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    """Ten years per seed, generated once per module."""
    return generate_history(request.param, DAYS, TODAY, "America/Los_Angeles")


def ts(value: str) -> datetime:
    assert (
        len(value) == 23 and value[10] == "T" and value.endswith(tuple("0123456789"))
    )  # local, .SSS, no offset
    return datetime.fromisoformat(value)


def test_rule_duration_equals_time_in_bed_and_end_is_start_plus_duration(
    history: list[dict[str, Any]],
) -> None:
    """timeInBed*60000 == duration; endTime - startTime is duration or duration + 30 s."""
    extra = set()
    for log in history:
        assert log["duration"] == log["timeInBed"] * 60000
        span = (ts(log["endTime"]) - ts(log["startTime"])).total_seconds() * 1000
        allowed = (log["duration"] + 60000,) if epoch_off(log) else (log["duration"], log["duration"] + 30000)
        assert span in allowed, log["logId"]
        extra.add(span - log["duration"])
    assert extra == {0, 30000, 60000}


def test_rule_date_of_sleep_is_local_date_of_end_time(history: list[dict[str, Any]]) -> None:
    """dateOfSleep is the local date of endTime, and every date lies in the requested window."""
    first = TODAY - timedelta(days=DAYS - 1)
    for log in history:
        assert log["dateOfSleep"] == ts(log["endTime"]).date().isoformat()
        assert first <= date.fromisoformat(log["dateOfSleep"]) <= TODAY


def test_rule_levels_data_contiguous_granular_and_sums_to_duration(history: list[dict[str, Any]]) -> None:
    """levels.data is contiguous from startTime, 30-s (stages) / 60-s (classic) multiples, sums to duration (+30)."""
    for log in history:
        step = 30 if log["type"] == "stages" else 60
        allowed = (
            {"deep", "light", "rem", "wake", "unknown"} if step == 30 else {"asleep", "restless", "awake"}
        )
        cursor = ts(log["startTime"])
        for seg in log["levels"]["data"]:
            assert ts(seg["dateTime"]) == cursor
            assert seg["seconds"] > 0 and seg["seconds"] % step == 0
            assert seg["level"] in allowed
            cursor += timedelta(seconds=seg["seconds"])
        total = (cursor - ts(log["startTime"])).total_seconds()
        assert total in (log["duration"] / 1000, log["duration"] / 1000 + 30) or (
            step == 30 and epoch_off(log)
        )


def test_rule_short_wakes_overlay_non_wake_segments(history: list[dict[str, Any]]) -> None:
    """shortData wakes are <= 180 s and lie inside one deep/light/rem data segment (an overlay, not extra time)."""
    seen = 0
    for log in (log for log in history if log["type"] == "stages"):
        spans = [
            (ts(s["dateTime"]), ts(s["dateTime"]) + timedelta(seconds=s["seconds"]), s["level"])
            for s in log["levels"]["data"]
        ]
        for wake in log["levels"]["shortData"]:
            seen += 1
            assert wake["level"] == "wake" and 30 <= wake["seconds"] <= 180 and wake["seconds"] % 30 == 0
            start = ts(wake["dateTime"])
            end = start + timedelta(seconds=wake["seconds"])
            assert any(a <= start and end <= b and lvl in ("deep", "light", "rem") for a, b, lvl in spans)
    assert seen > 1000


def test_rule_stage_summary_after_overlay(history: list[dict[str, Any]]) -> None:
    """deep+light+rem == minutesAsleep, wake == minutesAwake; in bed = asleep + awake unless `unknown` fills the gap."""
    unknown_logs = 0
    for log in (log for log in history if log["type"] == "stages"):
        summary = log["levels"]["summary"]
        assert set(summary) == {"deep", "light", "rem", "wake"}
        assert all("thirtyDayAvgMinutes" in entry for entry in summary.values())
        assert (
            summary["deep"]["minutes"] + summary["light"]["minutes"] + summary["rem"]["minutes"]
            == log["minutesAsleep"]
        )
        assert summary["wake"]["minutes"] == log["minutesAwake"]
        unknown = sum(s["seconds"] for s in log["levels"]["data"] if s["level"] == "unknown")
        if unknown:
            unknown_logs += 1
            assert log["timeInBed"] - log["minutesAsleep"] - log["minutesAwake"] == pytest.approx(
                unknown / 60, abs=1
            )
        else:
            assert log["minutesAsleep"] + log["minutesAwake"] == log["timeInBed"]
        # wake minutes include the overlaid short wakes
        long_wake = sum(s["seconds"] for s in log["levels"]["data"] if s["level"] == "wake")
        short_wake = sum(s["seconds"] for s in log["levels"]["shortData"])
        assert abs(summary["wake"]["minutes"] * 60 - long_wake - short_wake) <= 60
    assert unknown_logs > 0


def test_rule_thirty_day_average_is_the_mean_of_previous_main_sleeps(history: list[dict[str, Any]]) -> None:
    """thirtyDayAvgMinutes = rounded mean of the stage minutes of stages main sleeps of the previous 30 days."""
    mains = [log for log in history if log["type"] == "stages" and log["isMainSleep"]]
    by_date = {date.fromisoformat(log["dateOfSleep"]): log for log in mains}
    checked = 0
    for log in mains[60:400]:
        day = date.fromisoformat(log["dateOfSleep"])
        prior = [by_date[d] for d in (day - timedelta(days=k) for k in range(1, 31)) if d in by_date]
        for level in ("deep", "rem"):
            mean = statistics.mean(p["levels"]["summary"][level]["minutes"] for p in prior)
            assert abs(log["levels"]["summary"][level]["thirtyDayAvgMinutes"] - mean) <= 1
        checked += 1
    assert checked > 300


def test_rule_classic_logs_and_naps(history: list[dict[str, Any]]) -> None:
    """classic: asleep/restless/awake, minutesAwake = restless+awake (except the ~10 % that leave restless out),
    efficiency = asleep/in bed; naps: classic, isMainSleep false, infoCode 2, no thirtyDayAvgMinutes."""
    naps = classic = off = 0
    for log in (log for log in history if log["type"] == "classic"):
        classic += 1
        summary = log["levels"]["summary"]
        assert set(summary) == {"asleep", "restless", "awake"}
        assert all("thirtyDayAvgMinutes" not in entry for entry in summary.values())
        assert log["minutesAsleep"] == summary["asleep"]["minutes"]
        if log["minutesAwake"] != summary["restless"]["minutes"] + summary["awake"]["minutes"]:
            off += 1  # the quirk: restless minutes counted apart, so asleep + awake < in bed
            assert log["minutesAwake"] == summary["awake"]["minutes"] and summary["restless"]["minutes"] > 1
        assert log["efficiency"] == round(100 * log["minutesAsleep"] / log["timeInBed"])
        if log.get("isMainSleep", False) is False and log["timeInBed"] < 120:
            naps += 1
            assert log["infoCode"] == (
                2 if "isMainSleep" in log else 0
            )  # the classic era knows no infoCode 2
    assert naps > 200
    assert 0.6 * CLASSIC_MINUTES_OFF_RATE < off / classic < 1.4 * CLASSIC_MINUTES_OFF_RATE


def test_rule_realistic_habits(history: list[dict[str, Any]]) -> None:
    """~7 h asleep, ~87% efficiency, 45-60 min awake; weekend bedtimes later; main sleeps 1.5..15 h."""
    # the night's main sleep: Fitbit's flag (absent in the classic era), not its afternoon "main" sleeps
    mains = [
        log
        for log in history
        if log.get("isMainSleep", log["timeInBed"] > 120) and not 12 <= ts(log["startTime"]).hour < 18
    ]
    assert 390 <= statistics.mean(log["minutesAsleep"] for log in mains) <= 450
    assert 45 <= statistics.mean(log["minutesAwake"] for log in mains) <= 65
    assert 0.84 <= statistics.mean(log["minutesAsleep"] / log["timeInBed"] for log in mains) <= 0.90
    assert all(90 <= log["timeInBed"] <= 940 for log in mains)  # up to the very long "main" sleeps

    def bed_minutes(log: dict[str, Any]) -> float:
        start = ts(log["startTime"])
        return (start - datetime(start.year, start.month, start.day, 12)).total_seconds() / 60 % 1440

    weekend = [
        bed_minutes(log) for log in mains if date.fromisoformat(log["dateOfSleep"]).weekday() in (5, 6)
    ]
    weekday = [
        bed_minutes(log) for log in mains if date.fromisoformat(log["dateOfSleep"]).weekday() in (1, 2, 3)
    ]
    assert statistics.mean(weekend) - statistics.mean(weekday) >= 30


def test_rule_oddities_occur(history: list[dict[str, Any]]) -> None:
    """Manual logs, unknown levels, split nights, nights without sleep; one main sleep per dated night at most."""
    assert any(log.get("logType") == "manual" for log in history)
    dates = {log["dateOfSleep"] for log in history}
    assert DAYS - len(dates) >= 5  # nights with no sleep at all
    starts: dict[str, list[dict[str, Any]]] = {}
    for log in history:
        starts.setdefault(log["dateOfSleep"], []).append(log)
    split = [
        d for d, logs in starts.items() if sum(1 for log in logs if ts(log["startTime"]).hour >= 18 or
                                                ts(log["startTime"]).hour < 6) >= 2
    ]  # fmt: skip
    assert split, "expected at least one night split into two logs"
    ordered = sorted(history, key=lambda log: log["startTime"])
    for a, b in zip(ordered, ordered[1:], strict=False):
        assert ts(a["endTime"]) <= ts(b["startTime"]), "logs must not overlap"


def test_rule_log_ids_are_large_unique_int64(history: list[dict[str, Any]]) -> None:
    """logIds are unique 11-digit int64s that grow with time."""
    ids = [log["logId"] for log in sorted(history, key=lambda log: log["startTime"])]
    assert len(set(ids)) == len(ids)
    assert all(isinstance(i, int) and 10**10 <= i < 2**63 for i in ids)
    assert ids[-1] > ids[0]


def test_rule_deterministic_and_independent_of_length() -> None:
    """Same (seed, days, today) gives the same history; a longer history only adds older nights."""
    short = generate_history(7, 60, TODAY, "UTC")
    assert short == generate_history(7, 60, TODAY, "UTC")
    longer = generate_history(7, 90, TODAY, "UTC")
    assert longer[-len(short) :] == short
    assert generate_history(8, 60, TODAY, "UTC") != short


def test_real_account_quirks_at_their_rates(history: list[dict[str, Any]]) -> None:
    """real-fitbit-data.md §1: a classic era without isMainSleep/logType before the stages era, afternoon "main"
    sleeps, two logs flagged main on a night, split nights with 30-120 min between the parts, very long "main"
    sleeps, segments one epoch off, 3,600-s unknown segments; each at its planned rate."""
    classic_era = [log for log in history if date.fromisoformat(log["dateOfSleep"]) < STAGES_SINCE]
    stages_era = [log for log in history if date.fromisoformat(log["dateOfSleep"]) >= STAGES_SINCE]
    assert classic_era and all(log["type"] == "classic" for log in classic_era)
    assert not any("isMainSleep" in log or "logType" in log for log in classic_era)
    assert all("isMainSleep" in log and "logType" in log for log in stages_era)
    assert {log["type"] for log in stages_era} == {"stages", "classic"}

    afternoon = [log for log in stages_era if log["isMainSleep"] and 12 <= ts(log["startTime"]).hour < 18]
    assert abs(len(afternoon) - STAGES_DAYS / QUIRK_EVERY["afternoon_main"]) <= 2
    for log in afternoon:  # the night before it is not flagged (one main per dateOfSleep)
        same_date = [x for x in stages_era if x["dateOfSleep"] == log["dateOfSleep"] and x is not log]
        assert not any(x["isMainSleep"] for x in same_date)

    by_date: dict[str, list[dict[str, Any]]] = {}
    for log in history:
        by_date.setdefault(log["dateOfSleep"], []).append(log)
    splits, two_mains = 0, 0
    for logs in by_date.values():
        night = sorted(
            (x for x in logs if not 12 <= ts(x["startTime"]).hour < 18), key=lambda x: x["startTime"]
        )
        for a, b in zip(night, night[1:], strict=False):
            gap = (ts(b["startTime"]) - ts(a["endTime"])).total_seconds() / 60
            if gap <= 120:
                splits += 1
                assert 29 <= gap <= 120
                two_mains += bool(a.get("isMainSleep") and b.get("isMainSleep"))
    assert abs(splits / DAYS - SPLIT_NIGHT_RATE) < 0.4 * SPLIT_NIGHT_RATE
    assert two_mains >= STAGES_DAYS // QUIRK_EVERY["two_mains"]

    long = [log for log in history if log["timeInBed"] > 900]
    assert len(long) >= DAYS // QUIRK_EVERY["long_main"] - 2 and all(log["timeInBed"] <= 940 for log in long)
    assert len([log for log in stages_era if epoch_off(log)]) >= STAGES_DAYS // QUIRK_EVERY["epoch_off"] - 1
    unknown = [log for log in stages_era if any(s["level"] == "unknown" for s in log["levels"]["data"])]
    assert len(unknown) >= STAGES_DAYS // QUIRK_EVERY["unknown"] - 1
    assert all(
        s["seconds"] == 3600 for log in unknown for s in log["levels"]["data"] if s["level"] == "unknown"
    )
