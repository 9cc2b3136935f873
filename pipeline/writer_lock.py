"""One writer at a time on the landing and the tables of a data root.

Why: a backfill's landing and an archive import running side by side used to interleave: the import read a date's
provenance, the API landed the date, then the import overwrote it as ``source=export`` (the API's copy lost, a
blocking check failed). Every writer of ``raw/`` and ``tables/`` (``land_fetch``, ``update_tables``, the archive
import, whether run by a CLI command, a backfill, the schedule or a sensor's run) takes this lock, so the source
precedence is applied to what is really on disk.

The lock is ``state/writer.lock`` (an OS file lock: released when its process ends, even by ``kill -9``), reentrant
within a process. While held, ``state/writer.json`` says who holds it, so a writer that has to wait says what it
waits for.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import filelock

from pipeline.paths import StoragePaths

log = logging.getLogger("pipeline.writer_lock")
_locks: dict[Path, filelock.FileLock] = {}
_guard = threading.Lock()
NOTE_EVERY_S = 30.0


def _lock_for(path: Path) -> filelock.FileLock:
    with _guard:
        if path not in _locks:
            path.parent.mkdir(parents=True, exist_ok=True)
            _locks[path] = filelock.FileLock(str(path), thread_local=False)
        return _locks[path]


def holder(paths: StoragePaths) -> str:
    """Who holds (or last held) the lock, in words."""
    try:
        info = json.loads((paths.state_dir / "writer.json").read_text())
        return f"{info['who']} (pid {info['pid']}, {info['command']}, since {info['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another writer"


@contextmanager
def writer_lock(
    paths: StoragePaths, who: str, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the data root's writer lock while landing or tabling; say (log + ``on_wait``) what it waits for."""
    lock = _lock_for(paths.state_dir / "writer.lock")
    outer = not lock.is_locked
    waited_since: float | None = None
    while True:
        try:
            lock.acquire(timeout=0 if waited_since is None else 1.0)
            break
        except filelock.Timeout:
            now = time.monotonic()
            if waited_since is None or now - waited_since >= NOTE_EVERY_S:
                note = f"{who}: waiting for the data root's writer lock, held by {holder(paths)}"
                log.warning("%s.", note)
                if on_wait is not None:
                    on_wait(note)
                waited_since = now if waited_since is None else waited_since + NOTE_EVERY_S
    info_file = paths.state_dir / "writer.json"
    try:
        if outer:
            info = {
                "who": who,
                "pid": os.getpid(),
                "command": Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python",
                "since": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            info_file.write_text(json.dumps(info) + "\n")
        yield
    finally:
        if outer:
            info_file.unlink(missing_ok=True)  # a data root at rest holds no trace of the last writer
        lock.release()
