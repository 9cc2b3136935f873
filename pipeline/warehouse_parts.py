"""The warehouse's Parquet parts: the immutable files the views of the thin ``warehouse.duckdb`` read.

Why parts: rebuilding ``warehouse.duckdb`` whole made the daily run write the whole history (2.3x the bytes at 10
years as at 1, and hundreds of MB once heart-rate samples are in). The relations of one row per segment or sample
now live in ``state/warehouse/<table>/<participant>/<period>-<id>.parquet``: copies of the tables' month files
(``sleep_segments``, ``heart_rate``), made again only when that month's file changed (its inode, mtime and size),
and the derived ``sleep_bouts``, written only when a period's bytes changed.
A period is a month of the data's last (open) year, else a whole closed year: DuckDB opens every file of a view on
every query: an aggregate of 10 years of bouts took 80 ms over 122 month files, 15 ms over one file;
a closed year's part is rewritten only when one of its months changes (a late fix, the first days of January).

Why copies, not hard links of ``tables/``: the SQL shell lets a user write the files the warehouse reads (DuckDB's
``allowed_paths`` allows writes too); a ``COPY ... TO`` without its temp file would write through a hard link into
the tables themselves. A copy keeps ``tables/`` out of any reader's reach and costs the changed months only.

Why generations: a reader keeps the warehouse file it opened (an old inode after a swap) and its views name parts
of that build; those parts must outlive later builds while the reader is open. Each build links its file as
``generations/<n>.duckdb`` with the list of its parts (``<n>.json``). A part is deleted only when no kept generation
lists it: the last ``KEEP_GENERATIONS`` are kept, and an older one as long as a process holds DuckDB's lock on it
(every DuckDB reader holds a shared POSIX lock on its file, tested with a non-blocking exclusive ``lockf``).
Limits: a reader in the builder's own process is invisible to that test (POSIX locks are per process), so it is
protected only by the last two generations.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import filelock
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.atomic import atomic_write_bytes
from pipeline.paths import StoragePaths
from pipeline.tables import _parquet_bytes

PARTS_DIR = (
    Path("state") / "warehouse"
)  # under the cohort root, next to warehouse.duckdb: the file's own data
GENERATIONS = "generations"
KEEP_GENERATIONS = 2


def parts_dir(paths: StoragePaths) -> Path:
    """Absolute: the warehouse's views name their parts by this path, and a data root given as a relative path
    (``FITBIT_SLEEP_HOME=data``) must name the same files from any working directory and in every build."""
    return (paths.warehouse_file.parent / PARTS_DIR).resolve()


@dataclass(frozen=True)
class Part:
    """One immutable Parquet file of the warehouse; ``key`` says what it holds (the source file's identity for a
    copy, the sha256 of its bytes for a written part) so a later build can reuse it."""

    table: str
    participant_id: str
    month: str
    path: str
    key: str
    bytes: int


def _digest(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()[:16]


def _identity(st: os.stat_result) -> str:
    """A tables file's identity: every write of one is a new inode (``pipeline.atomic``), so equal means same bytes."""
    return f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}"


def period_of(month: str, open_year: str) -> str:
    """The part a month belongs to: its own while its year is open (the data's last year), else its year's."""
    return month if month[:4] >= open_year else month[:4]


