"""The physiology generator (fitbit_sandbox/physiology.py): deterministic, tied to the sleep history, plausible."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from statistics import mean

import numpy as np
import pytest

from fitbit_sandbox.generator import default_stages_since, generate_history
from fitbit_sandbox.physiology import (
    MIN_ASLEEP_FOR_NIGHTLY,
    MISSING_RATE,
    Physiology,
    log_epochs,
)
from tests.clock import TEST_TODAY

TZ = "America/Los_Angeles"


@cache
def physiology(days: int, seed: int = 42) -> Physiology:
    logs = generate_history(seed, days, TEST_TODAY, TZ)
    return Physiology(seed, logs, TEST_TODAY - timedelta(days=days - 1), TEST_TODAY, tz=TZ)


def test_same_seed_same_samples_and_nights_whatever_the_history_length() -> None:
    """A day is a function of (seed, date, its nights): a longer history or a new instance changes nothing."""
    short, long = physiology(40), physiology(120)
    fresh = Physiology(42, generate_history(42, 40, TEST_TODAY, TZ), short.first, short.last, tz=TZ)
    for day in (TEST_TODAY - timedelta(days=k) for k in (1, 7, 20)):
        a, b, c = short.heart_day(day), long.heart_day(day), fresh.heart_day(day)
        assert a.seconds.size > 5000
        assert np.array_equal(a.seconds, b.seconds) and np.array_equal(a.bpm, c.bpm)
        assert np.array_equal(a.confidence, b.confidence)
        assert short.resting_hr(day) == long.resting_hr(day)
        assert short.night(day) == long.night(day)
    other = Physiology(7, generate_history(7, 40, TEST_TODAY, TZ), short.first, short.last, tz=TZ)
    day = TEST_TODAY - timedelta(days=3)
    assert not np.array_equal(other.heart_day(day).bpm[:500], short.heart_day(day).bpm[:500])


def test_samples_are_sparse_seconds_with_off_wrist_gaps() -> None:
    """1-s device samples ~5-15 s apart (denser in workouts), bpm and confidence in range, hours off the wrist."""
    phys = physiology(120)
    long_gaps = 0
    for k in range(1, 31):
        heart = phys.heart_day(TEST_TODAY - timedelta(days=k))
        gaps = np.diff(heart.seconds)
        assert (gaps > 0).all() and heart.seconds[0] >= 0 and heart.seconds[-1] < 86400
        assert 5 <= float(np.median(gaps)) <= 15
        assert heart.bpm.min() >= 25 and heart.bpm.max() <= 220
        assert set(np.unique(heart.confidence)) <= {0, 1, 2, 3}
        long_gaps += int(np.count_nonzero(gaps >= 20 * 60))
    assert long_gaps >= 10  # charging and showers: most days have one


def _stage_means(phys: Physiology, days: int) -> dict[str, float]:
    """Mean bpm of the samples inside each stage of the main sleeps of the last ``days`` dates."""
    by_stage: dict[str, list[float]] = {}
    for k in range(1, days + 1):
        day = TEST_TODAY - timedelta(days=k)
        for log in phys.by_date.get(day, []):
            if not log.get("isMainSleep") or log["type"] != "stages":
                continue
            start = datetime.fromisoformat(log["startTime"])
            for when in (day - timedelta(days=1), day):  # the night spans two local days
                heart = phys.heart_day(when)
                offset = int((start - datetime(when.year, when.month, when.day)).total_seconds()) // 30
                levels = log_epochs(log)
                index = heart.seconds // 30 - offset
                inside = (index >= 0) & (index < len(levels))
                for i, bpm in zip(index[inside], heart.bpm[inside], strict=True):
                    by_stage.setdefault(levels[i], []).append(float(bpm))
    return {stage: mean(values) for stage, values in by_stage.items()}


def test_heart_rate_lower_in_deep_sleep_than_light_than_wake() -> None:
    """During the main sleeps: mean HR in deep < light < wake, REM above light; all below the daytime mean."""
    phys = physiology(120)
    means = _stage_means(phys, 60)
    assert means["deep"] < means["light"] < means["wake"]
    assert means["light"] < means["rem"]
    day = np.concatenate([phys.heart_day(TEST_TODAY - timedelta(days=k)).bpm for k in range(1, 8)])
    assert means["wake"] < float(day.mean())


def test_resting_heart_rate_higher_after_short_nights_over_a_year() -> None:
    """Resting HR of the day a night ended: higher after nights < 6 h asleep than after nights > 7.5 h."""
    phys = physiology(365)
    short, long = [], []
    for k in range(365):
        day = TEST_TODAY - timedelta(days=k)
        hours, resting = phys.asleep_hours(day), phys.resting_hr(day)
        if hours is None:
            assert resting is None  # no night logged: no resting HR that day
            continue
        assert resting is not None and 40 < resting < 85
        (short if hours < 6 else long if hours > 7.5 else []).append(resting)
    assert len(short) >= 15 and len(long) >= 15
    assert mean(short) - mean(long) >= 2.0


def test_nightly_measures_only_for_long_main_stages_sleeps_reported_on_the_end_date() -> None:
    """HRV/SpO2/BR/temp: a stages main sleep with enough sleep, on its dateOfSleep; each missing at its rate."""
    phys = physiology(365)
    nights = phys.nights(phys.first, phys.last)
    eligible = 0
    for k in range(365):
        day = TEST_TODAY - timedelta(days=k)
        mains = [lg for lg in phys.by_date.get(day, []) if lg.get("isMainSleep")]
        ok = any(lg["type"] == "stages" and lg["minutesAsleep"] >= MIN_ASLEEP_FOR_NIGHTLY for lg in mains)
        eligible += ok
        assert (phys.night(day) is not None) == ok, day
    assert eligible == len(nights) and eligible > 300
    for night in nights:
        log = next(lg for lg in phys.by_date[night.day] if int(lg["logId"]) == night.log_id)
        assert log["dateOfSleep"] == night.day.isoformat()
        if night.hrv is not None:
            windows = night.hrv.windows
            assert all(night.start <= w[0] < night.end for w in windows)
            assert all(w[0].minute % 5 == 0 and w[0].second == 0 for w in windows)
            assert night.hrv.daily_rmssd == pytest.approx(mean(w[1] for w in windows), abs=0.001)
        if night.spo2 is not None:
            values = [v for _, v in night.spo2.minutes]
            assert night.spo2.min == min(values) and night.spo2.max == max(values)
            assert 85 <= night.spo2.min <= night.spo2.avg <= night.spo2.max <= 100
        if night.br is not None:
            assert night.br.deep < night.br.light < night.br.rem and 10 < night.br.full < 22
    for name, rate in MISSING_RATE.items():
        missing = sum(getattr(n, name) is None for n in nights) / len(nights)
        assert rate - 0.07 <= missing <= rate + 0.07, (name, missing)


def test_classic_era_nights_have_heart_rate_but_no_nightly_measures() -> None:
    """Before the stages era the history is classic: heart-rate samples and resting HR, no HRV/SpO2/BR/temp."""
    days = 730
    phys = physiology(days)
    since = default_stages_since(TEST_TODAY)
    classic_days = [d for d in (phys.first + timedelta(days=k) for k in range(days)) if d < since]
    assert len(classic_days) > 100
    assert all(phys.night(day) is None for day in classic_days)
    day = classic_days[50]
    assert phys.heart_day(day).seconds.size > 3000 and phys.resting_hr(day) is not None


def test_nightly_dates_outside_the_history_are_empty() -> None:
    phys = physiology(40)
    before = phys.first - timedelta(days=1)
    assert phys.night(before) is None and phys.resting_hr(before) is None
    assert phys.heart_day(before).seconds.size == 0
    assert phys.heart_day(date.max - timedelta(days=1)).seconds.size == 0
