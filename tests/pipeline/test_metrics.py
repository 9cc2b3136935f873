"""The sleep-science views (sql/metrics.sql) against hand-computed nights, the mctq package's worked examples and an
independent implementation of the Sleep Regularity Index, through the real landing, tables and warehouse.

Every fixture is written out here (tests/pipeline/metric_fixtures.py builds the v1.2 logs); docs/metrics.md says
which variant each view computes and how closely it matches each reference.
"""

from __future__ import annotations

import importlib.util
import random
import re
import statistics
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from landing_fixtures import land_logs
from metric_fixtures import at, explicit_log, simple_night
from plot_fixtures import classic_log, history, write_profile

from fitbit_sandbox.generator import DEFAULT_SCHEDULE, SleepSchedule, generate_history
from pipeline.metric_settings import MetricSettings, MetricSettingsError
from pipeline.paths import StoragePaths
from pipeline.tables import update_tables
from pipeline.warehouse import build_warehouse, connect_readonly

LA = "America/Los_Angeles"
ISO = "%Y-%m-%dT%H:%M:%S.000"
MONDAY = date(2024, 5, 6)  # an ISO week that starts on this Monday; no DST change nearby


def build(
    root: Path, logs: list[dict[str, Any]], settings: MetricSettings | None = None
) -> duckdb.DuckDBPyConnection:
    """Land ``logs``, run the real tables and warehouse steps, return a read-only connection."""
    paths = StoragePaths(root)
    land_logs(paths, logs)
    write_profile(paths, LA)
    update_tables(paths, tz=LA)
    build_warehouse(paths, settings or MetricSettings())
    return connect_readonly(paths)


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def one(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Any]:
    [row] = rows(con, sql)
    return row


def hours(clock: str) -> float:
    h, m, *s = (int(x) for x in clock.split(":"))
    return h + m / 60 + (s[0] if s else 0) / 3600


# --- per night: hand-computed continuity ----------------------------------------------------------------------------

# Monday night, in bed 22:50, across midnight. Worked out by hand:
#   onset 23:10 (after 20 min awake in bed: SOL 20); final awakening 06:25; out of bed 06:40 (15 min after wake)
#   awakenings between onset and final wake: a 1-min short wake at 23:30 (inside light), 4 min at 00:50, 6 min at
#   02:20, 5 min at 04:00  ->  WASO 1 + 4 + 6 + 5 = 16, all wakes 4, wakes >= 5 min 2 (6 and exactly 5), longest 6
#   sleep period 06:25 - 23:10 = 435 min; TST = 435 - 16 = 419 (= the asleep segments 420 - the 1-min short wake)
#   midpoint 23:10 + 435 / 2 min = 02:47:30; TIB 22:50 -> 06:40 = 470 = 20 + 419 + 16 + 15
CONTINUITY_NIGHT = [("wake", 20), ("light", 40), ("deep", 60), ("wake", 4), ("light", 56), ("rem", 30), ("wake", 6),
                    ("light", 94), ("wake", 5), ("deep", 45), ("light", 70), ("rem", 25), ("wake", 15)]  # fmt: skip


def continuity_night() -> dict[str, Any]:
    return explicit_log(at(MONDAY, "22:50"), CONTINUITY_NIGHT, short=[(40, 60)])


def test_hand_computed_night_across_midnight(tmp_path: Path) -> None:
    con = build(tmp_path, [continuity_night()])
    night = one(con, "SELECT * FROM night_metrics")
    assert night["night_date"] == MONDAY and not night["is_free_night"]
    assert night["bedtime_local"] == at(MONDAY, "22:50")
    assert night["onset_local"] == at(MONDAY, "23:10")
    assert night["wake_local"] == at(MONDAY, "06:25", next_day=True)
    assert night["rise_local"] == at(MONDAY, "06:40", next_day=True)
    assert night["midpoint_local"] == at(MONDAY, "02:47:30", next_day=True)
    assert night["midpoint_hours"] == pytest.approx(hours("02:47:30"))
    assert night["onset_hours"] == pytest.approx(hours("23:10"))
    assert (night["sol_min"], night["waso_min"], night["total_sleep_min"]) == (20, 16, 419)
    assert (night["time_in_bed_min"], night["sleep_period_min"], night["minutes_after_wake"]) == (
        470,
        435,
        15,
    )
    assert (night["awakenings"], night["awakenings_all"], night["longest_awakening_min"]) == (2, 4, 6)
    assert night["sleep_efficiency_pct"] == round(100 * 419 / 470, 2)
    # Fitbit's own minutesAsleep for the log agrees with the TST from the segments
    assert one(con, "SELECT minutes_asleep FROM nights")["minutes_asleep"] == 419


