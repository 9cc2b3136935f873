"""The physiology landing contract: one file per kind and date in the v1.2 shape, provenance, hashes, revisions,
gzip'd intraday, and the source precedence it shares with the sleep landing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.landing import read_header
from pipeline.paths import StoragePaths
from pipeline.physiology_landing import (
    KINDS,
    PhysiologyDocumentError,
    land_physiology_day,
    landed_physiology_files,
    read_physiology_day,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "physiology"
DAY = date(2024, 3, 15)
FETCHED = datetime(2024, 3, 20, 8, 0, tzinfo=UTC)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def land(paths: StoragePaths, kind: str, document: dict[str, Any], **overrides: Any) -> str:
    day = overrides.pop("day", DAY)
    kwargs: dict[str, Any] = {"source": "api", "source_ref": "/1/user/-/x.json", "fetched_at": FETCHED}
    kwargs.update(overrides)
    return land_physiology_day(paths, kind, day, document, **kwargs)


def test_kinds_are_the_contract() -> None:
    assert KINDS == ("heart_rate_intraday", "heart_rate_daily", "hrv", "spo2", "breathing_rate", "skin_temp")


def test_intraday_lands_gzipped_with_provenance_and_reads_back(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    document = fixture("hr_intraday_1sec.json")
    outcome = land(paths, "heart_rate_intraday", document, provenance={"data_source": "Inspire 3"})
    assert outcome == "written"
    target = paths.raw_physiology_file("heart_rate_intraday", DAY)
    assert target.name == "date=2024-03-15.json.gz" and target.read_bytes()[:2] == b"\x1f\x8b"
    record = read_physiology_day(paths, "heart_rate_intraday", DAY)
    assert record is not None
    assert record["payload"] == document and record["state"] == "final"
    assert record["provenance"] == {"data_source": "Inspire 3"} and record["kind"] == "heart_rate_intraday"
    header = read_header(target)  # the sleep landing's header reader reads gzip'd heads too
    assert (header.date, header.source, header.fetched_at) == (DAY, "api", "2024-03-20T08:00:00Z")
    assert list(landed_physiology_files(paths, "heart_rate_intraday")) == [(DAY, target)]


def test_relanding_the_same_document_is_byte_identical(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    document = fixture("hr_intraday_1min.json")
    land(paths, "heart_rate_intraday", document)
    target = paths.raw_physiology_file("heart_rate_intraday", DAY)
    before = target.read_bytes()
    reordered = json.loads(json.dumps(document, sort_keys=True))  # same content, other key order
    assert (
        land(paths, "heart_rate_intraday", reordered, fetched_at=FETCHED + timedelta(days=1)) == "unchanged"
    )
    assert target.read_bytes() == before


def test_a_changed_document_is_revised_and_the_old_copy_kept(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    document = fixture("hr_intraday_1min.json")
    land(paths, "heart_rate_intraday", document)
    old_bytes = paths.raw_physiology_file("heart_rate_intraday", DAY).read_bytes()
    changed = json.loads(json.dumps(document))
    changed["activities-heart-intraday"]["dataset"].append({"time": "23:59:30", "value": 62})
    assert land(paths, "heart_rate_intraday", changed, fetched_at=FETCHED + timedelta(days=1)) == "revised"
    revisions = list(paths.raw_physiology_revisions_dir("heart_rate_intraday", DAY).iterdir())
    assert len(revisions) == 1 and revisions[0].name.startswith("2024-03-20T080000Z-")
    assert revisions[0].name.endswith(".json.gz") and revisions[0].read_bytes() == old_bytes
    record = read_physiology_day(paths, "heart_rate_intraday", DAY)
    assert record is not None and len(record["payload"]["activities-heart-intraday"]["dataset"]) == 15


@pytest.mark.parametrize(
    ("kind", "document", "state"),
    [
        ("spo2", {}, "empty"),
        ("spo2", {"dateTime": "2024-03-15", "value": {"avg": 95.7, "min": 93.9, "max": 97.6}}, "final"),
        ("heart_rate_intraday", {"activities-heart": [{"dateTime": "2024-03-15", "value": {}}]}, "empty"),
        ("heart_rate_daily", {"activities-heart": [{"dateTime": "2024-03-15", "value": {}}]}, "empty"),
        (
            "heart_rate_daily",
            {"activities-heart": [{"dateTime": "2024-03-15", "value": {"restingHeartRate": 58}}]},
            "final",
        ),
        ("hrv", {"hrv": []}, "empty"),
        ("breathing_rate", {"br": [{"dateTime": "2024-03-15", "value": {"breathingRate": 16.2}}]}, "final"),
        ("skin_temp", {"tempSkin": []}, "empty"),
    ],
)
def test_state_says_whether_the_quantity_was_measured(
    tmp_path: Path, kind: str, document: dict[str, Any], state: str
) -> None:
    paths = StoragePaths(tmp_path)
    land(paths, kind, document)
    record = read_physiology_day(paths, kind, DAY)
    assert record is not None and record["state"] == state
    assert paths.raw_physiology_file(kind, DAY).suffix == ".json" or kind == "heart_rate_intraday"


def test_a_document_about_another_date_lands_nothing(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    with pytest.raises(PhysiologyDocumentError, match="2024-03-14"):
        land(paths, "hrv", fixture("hrv_range.json"))  # holds 2024-03-14 and 2024-03-16
    with pytest.raises(PhysiologyDocumentError, match="unknown physiology kind"):
        land(paths, "steps", {})
    assert not paths.raw_physiology_dir.exists()


def test_an_archive_never_replaces_an_api_day_but_the_api_replaces_an_archive_day(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    api_doc = {"hrv": [{"dateTime": "2024-03-15", "value": {"dailyRmssd": 34.9, "deepRmssd": 31.5}}]}
    export_doc = {"hrv": [{"dateTime": "2024-03-15", "value": {"dailyRmssd": 35.0, "deepRmssd": 31.0}}]}
    land(paths, "hrv", api_doc)
    later = FETCHED + timedelta(days=30)
    assert (
        land(paths, "hrv", export_doc, source="export", source_ref="takeout.zip", fetched_at=later)
        == "unchanged"
    )
    record = read_physiology_day(paths, "hrv", DAY)
    assert record is not None and record["source"] == "api" and record["payload"] == api_doc

    other = date(2024, 3, 16)
    export_16 = {"hrv": [{"dateTime": "2024-03-16", "value": {"dailyRmssd": 30.0, "deepRmssd": 28.0}}]}
    api_16 = {"hrv": [{"dateTime": "2024-03-16", "value": {"dailyRmssd": 30.5, "deepRmssd": 28.0}}]}
    land(paths, "hrv", export_16, day=other, source="export", source_ref="a.zip", fetched_at=later)
    assert (
        land(paths, "hrv", api_16, day=other, fetched_at=FETCHED) == "revised"
    )  # the API wins, even if older
    record = read_physiology_day(paths, "hrv", other)
    assert record is not None and record["source"] == "api"


def test_an_older_archive_never_replaces_a_newer_archives_day(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    newer = {"tempSkin": [{"dateTime": "2024-03-15", "value": {"nightlyRelative": 0.4}, "logType": "x"}]}
    older = {"tempSkin": [{"dateTime": "2024-03-15", "value": {"nightlyRelative": 0.1}, "logType": "x"}]}
    land(paths, "skin_temp", newer, source="export", source_ref="new.zip", fetched_at=FETCHED)
    old_at = FETCHED - timedelta(days=60)
    assert (
        land(paths, "skin_temp", older, source="export", source_ref="old.zip", fetched_at=old_at)
        == "unchanged"
    )
    record = read_physiology_day(paths, "skin_temp", DAY)
    assert record is not None and record["source_ref"] == "new.zip"
    assert (
        land(paths, "skin_temp", older, source="export", source_ref="newest.zip", fetched_at=FETCHED)
        == "revised"
    )
