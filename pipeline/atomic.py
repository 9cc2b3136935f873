"""Atomic file replacement, the one way this project writes a file that someone else may be reading.

Why: raw JSON, Parquet partitions, token files and scores are read by other processes (DuckDB readers, Dagster
steps, a second CLI). Writing a temp file in the same directory, fsyncing it, ``os.replace``-ing it over the target
and fsyncing the directory means a reader sees the old file or the new one, never half of one, even after a crash.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes, *, private: bool = False) -> None:
    """Replace ``path`` with ``data`` atomically and durably.

    ``private`` keeps the file 0600 and a newly created directory 0700 (token files). ``mkstemp`` creates the temp
    file 0600 either way; other files are then opened up to the usual 0644 so they can be shared.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700 if private else 0o777)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600 if private else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