def test_awakening_threshold_is_a_setting(tmp_path: Path) -> None:
    con = build(tmp_path, [continuity_night()], MetricSettings(awakening_minutes=3))
    assert one(con, "SELECT awakenings, awakenings_all FROM night_metrics") == {
        "awakenings": 3,
        "awakenings_all": 4,
    }
    assert one(con, "SELECT awakening_minutes FROM metric_settings") == {"awakening_minutes": 3}


def test_split_night_nap_classic_and_unknown(tmp_path: Path) -> None:
    tue, wed, thu = (MONDAY + timedelta(days=k) for k in (1, 2, 3))
    logs = [
        # Tuesday: a night in two parts, both flagged main, 20 min apart; the gap is awake time inside the period.
        explicit_log(at(tue, "23:00"), [("wake", 10), ("light", 170)]),  # 23:00-02:00
        explicit_log(
            at(tue, "02:20", next_day=True), [("light", 100), ("rem", 170), ("wake", 10)]
        ),  # 02:20-07:00
        # Wednesday afternoon: a 40-min nap (30 asleep); night_date = the date of start - 12 h = Wednesday.
        explicit_log(at(wed, "14:00"), [("wake", 5), ("light", 30), ("wake", 5)], main=False),
        # Wednesday night, classic: restless counts as awake, as Fitbit's minutesAsleep does.
        explicit_log(
            at(wed, "23:00"), [("awake", 3), ("asleep", 120), ("restless", 7), ("asleep", 200), ("awake", 2)]
        ),
        # Thursday night: a stretch of `unknown` (no reading) is neither sleep nor WASO.
        explicit_log(
            at(thu, "23:00"), [("wake", 5), ("light", 100), ("unknown", 30), ("deep", 200), ("wake", 5)]
        ),
    ]
    con = build(tmp_path, logs)
    by_night = {r["night_date"]: r for r in rows(con, "SELECT * FROM night_metrics")}
    split = by_night[tue]
    assert split["onset_local"] == at(tue, "23:10") and split["wake_local"] == at(tue, "06:50", next_day=True)
    assert (split["time_in_bed_min"], split["total_sleep_min"], split["waso_min"]) == (480, 440, 20)
    assert (split["awakenings"], split["awakenings_all"], split["nap_count"]) == (1, 1, 0)
    assert (by_night[wed]["nap_count"], by_night[wed]["nap_sleep_min"]) == (1, 30)
    classic = by_night[wed]
    assert classic["onset_local"] == at(wed, "23:03")
    assert (classic["total_sleep_min"], classic["waso_min"], classic["awakenings"]) == (320, 7, 1)
    unknown = by_night[thu]
    assert (unknown["total_sleep_min"], unknown["unknown_min"], unknown["waso_min"]) == (300, 30, 0)
    assert unknown["time_in_bed_min"] == 340 and unknown["awakenings_all"] == 0


def test_a_night_whose_only_sleep_is_a_nap_has_it_as_its_main_sleep(tmp_path: Path) -> None:
    """The night model (docs/night-model.md): every night has exactly one main sleep, its longest sleep whatever
    Fitbit flagged, so a night with one afternoon sleep (the tracker was not worn that night) times that sleep."""
    con = build(tmp_path, [explicit_log(at(MONDAY, "14:00"), [("light", 30)], main=False)])
    night = one(con, "SELECT * FROM night_metrics")
    assert night["onset_local"] == at(MONDAY, "14:00") and night["nap_count"] == 0


