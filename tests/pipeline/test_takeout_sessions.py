"""Takeout CSV rows -> sessions: both timestamp spellings, v1/v2 pairing by overlap, one-version sessions, a type
change between versions, legacy + CSV for the same night, the derived log_id, stages -> v1.2 levels, -1 scores."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from pipeline.sources.takeout_csv import rows as csv_rows
from pipeline.sources.takeout_csv import sessions as pairing
from pipeline.sources.takeout_csv.source import TakeoutCsv

SESSIONS_HEADER = (
    "sleep_id,sleep_type,minutes_in_sleep_period,minutes_after_wake_up,minutes_to_fall_asleep,minutes_asleep,"
    "minutes_awake,minutes_longest_awakening,minutes_to_persistent_sleep,start_utc_offset,sleep_start,"
    "end_utc_offset,sleep_end,data_source,algorithm_version,sleep_created,sleep_last_updated"
)
STAGES_HEADER = (
    "sleep_id,sleep_stage_id,sleep_stage_type,start_utc_offset,sleep_stage_start,end_utc_offset,sleep_stage_end,"
    "data_source,algorithm_version,sleep_stage_created,sleep_stage_last_updated"
)
SCORES_HEADER = (
    "sleep_id,sleep_score_id,data_source,score_utc_offset,score_time,overall_score,duration_score,"
    "composition_score,revitalization_score,sleep_time_minutes,deep_sleep_minutes,rem_sleep_percent,"
    "resting_heart_rate,sleep_goal_minutes,waso_count_long_wakes,waso_count_all_wake_time,"
    "restlessness_normalized,hr_below_resting_hr,sleep_score_created,sleep_score_last_updated"
)

# The reference's example: one night, v1 05:03:30-13:19:30 UTC (451 min asleep) and v2 05:08-13:17 (441), at -04:00,
# written in the two spellings real exports use.
NIGHT = [
    "1000000000000000001,STAGES,496,0,0,451,45,12,5,-04:00,2026-04-12 05:03:30+0000,-04:00,"
    "2026-04-12 13:19:30+0000,PASSIVELY_MEASURED,sleep_session_v1,x,x",
    "1000000000000000002,STAGES,489,0,0,441,48,12,5,-04:00,2026-04-12T05:08:00Z,-04:00,"
    "2026-04-12T13:17:00Z,PASSIVELY_MEASURED,sleep_session_v2,x,x",
]
# A nap the same afternoon: CLASSIC in v1, STAGES in v2 (a type change), and a lone v2 session the next night.
NAP = [
    "2000000000000000001,CLASSIC,60,0,0,50,10,4,0,-04:00,2026-04-12 18:00:00+0000,-04:00,"
    "2026-04-12 19:00:00+0000,PASSIVELY_MEASURED,sleep_session_v1,x,x",
    "2000000000000000002,STAGES,55,0,0,48,7,4,0,-04:00,2026-04-12 18:03:00+0000,-04:00,"
    "2026-04-12 18:58:00+0000,PASSIVELY_MEASURED,sleep_session_v2,x,x",
]
LONE_V2 = [
    "3000000000000000002,STAGES,420,0,0,400,20,5,0,-04:00,2026-04-13 04:00:00+0000,-04:00,"
    "2026-04-13 11:00:00+0000,PASSIVELY_MEASURED,sleep_session_v2,x,x",
]


def _files(*session_lines: str, stages: str = "", scores: str = "") -> dict[str, bytes]:
    """The three CSVs of a Takeout folder, as members."""
    base = "Takeout/Fitbit/Health Fitness Data_GoogleData"
    return {
        f"{base}/UserSleeps_2026-01-01.csv": "\n".join([SESSIONS_HEADER, *session_lines]).encode(),
        f"{base}/UserSleepStages_2026-01-01.csv": f"{STAGES_HEADER}\n{stages}".encode(),
        f"{base}/UserSleepScores_2026-01-01.csv": f"{SCORES_HEADER}\n{scores}".encode(),
    }


def _parsed(*session_lines: str, stages: str = "", scores: str = "") -> csv_rows.ParsedRows:
    return _takeout(*session_lines, stages=stages, scores=scores).parsed


def test_both_timestamp_spellings_and_offsets_are_read() -> None:
    assert csv_rows.parse_utc("2026-04-12 05:45:30+0000") == datetime(2026, 4, 12, 5, 45, 30, tzinfo=UTC)
    assert csv_rows.parse_utc("2026-04-12T05:45:30Z") == datetime(2026, 4, 12, 5, 45, 30, tzinfo=UTC)
    assert csv_rows.parse_offset("+05:30") == timedelta(hours=5, minutes=30)
    assert csv_rows.parse_offset("-04:00") == timedelta(hours=-4)
    parsed = _parsed(*NIGHT)
    assert parsed.rejected == 0
    v1, v2 = parsed.sessions
    assert v1.start_local == datetime(2026, 4, 12, 1, 3, 30)  # UTC + the row's offset
    assert v2.end_local == datetime(2026, 4, 12, 9, 17)


def test_a_row_that_cannot_be_read_is_skipped_and_reported() -> None:
    bad = NIGHT[0].replace("2026-04-12 05:03:30+0000", "yesterday")
    parsed = _parsed(bad, NIGHT[1])
    assert len(parsed.sessions) == 1 and parsed.rejected == 1
    assert "line 2" in parsed.problems[0] and "row skipped" in parsed.problems[0]


def test_v1_and_v2_rows_of_one_night_pair_into_one_session_and_v2_wins() -> None:
    paired = pairing.pair_rows(_parsed(*NIGHT, *NAP, *LONE_V2).sessions)
    assert len(paired.sessions) == 3  # the night, the nap, the lone v2 night: 5 rows, 3 physical sessions
    night, nap, lone = paired.sessions
    assert night.sleep_ids == {"sleep_session_v1": NIGHT[0][:19], "sleep_session_v2": NIGHT[1][:19]}
    assert night.winner_row.version == "sleep_session_v2"
    assert nap.other is not None and nap.winner_row.type == "STAGES"  # the type change stays one session
    assert lone.other is None and lone.anchor.version == "sleep_session_v2"
    # the night and the nap do not touch, so they never merge; order of the rows does not matter
    again = pairing.pair_rows(list(reversed(_parsed(*NIGHT, *NAP, *LONE_V2).sessions)))
    assert [s.sleep_ids for s in again.sessions] == [s.sleep_ids for s in paired.sessions]


def test_the_same_row_in_two_parts_is_counted_once() -> None:
    paired = pairing.pair_rows(_parsed(*NIGHT, *NIGHT).sessions)
    assert len(paired.sessions) == 1 and paired.duplicate_rows == 2


def test_a_v2_row_pairs_with_the_v1_row_it_overlaps_most() -> None:
    # two v1 sessions of a split night and one v2 row that covers most of the second one and a bit of the first
    rows = [
        "1,STAGES,120,0,0,110,10,5,0,+00:00,2026-01-01 22:00:00+0000,+00:00,2026-01-02 00:00:00+0000,P,"
        "sleep_session_v1,x,x",
        "2,STAGES,300,0,0,280,20,5,0,+00:00,2026-01-02 01:00:00+0000,+00:00,2026-01-02 06:00:00+0000,P,"
        "sleep_session_v1,x,x",
        "3,STAGES,330,0,0,300,30,5,0,+00:00,2026-01-01 23:30:00+0000,+00:00,2026-01-02 06:00:00+0000,P,"
        "sleep_session_v2,x,x",
    ]
    paired = pairing.pair_rows(_parsed(*rows).sessions)
    assert [s.sleep_ids for s in paired.sessions] == [
        {"sleep_session_v1": "1"},
        {"sleep_session_v1": "2", "sleep_session_v2": "3"},
    ]


def test_derived_log_ids_are_stable_and_far_from_fitbit_ids() -> None:
    one = pairing.derived_log_id("1000000000000000001")
    assert (
        one == pairing.derived_log_id("1000000000000000001") != pairing.derived_log_id("1000000000000000002")
    )
    assert 2**62 <= one < 2**63


def test_a_session_becomes_a_v1_2_log_with_date_of_sleep_from_its_local_end() -> None:
    stages = "\n".join(
        [  # unsorted, both wake spellings
            "1000000000000000002,9,REM,-04:00,2026-04-12 13:00:00+0000,-04:00,2026-04-12 13:17:00+0000,P,v2,x,x",
            "1000000000000000002,7,LIGHT,-04:00,2026-04-12 05:08:00+0000,-04:00,2026-04-12 09:00:00+0000,P,v2,x,x",
            "1000000000000000002,8,WAKE,-04:00,2026-04-12 09:00:00+0000,-04:00,2026-04-12 09:30:00+0000,P,v2,x,x",
            "1000000000000000002,10,DEEP,-04:00,2026-04-12 09:30:00+0000,-04:00,2026-04-12 13:00:00+0000,P,v2,x,x",
        ]
    )
    parsed = _parsed(*NIGHT, stages=stages)
    session = pairing.pair_rows(parsed.sessions).sessions[0]
    log = pairing.to_log(session, parsed.stage_rows(session.winner_row.sleep_id))
    assert log["logId"] == pairing.derived_log_id(NIGHT[0][:19])  # the v1 row anchors the id
    assert (log["dateOfSleep"], log["startTime"], log["endTime"]) == (
        "2026-04-12",
        "2026-04-12T01:08:00.000",
        "2026-04-12T09:17:00.000",
    )
    assert (log["type"], log["minutesAsleep"], log["timeInBed"], log["duration"]) == (
        "stages",
        441,
        489,
        29340000,
    )
    assert [seg["level"] for seg in log["levels"]["data"]] == ["light", "wake", "deep", "rem"]
    assert log["levels"]["data"][0] == {
        "dateTime": "2026-04-12T01:08:00.000",
        "level": "light",
        "seconds": 13920,
    }
    assert log["levels"]["summary"]["wake"] == {"count": 1, "minutes": 30}
    provenance = log["provenance"]
    assert (provenance["family"], provenance["algorithmVersion"]) == ("export-csv", "sleep_session_v2")
    assert [(a["version"], a["is_winner"]) for a in provenance["alternatives"]] == [
        ("sleep_session_v1", False),
        ("sleep_session_v2", True),
    ]


def test_a_classic_session_keeps_classic_levels() -> None:
    stages = "\n".join(
        [
            "2000000000000000001,1,ASLEEP,-04:00,2026-04-12 18:00:00+0000,-04:00,2026-04-12 18:40:00+0000,P,r,x,x",
            "2000000000000000001,2,RESTLESS,-04:00,2026-04-12 18:40:00+0000,-04:00,2026-04-12 18:45:00+0000,P,r,x,x",
            "2000000000000000001,3,AWAKE,-04:00,2026-04-12 18:45:00+0000,-04:00,2026-04-12 19:00:00+0000,P,r,x,x",
        ]
    )
    parsed = _parsed(NAP[0], stages=stages)
    session = pairing.pair_rows(parsed.sessions).sessions[0]
    log = pairing.to_log(session, parsed.stage_rows("2000000000000000001"))
    assert log["type"] == "classic"
    assert [seg["level"] for seg in log["levels"]["data"]] == ["asleep", "restless", "awake"]


def test_a_legacy_log_of_the_same_night_wins_and_keeps_its_log_id() -> None:
    takeout = _takeout(*NIGHT, *LONE_V2)
    legacy = {  # the legacy log starts at the v1 row's local start; its minutes differ from both rows
        "logId": 51234567890,
        "dateOfSleep": "2026-04-12",
        "startTime": "2026-04-12T01:03:30.000",
        "endTime": "2026-04-12T09:19:30.000",
        "minutesAsleep": 447,
        "minutesAwake": 49,
        "type": "stages",
    }
    merged = takeout.merge({date(2026, 4, 12): [(legacy, "Global Export Data/sleep-2026-04-01.json")]})
    night = merged[date(2026, 4, 12)]
    assert len(night) == 1 and night[0]["logId"] == 51234567890 and night[0]["minutesAsleep"] == 447
    alternatives = night[0]["provenance"]["alternatives"]
    assert [(a["version"], a["is_winner"], a["minutes_asleep"]) for a in alternatives] == [
        ("export-json", True, 447),
        ("sleep_session_v1", False, 451),
        ("sleep_session_v2", False, 441),
    ]
    assert night[0]["provenance"]["family"] == "export-json"
    # the lone v2 session has no legacy log: it is landed from the CSV, on the local date of its end
    assert [log["provenance"]["family"] for log in merged[date(2026, 4, 13)]] == ["export-csv"]
    assert takeout.stats.without_stages == 1  # reported: its stages were in no part given
    assert takeout.stats.with_legacy == 1 and takeout.stats.landed == 1


def test_scores_attach_to_their_session_and_minus_one_becomes_null() -> None:
    scores = "\n".join(
        [  # only the v1 row is scored: the session still gets that score
            "1000000000000000001,77,DERIVED,-04:00,2026-04-12 13:29:30+0000,81.6,-1,-1,20,451,80,20.1,55,480,"
            "2,12,0.0712,40,x,x",
        ]
    )
    takeout = _takeout(*NIGHT, scores=scores)
    takeout.merge({})
    blob = takeout.score_csv()
    assert blob is not None
    header, row = blob.decode().splitlines()
    cells = dict(zip(header.split(","), row.split(","), strict=True))
    assert cells["sleep_log_entry_id"] == str(pairing.derived_log_id(NIGHT[0][:19]))
    assert cells["timestamp"] == "2026-04-12T09:29:30"  # local: UTC + the score's offset
    assert (cells["overall_score"], cells["duration_score"], cells["composition_score"]) == ("81.6", "", "")
    assert cells["restlessness"] == "0.0712"


class _Members:
    """An archive stand-in: members by name (TakeoutCsv only reads them)."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def read(self, member: str) -> bytes:
        return self.files[member]


def _takeout(*session_lines: str, stages: str = "", scores: str = "") -> TakeoutCsv:
    files = _files(*session_lines, stages=stages, scores=scores)
    return TakeoutCsv(_Members(files), sorted(files))
