"""The archives imported into a data root, so an unchanged archive is never imported twice by the drop folder.

Why in the data root and not only in the drop-folder sensor's cursor: the cursor lives in one Dagster instance and
starts empty in a new one, while archives also arrive without the sensor (`make demo` and `fitbit-sleep import`
import ``imports/demo-takeout/`` themselves). So `make dev` after the demo imported the demo's archive again on
its first tick and rebuilt the warehouse, every plot and the report for nothing. The ledger is written by every
import (``import_archive``) and read by the sensor.

A fingerprint is name, mtime and size (a folder's summed over its files), the sensor's notion of "changed": a new
download of the same name is imported again, which is safe (a re-import of identical content changes nothing).
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.atomic import atomic_write_bytes
from pipeline.paths import StoragePaths


def archive_fingerprint(path: Path) -> str:
    """name:mtime_ns:size; a folder's size and mtime are summed over its files so edits inside it count."""
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file()]
        mtime = max((p.stat().st_mtime_ns for p in files), default=path.stat().st_mtime_ns)
        size = sum(p.stat().st_size for p in files)
    else:
        st = path.stat()
        mtime, size = st.st_mtime_ns, st.st_size
    return f"{path.name}:{mtime}:{size}"


def _ledger_file(paths: StoragePaths) -> Path:
    return paths.state_dir / "imports.json"


def _load(paths: StoragePaths) -> dict[str, str]:
    try:
        data = json.loads(_ledger_file(paths).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def record_import(paths: StoragePaths, archive: Path) -> None:
    """Remember ``archive`` (by its absolute path) as imported in its current state."""
    ledger = _load(paths)
    key, fingerprint = str(archive.resolve()), archive_fingerprint(archive)
    if ledger.get(key) == fingerprint:
        return  # a re-import of an unchanged archive leaves the data root byte-identical
    ledger[key] = fingerprint
    atomic_write_bytes(_ledger_file(paths), json.dumps(ledger, indent=1, sort_keys=True).encode("utf-8"))


def already_imported(paths: StoragePaths, archive: Path) -> bool:
    """True when ``archive`` was imported into this data root and has not changed since."""
    return _load(paths).get(str(archive.resolve())) == archive_fingerprint(archive)