# --- per period: circular means and the MCTQ worked examples ----------------------------------------------------------


def test_circular_mean_of_onsets_around_midnight(tmp_path: Path) -> None:
    """Onsets 23:30 and 00:30 on alternate nights: the circular mean is 00:00 (a plain average says 12:00), and the
    circular SD of two angles 30 min either side of the mean is sqrt(-2 ln cos(7.5 deg)) * 24 h / 2 pi."""
    import math

    logs = [
        simple_night(MONDAY + timedelta(days=k), "23:30" if k % 2 else "00:30", "07:00") for k in range(6)
    ]
    con = build(tmp_path, logs)
    week = one(con, "SELECT onset_mean_hours, onset_sd_min, nights FROM period_metrics")
    assert week["nights"] == 6
    assert min(week["onset_mean_hours"], 24 - week["onset_mean_hours"]) == pytest.approx(0, abs=1e-9)
    expected_sd = math.sqrt(-2 * math.log(math.cos(math.radians(7.5)))) * 24 * 60 / (2 * math.pi)
    assert week["onset_sd_min"] == pytest.approx(expected_sd) and 29 < expected_sd < 31


# The worked examples of the mctq R package's documentation (https://docs.ropensci.org/mctq/, Vartanian 2023), as
# written out from memory of its reference pages, NOT copied from them: the inputs and expected values below were
# re-derived by hand from the formulas in sql/metrics.sql, and the "mctq" value is the one the package prints where
# we remember it. Each example becomes one ISO week of identical nights: work nights (Sun-Thu) sleep SO_w-SE_w,
# free nights (Fri, Sat) SO_f-SE_f, so the week's typical values equal the example's inputs.
MCTQ_EXAMPLES: list[dict[str, Any]] = [
    {
        "source": "mctq::msf_sc() example: msf 04:00, sd_w 6 h, sd_f 7 h, sd_week 6.29 h, alarm_f FALSE -> 03:38:42",
        "work": ("00:00", "06:00"), "free": ("00:30", "07:30"),
        # sd_week = (6*5 + 7*2)/7 = 6.285714 (the example rounds it to 6.29, hence its 03:38:42, 8 s later)
        "expected": {"msw_hours": 3.0, "msf_hours": 4.0, "sd_week_hours": 44 / 7,
                     "msf_sc_hours": 4 - (7 - 44 / 7) / 2, "sjl_hours": 1.0, "sjl_rel_hours": 1.0,
                     "sjl_sc_hours": 0.5, "sloss_week_hours": (44 / 7 - 6) * 5},
        "mctq": {"msf_sc_hours": hours("03:38:42")},
    },
    {
        "source": "mctq::msf_sc() rule SD_f <= SD_w: MSFsc = MSF (msf 01:00, sd_w = sd_f = 5.5 h)",
        "work": ("22:00", "03:30"), "free": ("22:15", "03:45"),
        "expected": {"msw_hours": 0.75, "msf_hours": 1.0, "sd_week_hours": 5.5, "msf_sc_hours": 1.0,
                     "sjl_hours": 0.25, "sjl_sc_hours": 0.25, "sloss_week_hours": 0.0},
        "mctq": {"msf_sc_hours": 1.0},
    },
    {
        "source": "mctq::sjl() example: msw 03:30, msf 05:00 -> 5400 s (1.5 h)",
        "work": ("23:30", "07:30"), "free": ("01:00", "09:00"),
        "expected": {"msw_hours": 3.5, "msf_hours": 5.0, "sjl_hours": 1.5, "sjl_rel_hours": 1.5, "sjl_sc_hours": 1.5},
        "mctq": {"sjl_hours": 1.5},
    },
    {
        "source": "mctq::sjl() example, abs = FALSE, method = 'shorter': msw 04:30, msf 23:30 -> -18000 s (-5 h)",
        "work": ("00:30", "08:30"), "free": ("19:30", "03:30"),
        "expected": {"msw_hours": 4.5, "msf_hours": 23.5, "sjl_rel_hours": -5.0, "sjl_hours": 5.0,
                     "msf_sc_hours": 23.5, "sjl_sc_hours": 5.0},
        "mctq": {"sjl_rel_hours": -5.0},
    },
    {
        "source": "mctq::sjl_sc() example: so_w 02:00, se_w 10:00, so_f 01:00, se_f 08:00 -> 7200 s (2 h)",
        "work": ("02:00", "10:00"), "free": ("01:00", "08:00"),
        # SD_w 8 > SD_f 7: Jankowski's SJLsc compares the sleep ends, |08:00 - 10:00|; MSFsc = MSF (SD_f <= SD_w)
        "expected": {"msw_hours": 6.0, "msf_hours": 4.5, "sjl_hours": 1.5, "sjl_sc_hours": 2.0, "msf_sc_hours": 4.5,
                     "sd_week_hours": (8 * 5 + 7 * 2) / 7, "sloss_week_hours": ((8 * 5 + 7 * 2) / 7 - 7) * 2},
        "mctq": {"sjl_sc_hours": 2.0},
    },
]  # fmt: skip


