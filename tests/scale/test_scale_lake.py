"""Publishing data roots to SeaweedFS and the shared DuckLake warehouse on the Postgres catalog (pipeline/lake.py,
pipeline/object_store.py), against the real servers of conftest.py."""

from __future__ import annotations

import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from fitbit_sleep.scale.instance import scale_env
from fitbit_sleep.scale.services import ObjectStore, PostgresServer
from pipeline.lake import build_lake, connect_lake
from pipeline.object_store import hydrate_root, local_files, publish_root, s3_filesystem
from pipeline.scale_profile import ScaleSettings
from tests.scale.conftest import require_scale_extra

require_scale_extra()  # the scale extra (.venv-scale), else the module is skipped


def _root(tmp: Path, name: str, nights: list[tuple[str, int]]) -> Path:
    """A data root with a raw day, a token file (never published) and a one-month nights table."""
    root = tmp / name
    (root / "raw" / "sleep").mkdir(parents=True)
    (root / "raw" / "sleep" / "date=2026-11-01.json").write_text('{"sleep": []}')
    (root / "tokens").mkdir()
    (root / "tokens" / "user.json").write_text('{"refresh_token": "secret"}')
    table = pa.table({"night_date": [d for d, _ in nights], "minutes_asleep": [m for _, m in nights]})
    month = root / "tables" / "nights" / "month=2026-11"
    month.mkdir(parents=True)
    pq.write_table(table, month / "part-0.parquet")
    return root


def test_publish_hydrate_and_lake_rebuild_only_on_change(
    tmp_path: Path, pg: PostgresServer, store: ObjectStore
) -> None:
    lake_db = "lake_" + uuid.uuid4().hex[:8]
    pg.create_database(lake_db)
    env = scale_env(pg, store) | {"FITBIT_SLEEP_LAKE_CATALOG": pg.conninfo(lake_db)}
    bucket_prefix = "participants"
    settings = ScaleSettings.from_env(env)
    s3 = s3_filesystem(store.endpoint, store.access_key, store.secret_key)
    run = uuid.uuid4().hex[
        :6
    ]  # this test's participants, apart from any other test's in the session's bucket
    alice, bob = f"alice{run}", f"bob{run}"
    roots = {
        alice: _root(tmp_path, "a", [("2026-11-01", 420), ("2026-11-02", 400)]),
        bob: _root(tmp_path, "b", [("2026-11-01", 380)]),
    }
    for pid, root in roots.items():
        first = publish_root(root, s3, store.bucket, f"{bucket_prefix}/{pid}")
        assert (first.uploaded, first.unchanged) == (2, 0)  # the raw day and the table; never the token
        again = publish_root(root, s3, store.bucket, f"{bucket_prefix}/{pid}")
        assert (again.uploaded, again.unchanged, again.deleted) == (0, 2, 0)

    fresh = tmp_path / "fresh"
    assert hydrate_root(s3, store.bucket, f"{bucket_prefix}/{alice}", fresh) == 2
    assert sorted(local_files(fresh)) == sorted(local_files(roots[alice]))
    assert not (fresh / "tokens").exists()
    assert (fresh / "tables/nights/month=2026-11/part-0.parquet").read_bytes() == (
        roots[alice] / "tables/nights/month=2026-11/part-0.parquet"
    ).read_bytes()

    built = build_lake(settings)
    assert "nights" in built.rewritten
    con = connect_lake(settings, read_only=True)
    try:
        rows = con.execute(
            "SELECT participant_id, count(*), sum(minutes_asleep) FROM lake.nights "
            "WHERE participant_id IN (?, ?) GROUP BY 1 ORDER BY 1",
            [alice, bob],
        ).fetchall()
    finally:
        con.close()
    assert rows == [(alice, 2, 820), (bob, 1, 380)]

    unchanged = build_lake(settings)
    assert unchanged.rewritten == []
    assert unchanged.snapshot_id == built.snapshot_id  # nothing changed: no new snapshot

    # bob's night is revised: one publish uploads one file, and only the nights table gets a new snapshot
    pq.write_table(
        pa.table({"night_date": ["2026-11-01"], "minutes_asleep": [390]}),
        roots[bob] / "tables/nights/month=2026-11/part-0.parquet",
    )
    assert publish_root(roots[bob], s3, store.bucket, f"{bucket_prefix}/{bob}").uploaded == 1
    revised = build_lake(settings)
    assert revised.rewritten == ["nights"]
    assert revised.snapshot_id is not None and built.snapshot_id is not None
    assert revised.snapshot_id > built.snapshot_id
    con = connect_lake(settings, read_only=True)
    try:
        assert con.execute(
            "SELECT sum(minutes_asleep) FROM lake.nights WHERE participant_id = ?", [bob]
        ).fetchone() == (390,)
    finally:
        con.close()


def test_participant_roots_cover_the_root_and_its_participants(tmp_path: Path) -> None:
    from pipeline.object_store import participant_roots

    root = _root(tmp_path, "root", [("2026-11-01", 400)])
    _root(root / "participants", "p001", [("2026-11-01", 380)])
    (root / "participants" / "p002").mkdir()  # registered, nothing landed yet: nothing to publish
    assert participant_roots(root, "default") == {"default": root, "p001": root / "participants" / "p001"}
    cohort_only = tmp_path / "cohort"
    _root(cohort_only / "participants", "p001", [("2026-11-01", 380)])
    assert list(participant_roots(cohort_only, "default")) == ["p001"]
