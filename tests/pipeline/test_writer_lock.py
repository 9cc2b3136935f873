"""One writer at a time on a data root: a second process waits, says for whom, and gets the lock when it is free."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from pipeline.paths import StoragePaths
from pipeline.writer_lock import writer_lock

HOLD = """
import sys, time
from pathlib import Path
from pipeline.paths import StoragePaths
from pipeline.writer_lock import writer_lock
with writer_lock(StoragePaths(Path(sys.argv[1])), "importing MyFitbitData.zip"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder(root: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(root), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_waits_and_says_what_it_waits_for(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    proc = _holder(tmp_path, 2.0)
    notes: list[str] = []
    started = time.monotonic()
    with writer_lock(paths, "landing 2026-01-01..2026-01-31", on_wait=notes.append):
        waited = time.monotonic() - started
    proc.wait(timeout=30)
    assert waited >= 1.0, "the second writer did not wait"
    assert len(notes) == 1
    assert notes[0].startswith(
        "landing 2026-01-01..2026-01-31: waiting for the data root's writer lock, held by "
    )
    assert f"importing MyFitbitData.zip (pid {proc.pid}," in notes[0]


def test_a_killed_holder_frees_the_lock(tmp_path: Path) -> None:
    proc = _holder(tmp_path, 600)
    proc.kill()
    proc.wait(timeout=30)
    started = time.monotonic()
    with writer_lock(StoragePaths(tmp_path), "updating the tables"):
        assert time.monotonic() - started < 5


def test_the_lock_is_reentrant_within_a_process(tmp_path: Path) -> None:
    paths = StoragePaths(tmp_path)
    with writer_lock(paths, "importing"), writer_lock(paths, "updating the tables"):
        pass