def mctq_weeks() -> list[dict[str, Any]]:
    logs = []
    for week, example in enumerate(MCTQ_EXAMPLES):
        for k in range(7):
            night = MONDAY + timedelta(weeks=week, days=k)
            onset, wake = example["free" if night.isoweekday() in (5, 6) else "work"]
            logs.append(simple_night(night, onset, wake))
    return logs


def test_mctq_worked_examples(tmp_path: Path) -> None:
    con = build(tmp_path, mctq_weeks())
    weeks = rows(con, "SELECT * FROM period_metrics ORDER BY period_start")
    assert [w["period_start"] for w in weeks] == [
        MONDAY + timedelta(weeks=k) for k in range(len(MCTQ_EXAMPLES))
    ]
    for week, example in zip(weeks, MCTQ_EXAMPLES, strict=True):
        assert (week["work_nights"], week["free_nights"]) == (5, 2), example["source"]
        for column, value in example["expected"].items():
            assert week[column] == pytest.approx(value, abs=1e-9), (example["source"], column)
        for column, value in example["mctq"].items():  # the package's printed value: within 10 s
            assert week[column] == pytest.approx(value, abs=10 / 3600), (example["source"], column)
        assert week["sri_valid_fraction"] == 1 and week["sri_pairs"] == 6


# The sandbox's person keeps a known schedule (fitbit_sandbox.generator.SleepSchedule), so the chronotype of its
# history has an answer worked out from the schedule alone, by the MCTQ formulas (Roenneberg et al. 2003/2012):
#   SD = wake - bed, MS = bed + SD / 2, SD_week = (5 SD_w + 2 SD_f) / 7, MSFsc = MSF - (SD_f - SD_week) / 2 when
#   SD_f > SD_w, SJL = |MSF - MSW|.
# The weeks of the history scatter around it (bedtimes +-35 min, wake times +-15 min on work days, +-45 min on free
# days, the odd quirk night); the MEDIAN week has to land within SCHEDULE_TOLERANCE_MIN of it. The generator's
# onset latency (a few minutes awake in bed) moves mid-sleep later by about 2 minutes, inside the tolerance.
SCHEDULE_TOLERANCE_MIN = 10
SCHEDULE_WEEKS = 104
LATE_FREE_DAYS = SleepSchedule(work_bed=time(22, 30), work_wake=time(6, 15), free_bed=time(2, 0),
                               free_wake=time(11, 30))  # fmt: skip


def clock(at: time) -> float:
    return at.hour + at.minute / 60


