"""Atomic file replacement, the one way this project writes a file that someone else may be reading.

Why: raw JSON, Parquet partitions, token files and scores are read by other processes (DuckDB readers, Dagster
steps, a second CLI). Writing a temp file in the same directory, fsyncing it, ``os.replace``-ing it over the target
and fsyncing the directory means a reader sees the old file or the new one, never half of one, even after a crash.

A process killed between the temp file and the replace leaves the temp file behind. Temp names carry the writer's
pid (``.<name>.p<pid>.<random>.tmp``), so the first write of a process into a directory removes the temp files of
writers that are gone (``remove_stale_temps``) and never one a live writer is still filling.

Test hook: ``FITBIT_SLEEP_TEST_KILL_AT=<text>#<n>`` makes the process SIGKILL itself just before the ``n``-th
replace of a file whose path contains ``<text>`` (``kill_point``), i.e. a real ``kill -9`` at an exact moment:
mid-landing (``raw/sleep/#40``), mid-Parquet write (``.parquet#2``), at the warehouse swap
(``warehouse.duckdb#1``). Only the kill tests set it.
"""

from __future__ import annotations

import os
import re
import signal
import tempfile
from pathlib import Path

KILL_AT_ENV = "FITBIT_SLEEP_TEST_KILL_AT"
_TEMP_RE = re.compile(r"^\..+\.p(\d+)\.[^/]+\.tmp(?:\.wal)?$")
_cleaned: set[Path] = set()
_kill_count = 0


def temp_prefix(name: str) -> str:
    """The temp-file prefix for ``name`` written by this process (see the module docstring)."""
    return f".{name}.p{os.getpid()}."


def remove_stale_temps(directory: Path) -> list[Path]:
    """Remove temp files in ``directory`` left by writers that no longer run; once per directory and process."""
    if directory in _cleaned:
        return []
    _cleaned.add(directory)
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    for entry in entries:
        match = _TEMP_RE.match(entry.name)
        if match and not _alive(int(match.group(1))):
            Path(entry.path).unlink(missing_ok=True)
            removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_point(path: Path) -> None:
    """The test hook of the module docstring; does nothing unless ``FITBIT_SLEEP_TEST_KILL_AT`` is set."""
    spec = os.environ.get(KILL_AT_ENV)
    if not spec:
        return
    text, _, nth = spec.rpartition("#")
    if text not in str(path):
        return
    global _kill_count
    _kill_count += 1
    if _kill_count == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def atomic_write_bytes(path: Path, data: bytes, *, private: bool = False) -> None:
    """Replace ``path`` with ``data`` atomically and durably.

    ``private`` keeps the file 0600 and a newly created directory 0700 (token files). ``mkstemp`` creates the temp
    file 0600 either way; other files are then opened up to the usual 0644 so they can be shared.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700 if private else 0o777)
    remove_stale_temps(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600 if private else 0o644)
        kill_point(path)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
