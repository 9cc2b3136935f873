"""A reader of the warehouse in another process, the kind a build must never block or break: it opens ONE read-only
connection (``connect_readonly``) and runs the query given on it at start and each time it is asked again."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCRIPT = """
import sys
from pathlib import Path
from pipeline.paths import StoragePaths
from pipeline.warehouse import connect_readonly
con = connect_readonly(StoragePaths(Path(sys.argv[1])))
def answer():
    print(" ".join(str(v) for v in con.execute(sys.argv[2]).fetchall()[0]), flush=True)
answer()
for line in sys.stdin:          # one answer per line received, on the same (old) connection
    answer()
"""


class Reader:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None and process.stdin is not None
        self.process, self.stdin, self.stdout = process, process.stdin, process.stdout
        self.first = self.stdout.readline().split()  # the answer when it opened the warehouse

    def again(self) -> list[str]:
        """The query's answer now, on the connection opened at start."""
        self.stdin.write("again\n")
        self.stdin.flush()
        return self.stdout.readline().split()


@contextmanager
def warehouse_reader(root: Path, query: str) -> Iterator[Reader]:
    """A reader process on the warehouse of data root ``root``; it must exit cleanly when the test is done."""
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(root), query],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    try:
        yield Reader(process)
    finally:
        if process.stdin:
            process.stdin.close()
        process.wait(timeout=30)
    assert process.returncode == 0