def schedule_chronotype(schedule: SleepSchedule) -> dict[str, float]:
    """MSW, MSF, MSFsc and SJL (hours) of someone who keeps ``schedule`` exactly, by the MCTQ formulas."""
    so_w, so_f = clock(schedule.work_bed), clock(schedule.free_bed)
    sd_w = (clock(schedule.work_wake) - so_w) % 24
    sd_f = (clock(schedule.free_wake) - so_f) % 24
    msw, msf = (so_w + sd_w / 2) % 24, (so_f + sd_f / 2) % 24
    sd_week = (5 * sd_w + 2 * sd_f) / 7
    msf_sc = msf - (sd_f - sd_week) / 2 if sd_f > sd_w else msf
    return {"msw_hours": msw, "msf_hours": msf, "msf_sc_hours": msf_sc % 24, "sjl_hours": abs(msf - msw)}


@pytest.mark.parametrize("schedule", [DEFAULT_SCHEDULE, LATE_FREE_DAYS], ids=["default", "late_free_days"])
def test_sandbox_history_has_its_schedules_chronotype(tmp_path: Path, schedule: SleepSchedule) -> None:
    end = MONDAY + timedelta(weeks=SCHEDULE_WEEKS, days=-1)
    logs = generate_history(3, SCHEDULE_WEEKS * 7, end, LA, schedule=schedule)
    con = build(tmp_path, logs)
    weeks = rows(con, "SELECT * FROM period_metrics WHERE msw_hours IS NOT NULL")
    assert len(weeks) >= SCHEDULE_WEEKS - 2
    expected = schedule_chronotype(schedule)
    assert expected["sjl_hours"] >= 1  # both schedules shift free days by an hour or more
    for column, value in expected.items():
        off = statistics.median((w[column] - value + 12) % 24 - 12 for w in weeks)
        assert abs(off) * 60 <= SCHEDULE_TOLERANCE_MIN, (column, value, off * 60)


def test_free_days_follow_the_settings_and_the_holiday_file(tmp_path: Path) -> None:
    """A holiday on Wednesday makes Tuesday night free; with FITBIT_SLEEP_FREE_DAYS=fri,sat the free nights move."""
    logs = [simple_night(MONDAY + timedelta(days=k), "23:00", "07:00") for k in range(7)]
    holiday = MONDAY + timedelta(days=2)
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "free_dates.txt").write_text(f"# holidays\n{holiday.isoformat()}  # a Wednesday\n\n")
    settings = MetricSettings.from_env(StoragePaths(tmp_path / "home"), {"FITBIT_SLEEP_FREE_DAYS": "fri,sat"})
    assert settings.free_weekdays == (5, 6) and settings.free_dates == (holiday,)
    con = build(tmp_path / "home", logs, settings)
    free = [
        r["night_date"].isoweekday() for r in rows(con, "SELECT * FROM night_metrics WHERE is_free_night")
    ]
    assert free == [2, 4, 5]  # Tue (before the holiday), Thu (before Fri), Fri (before Sat)
    assert one(con, "SELECT free_nights, work_nights FROM period_metrics") == {
        "free_nights": 3,
        "work_nights": 4,
    }


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"FITBIT_SLEEP_SRI_EPOCH_SECONDS": "45s"},
            "FITBIT_SLEEP_SRI_EPOCH_SECONDS='45s' is not a whole number",
        ),
        ({"FITBIT_SLEEP_SRI_EPOCH_SECONDS": "7"}, "divides a day"),
        (
            {"FITBIT_SLEEP_AWAKENING_MINUTES": "-1"},
            "FITBIT_SLEEP_AWAKENING_MINUTES='-1' is not a positive number",
        ),
        ({"FITBIT_SLEEP_FREE_DAYS": "weekend"}, "Use names like 'sat,sun'"),
        ({"FITBIT_SLEEP_GOAL_HOURS": "eight"}, "FITBIT_SLEEP_GOAL_HOURS='eight'"),
        ({"FITBIT_SLEEP_FREE_DATES_FILE": "/nonexistent/free.txt"}, "does not exist. Create it"),
    ],
)
def test_bad_settings_say_what_to_do(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(MetricSettingsError, match=re.escape(message)) as raised:
        MetricSettings.from_env(StoragePaths(tmp_path), env)
    assert "\n" not in str(raised.value)


def test_a_bad_line_in_the_free_dates_file_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "free_dates.txt").write_text("2024-12-25\n25/12/2024\n")
    with pytest.raises(MetricSettingsError, match=r"free_dates.txt:2: '25/12/2024' is not a date"):
        MetricSettings.from_env(StoragePaths(tmp_path), {})


