"""The shared warehouse of the scale profile: DuckLake, its catalog in Postgres, its data files on S3.

Why DuckLake: many readers on many machines query while the pipeline writes. A DuckDB file allows one writer and
blocks it while any other process holds the file; DuckLake keeps the catalog in Postgres (transactions, snapshots)
and the data in immutable Parquet files on object storage, so every reader sees the last committed snapshot and a
rebuild is one more snapshot. Readers attach with `connect_lake(..., read_only=True)` from any machine that reaches
Postgres and the bucket.

What goes in: every participant's published Parquet tables (``s3://<bucket>/participants/<id>/tables/<table>/…``,
see pipeline/object_store.py), unioned with a ``participant_id`` column. The lake reads the bucket, not a local data
root, so it can be rebuilt on any machine, and it covers whoever published, wherever their pipeline ran.

Idempotent: a table is rewritten only when the set of its published files (their sha256s in the manifests) changed;
the fingerprint is kept in the lake (``lake_inputs``). A rebuild over unchanged inputs commits no snapshot at all.

Why the extensions are loaded by path: DuckDB 2.0.1 (the embedded default's) downloads ducklake/httpfs/postgres at
``LOAD`` time and fails offline; the PyPI wheels ``duckdb-extension-*`` ship them for DuckDB 1.5.5, which the
``scale`` extra pins (docs/scale.md). With another DuckDB the extension is installed the usual (online) way.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import duckdb

from pipeline.errors import FitbitSleepError
from pipeline.object_store import MANIFEST, read_manifest, s3_filesystem
from pipeline.scale_profile import ScaleSettings

EXTENSIONS = ("httpfs", "postgres_scanner", "ducklake")
PARTICIPANTS_PREFIX = "participants"
LAKE_ALIAS = "lake"


class LakeUnavailable(FitbitSleepError):
    """The DuckLake extensions cannot be loaded here; the message says which venv has them."""


@dataclass(frozen=True)
class LakeResult:
    participants: list[str]
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows in the lake after the build
    rewritten: list[str] = field(default_factory=list)  # tables whose inputs changed (a new snapshot each)
    snapshot_id: int | None = None


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def load_extensions(con: duckdb.DuckDBPyConnection) -> None:
    """LOAD httpfs, postgres_scanner and ducklake from their PyPI wheels when they match this DuckDB, else INSTALL."""
    version = duckdb.__version__
    for name in EXTENSIONS:
        packaged: Path | None = None
        try:
            module = importlib.import_module(f"duckdb_extension_{name}")
        except ImportError:
            module = None
        if module is not None:
            for base in module.__path__:
                candidate = Path(base) / "extensions" / f"v{version}" / f"{name}.duckdb_extension"
                if candidate.is_file():
                    packaged = candidate
        try:
            if packaged is not None:
                con.execute(f"LOAD {_sql_str(str(packaged))}")
            else:
                con.execute(f"INSTALL {name}")
                con.execute(f"LOAD {name}")
        except duckdb.Error as exc:
            raise LakeUnavailable(
                f"the DuckDB extension {name} is not available for DuckDB {version} here ({exc}); run the scale "
                "profile from .venv-scale (`make install-scale`), whose DuckDB matches its extension wheels."
            ) from None


def connect_lake(settings: ScaleSettings, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake attached as ``lake`` (and S3 credentials in a session secret)."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    load_extensions(con)
    options = [
        "TYPE s3",
        f"KEY_ID {_sql_str(settings.access_key)}",
        f"SECRET {_sql_str(settings.secret_key)}",
        f"REGION {_sql_str(settings.s3_region)}",
    ]
    if settings.s3_endpoint:
        parsed = urlparse(settings.s3_endpoint)
        options += [
            f"ENDPOINT {_sql_str(parsed.netloc)}",
            "URL_STYLE 'path'",
            f"USE_SSL {'true' if parsed.scheme == 'https' else 'false'}",
        ]
    con.execute(f"CREATE OR REPLACE SECRET fitbit_sleep_s3 ({', '.join(options)})")
    attach = f"DATA_PATH {_sql_str(settings.lake_data_path)}" + (", READ_ONLY" if read_only else "")
    con.execute(f"ATTACH {_sql_str('ducklake:postgres:' + settings.lake_catalog)} AS {LAKE_ALIAS} ({attach})")
    return con


def published_participants(settings: ScaleSettings) -> dict[str, dict[str, str]]:
    """participant id -> its manifest (relative path -> sha256), for every participant that published."""
    s3 = s3_filesystem(settings.s3_endpoint, settings.access_key, settings.secret_key, settings.s3_region)
    from pyarrow import fs as pafs

    base = f"{settings.s3_bucket}/{PARTICIPANTS_PREFIX}"
    found: dict[str, dict[str, str]] = {}
    for info in s3.get_file_info(pafs.FileSelector(base, allow_not_found=True)):
        if info.type == pafs.FileType.Directory:
            pid = info.base_name
            manifest = read_manifest(s3, f"{base}/{pid}")
            if manifest:
                found[pid] = manifest
    return dict(sorted(found.items()))


def table_inputs(manifests: dict[str, dict[str, str]]) -> dict[str, list[tuple[str, str, str]]]:
    """table name -> [(participant, relative path, sha256)] of its published Parquet files."""
    tables: dict[str, list[tuple[str, str, str]]] = {}
    for pid, files in manifests.items():
        for rel, digest in files.items():
            parts = rel.split("/")
            if len(parts) >= 3 and parts[0] == "tables" and rel.endswith(".parquet"):
                tables.setdefault(parts[1], []).append((pid, rel, digest))
    return {name: sorted(entries) for name, entries in sorted(tables.items())}


def fingerprint(entries: Sequence[tuple[str, str, str]]) -> str:
    return hashlib.sha256(json.dumps(list(entries)).encode()).hexdigest()


def build_lake(settings: ScaleSettings) -> LakeResult:
    """Rewrite every lake table whose published inputs changed, each as ``participant_id`` + the table's columns."""
    manifests = published_participants(settings)
    inputs = table_inputs(manifests)
    con = connect_lake(settings)
    try:
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {LAKE_ALIAS}.lake_inputs (table_name VARCHAR, fingerprint VARCHAR)"
        )
        known = dict(con.execute(f"SELECT table_name, fingerprint FROM {LAKE_ALIAS}.lake_inputs").fetchall())
        rewritten: list[str] = []
        for name, entries in inputs.items():
            digest = fingerprint(entries)
            if known.get(name) == digest:
                continue
            selects = []
            for pid in sorted({e[0] for e in entries}):
                urls = [
                    f"s3://{settings.s3_bucket}/{PARTICIPANTS_PREFIX}/{pid}/{rel}"
                    for p, rel, _ in entries
                    if p == pid
                ]
                files = "[" + ", ".join(_sql_str(u) for u in urls) + "]"
                selects.append(
                    f"SELECT {_sql_str(pid)} AS participant_id, * EXCLUDE (participant_id) "
                    f"FROM read_parquet({files}, union_by_name = true, hive_partitioning = false)"
                    if _has_participant_column(con, urls[0])
                    else f"SELECT {_sql_str(pid)} AS participant_id, * "
                    f"FROM read_parquet({files}, union_by_name = true, hive_partitioning = false)"
                )
            con.execute("BEGIN TRANSACTION")
            con.execute(
                f"CREATE OR REPLACE TABLE {LAKE_ALIAS}.{_ident(name)} AS "
                + " UNION ALL BY NAME ".join(selects)
            )
            con.execute(f"DELETE FROM {LAKE_ALIAS}.lake_inputs WHERE table_name = ?", [name])
            con.execute(f"INSERT INTO {LAKE_ALIAS}.lake_inputs VALUES (?, ?)", [name, digest])
            con.execute("COMMIT")
            rewritten.append(name)
        rows = {
            name: int(con.execute(f"SELECT count(*) FROM {LAKE_ALIAS}.{_ident(name)}").fetchone()[0])  # type: ignore[index]
            for name in inputs
        }
        snapshot = con.execute(f"SELECT max(snapshot_id) FROM {LAKE_ALIAS}.snapshots()").fetchone()
        return LakeResult(
            participants=list(manifests),
            rows=rows,
            rewritten=rewritten,
            snapshot_id=int(snapshot[0]) if snapshot and snapshot[0] is not None else None,
        )
    finally:
        con.close()


def _has_participant_column(con: duckdb.DuckDBPyConnection, url: str) -> bool:
    """Whether a participant's table already carries ``participant_id`` (the participants layout may add it)."""
    names = con.execute(f"SELECT name FROM parquet_schema({_sql_str(url)})").fetchall()
    return any(n[0] == "participant_id" for n in names)


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a table name: {name!r}")
    return name


__all__ = ["MANIFEST", "LakeResult", "LakeUnavailable", "build_lake", "connect_lake", "load_extensions"]