def _held_by_a_reader(path: Path) -> bool:
    """True when another process holds a POSIX lock on ``path`` (an open DuckDB connection)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also releases the probe's lock
    return False


def build_lock(paths: StoragePaths) -> filelock.FileLock:
    """One build at a time (two would delete each other's fresh parts); readers never take it."""
    root = parts_dir(paths)
    root.mkdir(parents=True, exist_ok=True)
    return filelock.FileLock(str(root / ".build.lock"))


class PartStore:
    """The parts of one build: reuses the parts of the warehouse in place, writes only what changed."""

    def __init__(self, paths: StoragePaths) -> None:
        self.root = parts_dir(paths)
        self.generations = self.root / GENERATIONS
        self.target = paths.warehouse_file
        self.parts: list[Part] = []
        self.bytes_written = 0
        self.written = 0
        self.reused = 0
        self._previous = {(p.table, p.participant_id, p.month): p for p in self._current_parts()}

    def _numbers(self) -> list[int]:
        if not self.generations.is_dir():
            return []
        return sorted(int(p.stem) for p in self.generations.glob("*.json") if p.stem.isdigit())

    def _listed(self, number: int) -> list[Part]:
        try:
            data = json.loads((self.generations / f"{number}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [Part(**item) for item in data["parts"]]

    def _current_parts(self) -> list[Part]:
        """The parts of the warehouse file in place (none when it was not built from parts)."""
        try:
            current = self.target.stat().st_ino
        except OSError:
            return []
        for number in reversed(self._numbers()):
            link = self.generations / f"{number}.duckdb"
            if link.exists() and link.stat().st_ino == current:
                return self._listed(number)
        return []

    def _reuse(self, table: str, participant_id: str, month: str, key: str) -> Part | None:
        old = self._previous.get((table, participant_id, month))
        if old is None or old.key != key:
            return None
        try:
            if os.stat(old.path).st_size != old.bytes:
                return None
        except OSError:
            return None
        self.reused += 1
        self.parts.append(old)
        return old

    def _add(self, table: str, participant_id: str, month: str, key: str, data: bytes) -> Part:
        name = f"{month or '_empty'}-{_digest(key)}.parquet"
        path = self.root / table / (participant_id or "_all") / name
        atomic_write_bytes(path, data)
        part = Part(table, participant_id, month, str(path), key, len(data))
        self.bytes_written += len(data)
        self.written += 1
        self.parts.append(part)
        return part

    def copy(self, table: str, participant_id: str, month: str, source: Path) -> Part:
        """The part holding ``source`` (a month file of ``tables/``), copied only when that file changed."""
        with source.open("rb") as handle:
            st = os.fstat(handle.fileno())
            key = _identity(st)
            found = self._reuse(table, participant_id, month, key)
            if found is not None:
                return found
            data = handle.read()
        return self._add(table, participant_id, month, key, data)

    def merge(self, table: str, participant_id: str, period: str, sources: list[Path]) -> Part:
        """One part holding ``sources`` (the month files of a closed year, in order), rewritten only when one of
        them changed: a decade reads as ~22 files per table instead of ~120 (DuckDB opens each file per query)."""
        if len(sources) == 1:
            return self.copy(table, participant_id, period, sources[0])
        key = ";".join(_identity(os.stat(s)) for s in sources)
        found = self._reuse(table, participant_id, period, key)
        if found is not None:
            return found
        merged = pa.concat_tables([pq.read_table(s) for s in sources], promote_options="default")
        return self._add(table, participant_id, period, key, _parquet_bytes(merged))

    def put(self, table: str, participant_id: str, month: str, data: bytes) -> Part:
        """The part holding ``data`` (Parquet bytes), written only when they differ from the part in place."""
        key = _digest(data)
        return self._reuse(table, participant_id, month, key) or self._add(
            table, participant_id, month, key, data
        )

    def publish(self, built: Path) -> None:
        """Swap ``built`` in as the warehouse, as generation n+1 listing this build's parts."""
        numbers = self._numbers()
        number = (numbers[-1] + 1) if numbers else 1
        listing = {"generation": number, "parts": [asdict(p) for p in self.parts]}
        atomic_write_bytes(self.generations / f"{number}.json", json.dumps(listing).encode())
        link = self.generations / f"{number}.duckdb"
        link.unlink(missing_ok=True)
        os.link(built, link)
        os.replace(built, self.target)

    def collect(self) -> list[Path]:
        """Delete the generations no reader holds (the newest ``KEEP_GENERATIONS`` always stay) and every part no
        remaining generation lists; returns the parts deleted."""
        numbers = self._numbers()
        kept = set(numbers[-KEEP_GENERATIONS:])
        for number in numbers:
            link = self.generations / f"{number}.duckdb"
            if number in kept or _held_by_a_reader(link):
                kept.add(number)
                continue
            link.unlink(missing_ok=True)
            (self.generations / f"{number}.json").unlink(missing_ok=True)
        # resolved: a generation written through another spelling of the root still protects its parts
        live = {Path(p.path).resolve() for number in kept for p in self._listed(number)}
        removed = []
        for path in self.root.glob("*/*/*.parquet"):
            if path.resolve() not in live and not path.name.startswith("."):
                path.unlink(missing_ok=True)
                removed.append(path)
        for directory in [*self.root.glob("*/*/"), *self.root.glob("*/")]:  # a participant or table gone
            if directory != self.generations and not any(directory.iterdir()):
                directory.rmdir()
        return removed
