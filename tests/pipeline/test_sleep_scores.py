"""sleep_score.csv -> raw landing -> sleep_scores table (local timestamps, NULLs, rejects, newest archive wins)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipeline.paths import StoragePaths
from pipeline.sleep_scores import build_scores_table, land_scores

HEADER = (
    "sleep_log_entry_id,timestamp,overall_score,composition_score,revitalization_score,duration_score,"
    "deep_sleep_in_minutes,resting_heart_rate,restlessness\n"
)


def _table(paths: StoragePaths) -> list[tuple[object, ...]]:
    glob = paths.table_dir("sleep_scores") / "*" / "*.parquet"
    return duckdb.sql(
        f"select log_id, score_timestamp_local, overall_score, composition_score, duration_score, restlessness, "
        f"source_ref from read_parquet('{glob}') order by log_id"
    ).fetchall()


def test_scores_keep_local_time_nulls_and_reject_bad_rows(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    csv = HEADER + (
        "50000000001,2026-10-07T04:58:30Z,74,,74,,47,53,0.0873\n"
        "50000000002,2026-10-08T06:10:00Z,80,20,19,41,60,55,0.05\n"
        "not-an-id,2026-10-09T06:10:00Z,80,20,19,41,60,55,0.05\n"
        "50000000004,yesterday,80,20,19,41,60,55,0.05\n"
        "\n"
    )
    landed = land_scores(
        paths, [csv.encode()], source_ref="a.zip", fetched_at=datetime(2026, 10, 10, tzinfo=UTC)
    )
    assert (landed.rows, landed.state) == (4, "written")
    result = build_scores_table(paths, log_ids={50000000001, 50000000002, 50000000004})
    assert (result.rows, result.rejected, result.without_log) == (2, 2, 0)
    assert _table(paths) == [
        (50000000001, datetime(2026, 10, 7, 4, 58, 30), 74, None, None, 0.0873, "a.zip"),
        (50000000002, datetime(2026, 10, 8, 6, 10), 80, 20, 41, 0.05, "a.zip"),
    ]
    again = land_scores(
        paths, [csv.encode()], source_ref="renamed.zip", fetched_at=datetime(2026, 10, 10, tzinfo=UTC)
    )
    assert again.state == "unchanged"
    assert build_scores_table(paths, log_ids={50000000001, 50000000002}).months_written == []


def test_the_newest_archive_wins_per_log(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    new = HEADER + "7,2026-10-07T04:58:30Z,90,,,,,,\n"
    old = HEADER + "7,2026-10-07T04:58:30Z,60,,,,,,\n8,2026-09-01T05:00:00Z,70,,,,,,\n"
    land_scores(paths, [new.encode()], source_ref="new.zip", fetched_at=datetime(2026, 10, 10, tzinfo=UTC))
    land_scores(paths, [old.encode()], source_ref="old.zip", fetched_at=datetime(2026, 9, 10, tzinfo=UTC))
    build_scores_table(paths, log_ids={7, 8})
    assert [(r[0], r[2], r[6]) for r in _table(paths)] == [(7, 90, "new.zip"), (8, 70, "old.zip")]


def test_scores_whose_log_is_not_in_sleep_logs_are_left_out_and_counted_but_kept_raw(tmp_path: Path) -> None:
    """A score belongs to one sleep log: without the log (its date came from the API or a newer archive) the row
    has nothing to join, so the table leaves it out; the raw file keeps it for when the log comes back."""
    paths = StoragePaths(tmp_path)
    csv = HEADER + "7,2026-10-07T04:58:30Z,90,,,,,,\n8,2026-09-01T05:00:00Z,70,,,,,,\n"
    land_scores(paths, [csv.encode()], source_ref="a.zip", fetched_at=datetime(2026, 10, 10, tzinfo=UTC))
    result = build_scores_table(paths, log_ids={7})
    assert (result.rows, result.without_log) == (1, 1)
    assert [r[0] for r in _table(paths)] == [7]
    assert not (paths.table_dir("sleep_scores") / "month=2026-09").exists()
    back = build_scores_table(paths, log_ids={7, 8})
    assert (back.rows, back.without_log) == (2, 0)
    assert [r[0] for r in _table(paths)] == [7, 8]


def test_by_default_the_log_ids_are_read_from_the_sleep_logs_table(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    paths = StoragePaths(tmp_path)
    csv = HEADER + "7,2026-10-07T04:58:30Z,90,,,,,,\n8,2026-09-01T05:00:00Z,70,,,,,,\n"
    land_scores(paths, [csv.encode()], source_ref="a.zip", fetched_at=datetime(2026, 10, 10, tzinfo=UTC))
    before = build_scores_table(paths)  # no sleep_logs table yet: no score has its log
    assert (before.rows, before.without_log) == (0, 2)
    part = paths.table_dir("sleep_logs") / "month=2026-09" / "part-0.parquet"
    part.parent.mkdir(parents=True)
    pq.write_table(pa.table({"log_id": pa.array([8], pa.int64())}), part)
    build_scores_table(paths)
    assert [r[0] for r in _table(paths)] == [8]