# --- sleep debt ------------------------------------------------------------------------------------------------------


def test_sleep_debt_against_the_goal(tmp_path: Path) -> None:
    """Goal 8 h; nights of 6, 7 and 9 h asleep, then a gap of 8 days, then 8 h: the 7-day sums restart after the gap."""
    lengths = {0: "05:00", 1: "06:00", 2: "08:00", 11: "07:00"}  # wake times after a 23:00 onset
    logs = [simple_night(MONDAY + timedelta(days=k), "23:00", wake) for k, wake in lengths.items()]
    con = build(tmp_path, logs, MetricSettings(sleep_goal_hours=8))
    debt = rows(con, "SELECT debt_7d_min, nights_7d, balance_min FROM sleep_debt ORDER BY night_date")
    assert [d["balance_min"] for d in debt] == [-120, -60, 60, 0]
    assert [d["debt_7d_min"] for d in debt] == [120, 180, 120, 0]
    assert [d["nights_7d"] for d in debt] == [1, 2, 3, 1]


# --- Sleep Regularity Index against an independent implementation -----------------------------------------------------

ASLEEP_LEVELS = {"deep", "light", "rem", "asleep"}


def epoch_cells(logs: Iterable[dict[str, Any]]) -> tuple[set[int], set[int], set[int]]:
    """The 30-s cells (counted from 1970-01-01 12:00 local) that are asleep and unknown, and the observed days.

    Asleep = stages deep/light/rem or classic asleep, not under a short wake; unknown = level `unknown`; observed = a
    night with any sleep (every night has a main sleep: the night model) whose start - 12 h falls on the day."""
    base = datetime(1970, 1, 1, 12)
    asleep: set[int] = set()
    short: set[int] = set()
    unknown: set[int] = set()
    observed: set[int] = set()

    def cells(seg: dict[str, Any]) -> range:
        first = int((datetime.strptime(seg["dateTime"], ISO) - base).total_seconds()) // 30
        return range(first, first + seg["seconds"] // 30)

    for log in logs:
        observed.add(int((datetime.strptime(log["startTime"], ISO) - base).total_seconds()) // 86400)
        for seg in log["levels"]["data"]:
            if seg["level"] in ASLEEP_LEVELS:
                asleep.update(cells(seg))
            elif seg["level"] == "unknown":
                unknown.update(cells(seg))
        for seg in log["levels"].get("shortData", []):
            short.update(cells(seg))
    asleep -= short
    unknown -= asleep | short
    return asleep, unknown, observed


def reference_sri_pairs(logs: Iterable[dict[str, Any]], epoch: int) -> dict[date, tuple[int, int]]:
    """Phillips et al. 2017 straight from the v1.2 logs, one epoch at a time (no SQL, no tables, no intervals).

    Returns {first day of the pair: (valid epochs, agreeing epochs)} for each pair of consecutive observed days.
    Day d = local noon d to noon d+1; an epoch takes the state of the 30-s cell it starts in (``epoch_cells``); an
    epoch unknown on either day is left out of its pair."""
    asleep, unknown, observed = epoch_cells(logs)
    per_day, step = 86400 // epoch, epoch // 30
    result = {}
    for day in sorted(d for d in observed if d + 1 in observed):
        valid = agree = 0
        for i in range(per_day):
            a, b = (day * per_day + i) * step, ((day + 1) * per_day + i) * step
            if a in unknown or b in unknown:
                continue
            valid += 1
            agree += (a in asleep) == (b in asleep)
        result[date(1970, 1, 1) + timedelta(days=day)] = (valid, agree)
    return result


def sri(valid: int, agree: int) -> float:
    return -100 + 200 * agree / valid


def irregular_history() -> list[dict[str, Any]]:
    """Eight weeks of random stages nights with naps and three missing nights, a week of classic nights, and one
    night with 20 min of `unknown`: every case the SRI has to treat (short wakes, naps, gaps, 60-s data, no reading)."""
    first = MONDAY
    logs = history(first, 56, seed=11, nap_every=4, skip=[first + timedelta(days=k) for k in (9, 10, 30)])
    rng = random.Random(5)
    for k in range(56, 63):
        night = first + timedelta(days=k)
        logs.append(
            classic_log(at(night, "23:00") + timedelta(minutes=rng.randint(-40, 40)), 450, rng, main=True)
        )
    logs.append(explicit_log(at(first, "23:00", next_day=False) + timedelta(days=63),
                             [("wake", 5), ("light", 120), ("unknown", 20), ("deep", 200), ("wake", 5)]))  # fmt: skip
    return logs


@pytest.mark.parametrize("epoch", [30, 60])
def test_sri_matches_an_independent_implementation(tmp_path: Path, epoch: int) -> None:
    logs = irregular_history()
    con = build(tmp_path, logs, MetricSettings(sri_epoch_seconds=epoch))
    reference = reference_sri_pairs(logs, epoch)
    pairs = {r["night_date"]: r for r in rows(con, "SELECT * FROM sri_pairs")}
    # 64 days; nights 10 and 30 have no sleep (night 9's only sleep is an afternoon nap: its main sleep)
    assert set(pairs) == set(reference) and len(reference) == 63 - 2 - 2
    for day, (valid, agree) in reference.items():
        assert (pairs[day]["valid_epochs"], pairs[day]["agreeing_epochs"]) == (valid, agree), day
        assert pairs[day]["sri"] == pytest.approx(sri(valid, agree), abs=1e-9)
    assert any(v < 86400 // epoch for v, _ in reference.values())  # the unknown stretch left epochs out
    per_day = 86400 // epoch
    for r in rows(con, "SELECT * FROM sri_rolling"):  # rolling 7/28 days = the reference pairs of the window
        for days, column in ((7, "sri_7d"), (28, "sri_28d")):
            window = [
                reference[d]
                for d in reference
                if r["night_date"] - timedelta(days=days - 1) <= d < r["night_date"]
            ]
            valid, agree = sum(v for v, _ in window), sum(a for _, a in window)
            assert r[f"{column}_pairs"] == len(window)
            assert r[f"{column}_valid_fraction"] == pytest.approx(valid / (per_day * (days - 1)))
            assert r[column] == (pytest.approx(sri(valid, agree)) if valid else None)
    for week in rows(con, "SELECT * FROM period_metrics"):
        start = week["period_start"]
        window = [
            reference[d]
            for d in reference
            if start <= d and d + timedelta(days=1) <= start + timedelta(days=6)
        ]
        assert week["sri_pairs"] == len(window)
        if window:
            assert week["sri"] == pytest.approx(sri(sum(v for v, _ in window), sum(a for _, a in window)))


def pyactigraphy_sri() -> Callable[..., float]:
    """pyActigraphy's own SRI (``pyActigraphy.sleep.scoring.sri.sri``), from the installed package's file.

    Why by file: pyActigraphy 1.0 (the newest that installs on Python 3.11) fails on import with numpy >= 1.24
    (``np.float`` in its scoring mixin); its ``sri.py`` needs only numpy and pandas and runs as published."""
    package = importlib.util.find_spec("pyActigraphy")
    assert package is not None and package.submodule_search_locations, "pyactigraphy is a dev dependency"
    path = Path(next(iter(package.submodule_search_locations))) / "sleep" / "scoring" / "sri.py"
    spec = importlib.util.spec_from_file_location("pyactigraphy_sri", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.sri  # type: ignore[no-any-return]


def complete_history() -> list[dict[str, Any]]:
    """Eight weeks of random stages nights with naps, then a week of classic nights: no night missing and no
    `unknown` reading, so every noon-to-noon day is complete (pyActigraphy counts a day without data as awake)."""
    logs = history(MONDAY, 56, seed=11, nap_every=4)
    rng = random.Random(5)
    for k in range(56, 63):
        night = MONDAY + timedelta(days=k)
        logs.append(
            classic_log(at(night, "23:00") + timedelta(minutes=rng.randint(-40, 40)), 450, rng, main=True)
        )
    return logs


@pytest.mark.parametrize("epoch", [30, 60])
def test_sri_matches_pyactigraphy(tmp_path: Path, epoch: int) -> None:
    """The whole-history SRI pooled from sri_pairs equals pyActigraphy's sri() on the same nights as an asleep (1) /
    awake (0) series of ``epoch``-s epochs from noon of the first night to noon after the last."""
    logs = complete_history()
    con = build(tmp_path, logs, MetricSettings(sri_epoch_seconds=epoch))
    ours = one(con, "SELECT -100 + 200.0 * sum(agreeing_epochs) / sum(valid_epochs) AS sri, count(*) AS pairs, "
                    "min(valid_fraction) AS least FROM sri_pairs")  # fmt: skip
    assert (ours["pairs"], ours["least"]) == (62, 1)
    asleep, unknown, _ = epoch_cells(logs)
    assert not unknown
    start = datetime.combine(MONDAY, time(12))
    index = pd.date_range(start, periods=63 * 86400 // epoch, freq=f"{epoch}s")
    first = int((start - datetime(1970, 1, 1, 12)).total_seconds()) // 30
    states = [int(first + k * (epoch // 30) in asleep) for k in range(len(index))]
    theirs = pyactigraphy_sri()(pd.Series(states, index=index))
    assert 50 < theirs < 95
    assert ours["sri"] == pytest.approx(theirs, abs=1e-9)


def test_sri_hand_computed_shift_and_missing_day(tmp_path: Path) -> None:
    """Seven nights 23:00-07:00 asleep, the fourth shifted to 00:00-08:00: two pairs differ in 2 h = 240 epochs each,
    SRI = -100 + 200 * (6*2880 - 480) / (6*2880) = 94.44. A second week with Wednesday night missing keeps SRI 100
    over its 4 remaining pairs (valid fraction 4/6): the missing night is left out, not counted as awake."""
    week1 = [simple_night(MONDAY + timedelta(days=k), "00:00" if k == 3 else "23:00", "08:00" if k == 3 else "07:00")
             for k in range(7)]  # fmt: skip
    week2 = [simple_night(MONDAY + timedelta(days=7 + k), "23:00", "07:00") for k in range(7) if k != 2]
    con = build(tmp_path, week1 + week2)
    first, second = rows(
        con, "SELECT sri, sri_valid_fraction, sri_pairs FROM period_metrics ORDER BY period_start"
    )
    assert first["sri"] == pytest.approx(-100 + 200 * (6 * 2880 - 480) / (6 * 2880))
    assert (first["sri_valid_fraction"], first["sri_pairs"]) == (1, 6)
    assert second["sri"] == pytest.approx(100)
    assert (second["sri_valid_fraction"], second["sri_pairs"]) == (pytest.approx(4 / 6), 4)


def test_empty_warehouse_has_the_views(tmp_path: Path) -> None:
    build_warehouse(StoragePaths(tmp_path), MetricSettings())
    con = connect_readonly(StoragePaths(tmp_path))
    for view in ("night_metrics", "period_metrics", "period_metrics_28d", "sri_pairs", "sri_rolling", "sleep_debt",
                 "work_free_nights"):  # fmt: skip
        assert con.execute(f"SELECT count(*) FROM {view}").fetchall() == [(0,)]
    assert one(con, "SELECT * FROM metric_settings") == {
        "sri_epoch_seconds": 30, "awakening_minutes": 5.0, "free_weekdays": [6, 7], "sleep_goal_hours": 7.0
    }  # fmt: skip
