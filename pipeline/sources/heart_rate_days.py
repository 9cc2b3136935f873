"""Heart-rate samples of many archive files gathered into local days: one data source per day, one document each.

Why columnar: a day holds 10,000-86,400 samples and a year ~25 million, so the samples travel as Arrow arrays
(UTC seconds, bpm, data source, file) from the file to the day's document; no Python object is made per sample until
the day's ``dataset`` is written for the landing. Memory holds the days not yet complete (about two days).

The rules (``docs/physiology-archives.md``):
- A sample's day is the LOCAL date of its UTC instant in the history's zone; its ``time`` is the local
  ``HH:mm:ss`` (on the night clocks go back, the repeated hour appears twice, in time order, as the API does).
- A file named for date F (a legacy file holds one local day, a Google-era file one UTC day) can hold samples of
  local days F-1 .. F+1, so once the file of date F is read, every local day before F is complete and is emitted.
  A sample that arrives for a day already emitted (a file out of place) is dropped and counted (``strays``).
- One data source per day, never a sum: the source with the most samples that day wins (a wrist device sampling
  every few seconds beats a phone's spot checks), ties to the first name in sort order; the other sources' samples
  are counted (``other_source_samples``), not landed.
- Two samples of the chosen source in the same second: the first read is kept (``duplicates``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.physiology_landing import HEART_RATE_INTRADAY
from pipeline.sources import physiology_shapes as shapes

# What a reader hands over: UTC instants (whole seconds), bpm, data source ("" when the file names none).
SAMPLES_SCHEMA = pa.schema(
    [("utc", pa.timestamp("s", tz="UTC")), ("bpm", pa.int16()), ("source", pa.string())]
)


def samples_table(utc: pa.Array, bpm: pa.Array, source: pa.Array | str = "") -> pa.Table:
    """The readers' common table (rows with a null instant or bpm are dropped by ``HeartRateDays.add``)."""
    if isinstance(source, str):
        source = pa.array([source] * len(utc), pa.string())
    return pa.table(
        {
            "utc": utc.cast(pa.timestamp("s", tz="UTC")),
            "bpm": pc.round(bpm.cast(pa.float64())).cast(pa.int16(), safe=False),
            "source": pc.fill_null(source.cast(pa.string()), ""),
        },
        schema=SAMPLES_SCHEMA,
    )


@dataclass
class HeartRateCounts:
    samples: int = 0  # samples landed
    days: int = 0  # day documents emitted
    other_source_samples: int = 0  # samples of a source that lost its day
    duplicates: int = 0  # second samples of the same second
    strays: int = 0  # samples for a day already emitted
    unreadable: int = 0  # rows without a readable instant or bpm


class HeartRateDays:
    """Feed it each file's samples in file-date order (``add``); take the complete days (``complete`` / ``finish``)."""

    def __init__(self, zone: str, family: str) -> None:
        self.zone = zone
        self.family = family
        self.counts = HeartRateCounts()
        self._pending: list[pa.Table] = []
        self._emitted_before: date | None = None  # every day before it has been emitted

    def add(self, table: pa.Table, file: str) -> None:
        """Queue one file's samples (``SAMPLES_SCHEMA``) under its local days."""
        valid = pc.and_(pc.is_valid(table["utc"]), pc.is_valid(table["bpm"]))
        self.counts.unreadable += len(table) - pc.sum(valid.cast(pa.int64())).as_py() if len(table) else 0
        table = table.filter(valid)
        local = pc.local_timestamp(table["utc"].cast(pa.timestamp("s", tz=self.zone)))
        days = local.cast(pa.date32())
        table = table.append_column("local", local).append_column("day", days)
        table = table.append_column("file", pa.array([file] * len(table), pa.string()))
        if self._emitted_before is not None and len(table):
            late = pc.less(table["day"], pa.scalar(self._emitted_before, pa.date32()))
            self.counts.strays += pc.sum(late.cast(pa.int64())).as_py()
            table = table.filter(pc.invert(late))
        if len(table):
            self._pending.append(table)

    def complete(self, before: date) -> Iterator[shapes.DayDocument]:
        """The documents of every queued day before ``before`` (call it with the date of the file just read)."""
        if self._emitted_before is None or before > self._emitted_before:
            self._emitted_before = before
        if not self._pending:
            return
        table = pa.concat_tables(self._pending)
        done_mask = pc.less(table["day"], pa.scalar(before, pa.date32()))
        rest = table.filter(pc.invert(done_mask))
        self._pending = [rest] if len(rest) else []
        yield from self._documents(table.filter(done_mask))

    def finish(self) -> Iterator[shapes.DayDocument]:
        """The documents of every day still queued (after the last file)."""
        yield from self.complete(date.max - timedelta(days=1))

    def _documents(self, table: pa.Table) -> Iterator[shapes.DayDocument]:
        if not len(table):
            return
        table = table.sort_by([("day", "ascending"), ("utc", "ascending")])
        days = table["day"].to_numpy()
        starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
        ends = np.r_[starts[1:], len(days)]
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            yield self._day_document(table.slice(start, end - start))

    def _day_document(self, day_rows: pa.Table) -> shapes.DayDocument:
        day: date = day_rows["day"][0].as_py()
        source = choose_source(day_rows)
        chosen = day_rows.filter(pc.equal(day_rows["source"], pa.scalar(source, pa.string())))
        self.counts.other_source_samples += len(day_rows) - len(chosen)
        utc = chosen["utc"].cast(pa.int64()).to_numpy()
        _, first = np.unique(utc, return_index=True)  # sorted by utc already: the first of a second is kept
        if len(first) != len(chosen):
            self.counts.duplicates += len(chosen) - len(first)
            chosen = chosen.take(pa.array(np.sort(first)))
        times = _clock_times(chosen["local"])
        document = shapes.heart_rate_intraday(day, times, chosen["bpm"].to_pylist())
        files = sorted(set(chosen["file"].unique().to_pylist()))
        provenance: dict[str, object] = {"source_family": self.family, "file": ", ".join(files)}
        if source:
            provenance["data_source"] = source
        self.counts.samples += len(chosen)
        self.counts.days += 1
        return shapes.DayDocument(HEART_RATE_INTRADAY, day, document, provenance, samples=len(chosen))


@functools.cache
def _clock() -> np.ndarray:
    """``"HH:MM:SS"`` for each second of a day (a lookup is ~20x faster than ``strftime`` on 86,400 samples)."""
    return np.array(
        [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)], dtype=object
    )


def _clock_times(local: pa.ChunkedArray) -> list[str]:
    seconds = local.cast(pa.int64()).to_numpy() % 86_400
    times: list[str] = _clock()[seconds].tolist()
    return times


def choose_source(day_rows: pa.Table) -> str:
    """The data source of one day's samples: the most samples, ties to the first name in sort order."""
    counts = day_rows.group_by("source").aggregate([("source", "count")]).to_pylist()
    best = min(counts, key=lambda row: (-row["source_count"], row["source"]))
    return str(best["source"])
