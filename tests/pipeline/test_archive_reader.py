"""The archive reader: record-by-record JSON arrays, date scan, discovery by pattern, profile time zone."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import pytest

from pipeline.errors import ArchiveError
from pipeline.sources.fitbit_export import reader


def test_json_array_yields_records_then_reports_damage() -> None:
    assert list(reader.iter_json_array(b'\xef\xbb\xbf [ {"a" : 1} ,\n {"b" : [2]} ] \n')) == [
        {"a": 1},
        {"b": [2]},
    ]
    assert list(reader.iter_json_array(b"[]")) == []
    got: list[object] = []
    with pytest.raises(reader.JsonArrayError, match="after 2 records: the file ends") as info:
        got.extend(reader.iter_json_array(b'[{"a":1},{"b":2},{"c":'))
    assert got == [{"a": 1}, {"b": 2}] and info.value.parsed == 2
    with pytest.raises(reader.JsonArrayError, match="expected '\\['"):
        list(reader.iter_json_array(b'{"sleep": []}'))
    with pytest.raises(reader.JsonArrayError, match="unexpected"):
        list(reader.iter_json_array(b'[{"a":1} {"b":2}]'))
    with pytest.raises(reader.JsonArrayError, match="extra data"):
        list(reader.iter_json_array(b"[1] [2]"))
    with pytest.raises(reader.JsonArrayError, match="not UTF-8"):
        list(reader.iter_json_array(b'["\xff"]'))


def test_scan_dates_finds_every_date_of_sleep_without_parsing() -> None:
    data = b'[{"dateOfSleep" : "2024-03-02", "x": 1},\n{"logId": 3, "dateOfSleep":"2024-02-29"}, {"dateOfSleep": "2024-13-01"}'
    assert reader.scan_dates(data) == {date(2024, 3, 2), date(2024, 2, 29)}


def test_discovery_by_pattern_ignores_litter_and_reads_profile(tmp_path: Path) -> None:
    target = tmp_path / "export.zip"
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("Somewhere/Deep/Sleep/sleep-2024-01-01.json", "[]")
        archive.writestr("__MACOSX/Somewhere/Deep/Sleep/._sleep-2024-01-01.json", "junk")
        archive.writestr("Somewhere/Deep/Sleep/sleep_score.csv", "sleep_log_entry_id,timestamp\n")
        archive.writestr("Somewhere/Your Profile/Profile.csv", "id,timezone\nXYZ,Europe/Berlin\n")
        archive.writestr("Somewhere/steps-2024-01-01.json", "[]")
    with reader.open_archive(target) as opened:
        contents = reader.discover(opened)
        assert [m.name for m in contents.sleep_files] == ["Somewhere/Deep/Sleep/sleep-2024-01-01.json"]
        assert len(contents.score_files) == 1
        profile = reader.read_profile(opened, contents.profile_files)
    assert profile == reader.ArchiveProfile("XYZ", "Europe/Berlin")


def test_missing_path_and_damaged_member(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="does not exist"):
        reader.open_archive(tmp_path / "nope.zip")
    target = tmp_path / "a.zip"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "Sleep/sleep-2024-01-01.json", b"[" + b'{"dateOfSleep": "2024-01-01"},' * 500 + b"{}]"
        )
    raw = bytearray(target.read_bytes())
    start = raw.index(b"sleep-2024-01-01.json") + len("sleep-2024-01-01.json")
    raw[start + 10 : start + 40] = b"\x00" * 30  # corrupt the compressed data, keep the directory intact
    target.write_bytes(bytes(raw))
    with reader.open_archive(target) as opened:
        member = reader.discover(opened).sleep_files[0]
        with pytest.raises(reader.UnreadableMember):
            opened.read(member)
