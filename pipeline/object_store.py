"""Raw JSON and Parquet on S3-compatible object storage: publish a data root to a bucket, hydrate one from it.

Why publish-a-working-copy and not a filesystem abstraction end to end: every step of the pipeline (atomic landing
with ``os.replace``, the writer lock, the month compaction) relies on POSIX renames and locks that S3 does not have.
So the local data root stays the working copy of the process that writes it, and after each write the changed files
are copied to ``s3://<bucket>/<prefix>/`` (raw days and table files only: never tokens or state). A manifest object
(``<prefix>/_manifest.json``: relative path -> sha256) makes the copy content-addressed: an unchanged file is never
uploaded again, a file gone locally (a re-fetched day's replaced month) is deleted remotely, and a fresh machine can
``hydrate`` the same tree. The manifest is written last, so a reader that trusts it never sees a half-published set.

pyarrow's S3 filesystem does the transfers: pyarrow is already a dependency (the Parquet tables), it speaks to any
S3 endpoint (SeaweedFS here, AWS/GCS/MinIO in production) and needs no extension download.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from pyarrow import fs as pafs

from pipeline.atomic import atomic_write_bytes

# What a data root publishes: the raw landing (JSON) and the Parquet tables. Tokens, state, the sandbox and
# DAGSTER_HOME stay on the machine that owns them.
PUBLISHED_DIRS = ("raw", "tables")
MANIFEST = "_manifest.json"


@dataclass(frozen=True)
class PublishResult:
    uploaded: int
    unchanged: int
    deleted: int
    bytes_uploaded: int


def s3_filesystem(
    endpoint: str, access_key: str, secret_key: str, region: str = "us-east-1"
) -> pafs.S3FileSystem:
    """pyarrow's S3 client for ``endpoint`` (``http(s)://host:port``; empty = AWS)."""
    options: dict[str, object] = {"region": region, "allow_bucket_creation": True}
    if endpoint:
        parsed = urlparse(endpoint)
        options["endpoint_override"] = parsed.netloc
        options["scheme"] = parsed.scheme or "https"
    return pafs.S3FileSystem(access_key=access_key, secret_key=secret_key, **options)  # type: ignore[arg-type]


def ensure_bucket(
    endpoint: str, bucket: str, access_key: str, secret_key: str, region: str = "us-east-1"
) -> None:
    """Create ``bucket`` unless it exists (raises ``OSError`` while the endpoint is not up yet)."""
    s3 = s3_filesystem(endpoint, access_key, secret_key, region)
    if s3.get_file_info(bucket).type != pafs.FileType.Directory:
        s3.create_dir(bucket)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def local_files(root: Path) -> dict[str, Path]:
    """Relative path -> file for everything a data root publishes (temp files of an atomic write excluded)."""
    files: dict[str, Path] = {}
    for top in PUBLISHED_DIRS:
        base = root / top
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                files[path.relative_to(root).as_posix()] = path
    return files


def read_manifest(s3: pafs.FileSystem, base: str) -> dict[str, str]:
    """The published relative path -> sha256 map (empty when nothing was published yet)."""
    try:
        with s3.open_input_stream(f"{base}/{MANIFEST}") as f:
            data = json.loads(f.read())
    except FileNotFoundError:
        return {}
    return {str(k): str(v) for k, v in data.get("files", {}).items()}


def publish_root(root: Path, s3: pafs.FileSystem, bucket: str, prefix: str) -> PublishResult:
    """Copy ``root``'s raw and table files to ``s3://bucket/prefix/`` where their content differs from the manifest."""
    base = f"{bucket}/{prefix.strip('/')}"
    published = read_manifest(s3, base)
    current: dict[str, str] = {}
    uploaded = unchanged = sent = 0
    for rel, path in local_files(root).items():
        digest = sha256_file(path)
        current[rel] = digest
        if published.get(rel) == digest:
            unchanged += 1
            continue
        data = path.read_bytes()
        with s3.open_output_stream(f"{base}/{rel}") as out:
            out.write(data)
        uploaded += 1
        sent += len(data)
    gone = sorted(set(published) - set(current))
    for rel in gone:
        with contextlib.suppress(FileNotFoundError):
            s3.delete_file(f"{base}/{rel}")
    if uploaded or gone or (not published and current):
        body = json.dumps({"files": current}, sort_keys=True, indent=0).encode()
        with s3.open_output_stream(f"{base}/{MANIFEST}") as out:
            out.write(body)
    return PublishResult(uploaded=uploaded, unchanged=unchanged, deleted=len(gone), bytes_uploaded=sent)


def participant_roots(root: Path, own_id: str) -> dict[str, Path]:
    """participant id -> data root for everything a data root holds: the root itself (as ``own_id``) when it has
    raw data or tables, and each ``participants/<id>/`` below it (docs/participants.md: a participant is a data root
    of its own, with the same layout)."""
    found: dict[str, Path] = {}
    if any((root / top).is_dir() for top in PUBLISHED_DIRS):
        found[own_id] = root
    below = root / "participants"
    if below.is_dir():
        for child in sorted(below.iterdir()):
            if child.is_dir() and any((child / top).is_dir() for top in PUBLISHED_DIRS):
                found[child.name] = child
    return found


def hydrate_root(s3: pafs.FileSystem, bucket: str, prefix: str, root: Path) -> int:
    """Download the published tree into ``root`` (a fresh machine's working copy); returns the files written."""
    base = f"{bucket}/{prefix.strip('/')}"
    written = 0
    for rel, digest in read_manifest(s3, base).items():
        target = root / rel
        if target.is_file() and sha256_file(target) == digest:
            continue
        with s3.open_input_stream(f"{base}/{rel}") as f:
            data = f.read()
        if hashlib.sha256(data).hexdigest() != digest:
            raise OSError(
                f"s3://{base}/{rel} does not match its manifest entry (published while being read?)"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, data)
        written += 1
    return written
