"""`fitbit-sleep sandbox export --layout takeout-2026`: legacy JSON before the move, the Google-era CSVs after it,
with the quirks of reference §2, split in parts, byte-identical for the same arguments."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from fitbit_sandbox.takeout2026 import SCORE_HEADER, SESSION_HEADER, STAGE_HEADER, export_takeout_history
from fitbit_sleep.cli import main
from tests.clock import TEST_TODAY


def _members(parts: list[Path]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for part in parts:
        with zipfile.ZipFile(part) as z:
            for name in z.namelist():
                assert name not in found, f"{name} is in two parts"
                found[name] = z.read(name)
    return found


def _csv_rows(members: dict[str, bytes], kind: str) -> tuple[list[str], list[dict[str, str]]]:
    header: list[str] = []
    rows: list[dict[str, str]] = []
    for name, data in sorted(members.items()):
        if f"/{kind}_" in name:
            reader = csv.DictReader(io.StringIO(data.decode()))
            header = list(reader.fieldnames or [])
            rows.extend(reader)
    return header, rows


def test_the_export_command_writes_identical_parts(tmp_path: Path) -> None:
    args = [
        "sandbox",
        "export",
        "--layout",
        "takeout-2026",
        "--days",
        "200",
        "--today",
        TEST_TODAY.isoformat(),
    ]
    first = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "a" / "takeout.zip"), "--parts", "3"])
    assert first.exit_code == 0, first.output
    parts = sorted((tmp_path / "a").glob("takeout-*.zip"))
    assert [p.name for p in parts] == ["takeout-001.zip", "takeout-002.zip", "takeout-003.zip"]
    assert "fitbit-sleep import " + " ".join(str(p) for p in parts) in first.output
    again = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "b" / "takeout.zip"), "--parts", "3"])
    assert again.exit_code == 0, again.output
    assert [p.read_bytes() for p in parts] == [
        p.read_bytes() for p in sorted((tmp_path / "b").glob("takeout-*.zip"))
    ]
    wrong = CliRunner().invoke(main, ["sandbox", "export", "--out", str(tmp_path / "c.zip"), "--parts", "2"])
    assert wrong.exit_code == 2 and "only the takeout-2026 layout" in wrong.output


def test_the_takeout_has_the_google_era_format_and_its_quirks(tmp_path: Path) -> None:
    moved = TEST_TODAY - timedelta(days=150)
    takeout = export_takeout_history(
        tmp_path / "takeout.zip", days=300, today=TEST_TODAY, migrated_on=moved, parts=3
    )
    members = _members(takeout.parts)
    legacy = [n for n in members if "/Global Export Data/sleep-" in n]
    assert legacy and all("Takeout/Fitbit/" in n for n in members if n.endswith(".csv"))
    header, sessions = _csv_rows(members, "UserSleeps")
    assert header == SESSION_HEADER
    assert _csv_rows(members, "UserSleepStages")[0] == STAGE_HEADER
    score_header, scores = _csv_rows(members, "UserSleepScores")
    assert score_header == SCORE_HEADER
    # one row per session per algorithm version; some sessions have one version only
    versions = {r["algorithm_version"] for r in sessions}
    assert versions == {"sleep_session_v1", "sleep_session_v2"}
    counts = [len(s.versions) for s in takeout.sessions]
    assert len(sessions) == sum(counts) and 1 in counts and 2 in counts
    # the legacy JSON and the CSVs overlap for the nights just before the move, and only those
    legacy_ids = takeout.legacy_log_ids
    both_files = [s for s in takeout.sessions if s.log_id in legacy_ids]
    day_of = {int(log["logId"]): log["dateOfSleep"] for log in takeout.archive.logs}
    overlap = {(moved - timedelta(days=k)).isoformat() for k in range(1, 15)}
    assert both_files and {day_of[s.log_id] for s in both_files} <= overlap
    # a type change between versions (a classic v1 nap staged by v2), both timestamp, both wake spellings, -1
    # sub-scores, float scores
    assert any(
        s.types["v1"] == "CLASSIC" and s.types["v2"] == "STAGES"
        for s in takeout.sessions
        if len(s.types) == 2
    )
    starts = {r["sleep_start"][-5:] for r in sessions}
    assert "+0000" in starts and any(v.endswith("Z") for v in starts)
    _, stages = _csv_rows(members, "UserSleepStages")
    assert {"WAKE", "AWAKE", "LIGHT", "DEEP", "REM"} <= {r["sleep_stage_type"] for r in stages}
    assert any(r["duration_score"] == "-1" for r in scores) and all("." in r["overall_score"] for r in scores)
    # v2 differs from v1 the way the reference shows: later start, earlier end, other minutes
    by_id = {r["sleep_id"]: r for r in sessions}
    both = [s for s in takeout.sessions if len(s.versions) == 2]
    later = [by_id[s.versions["v2"]]["sleep_start"] >= by_id[s.versions["v1"]]["sleep_start"] for s in both]
    assert all(later) and any(
        by_id[s.versions["v2"]]["minutes_asleep"] != by_id[s.versions["v1"]]["minutes_asleep"] for s in both
    )
    # stage rows are not in time order
    firsts = [r["sleep_stage_start"] for r in stages[:50]]
    assert firsts != sorted(firsts)
