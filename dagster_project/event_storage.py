"""Dagster's SQLite event log, with its connections kept open: what the instance in ``dagster.yaml`` stores events in.

Why: the stock ``SqliteEventLogStorage`` builds a new engine and opens a new connection for every event, and
closing the last connection of a WAL database checkpoints and fsyncs it. A 100-day run writes ~450 events (one
materialization and one planned event per partition and asset, check results, step events), each written once to
the run's file and, for asset events, again to the index: on a 2-core VM that was 120-130 ms an event and most of a
backfill's wall time (bench/bench_backfill.py). Here each database file keeps one open connection (few files, least
recently used closed first) with ``synchronous=NORMAL``, which in WAL mode syncs at checkpoints instead of at every
commit: a power cut can lose the last events, never corrupt the file. Same files, same schema, same tables: the
webserver, the daemon and the CLI read and write them together, and an instance without this class reads them too.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from dagster import Field, StringSource
from dagster._core.events import ASSET_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData, serialize_value
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool, StaticPool

# Dagster hands a run's planned events and a range run's per-partition materializations to ``store_event_batch``
# only when this variable is set; processes that write events set it (``enable_event_batches``).
BATCH_ENV = "DAGSTER_EVENT_BATCH_SIZE"
BATCH_SIZE = "200"
OPEN_FILES = 8  # the index and the runs being written or watched; a backfill writes one run at a time


# Dagster's switch for one planned event per asset and run (with the run's partition range) instead of one per
# partition. The price, in Dagster's words: a failed run's partitions are not marked failed (they stay missing).
PLANNED_SUBSET_ENV = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


def enable_event_batches(env: Any = os.environ, *, one_planned_event_per_asset: bool = False) -> None:
    """Let Dagster batch asset events in this process (and in the processes it starts with ``env``); with
    ``one_planned_event_per_asset`` (the CLI backfill, which reports a failed run itself) a 100-day run plans its
    assets in 2 events instead of 200."""
    env.setdefault(BATCH_ENV, BATCH_SIZE)
    if one_planned_event_per_asset:
        env.setdefault(PLANNED_SUBSET_ENV, "1")


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def _asset_and_kind(entry: EventLogEntry) -> tuple[Any, Any]:
    event = entry.dagster_event
    return (event.asset_key, event.event_type_value) if event else (None, None)


class KeptOpenSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` whose connections stay open between events (see the module docstring)."""

    def __init__(self, base_dir: str | None = None, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._tables_present: set[str] = set()  # index tables seen (a table, once made, is never dropped)
        self._empty_run_file: bytes | None = (
            None  # a new run's database as Dagster creates it (_create_or_check)
        )
        home = os.environ.get("DAGSTER_HOME") or "."
        super().__init__(base_dir or os.path.join(home, "history", "runs"), inst_data=inst_data)

    @classmethod
    def config_type(cls) -> Any:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> KeptOpenSqliteEventLogStorage:
        return cls(inst_data=inst_data, **dict(config_value or {}))

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=StaticPool,  # one connection per file; every use holds the storage's lock
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            event.listen(engine, "connect", _pragmas)
            while len(self._engines) >= OPEN_FILES:
                self._engines.popitem(last=False)[1].dispose()
        self._engines[shard] = engine  # most recently used last
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._create_or_check(shard)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """A batch of asset events (a run's planned events, a range run's per-partition materializations) in one
        transaction per file instead of two per event; the rows are the ones ``store_event`` writes. Dagster sends
        batches only when ``DAGSTER_EVENT_BATCH_SIZE`` is set (``BATCH_ENV``)."""
        pending: list[EventLogEntry] = []
        for entry in events:
            batchable = entry.is_dagster_event and entry.dagster_event_type in ASSET_EVENTS
            if batchable and (not pending or pending[0].run_id == entry.run_id):
                pending.append(entry)
                continue
            self._store_asset_events(pending)
            pending = [entry] if batchable else []
            if not batchable:
                self.store_event(entry)
        self._store_asset_events(pending)

    def _store_asset_events(self, events: Sequence[EventLogEntry]) -> None:
        """The rows stock ``store_event`` writes for each event, written per statement rather than per event: each
        event serialized once for both files (stock serialized it per file, the largest cost of an event), the run
        file's and the index's rows as one ``executemany`` each (the index's ids come back in order with
        RETURNING), the tag rows as one, and the asset's row once per run of one asset and kind."""
        if not events:
            return
        rows = [self._event_to_row(entry) for entry in events]
        with self.run_connection(events[0].run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        returning = SqlEventLogStorageTable.insert().returning(
            SqlEventLogStorageTable.c.id, sort_by_parameter_order=True
        )
        with self.index_transaction() as conn:
            event_ids = [int(row[0]) for row in conn.execute(returning, rows)]
            self._store_asset_event_tags(conn, events, event_ids)
            for position, (entry, event_id) in enumerate(zip(events, event_ids, strict=True)):
                # the asset's row holds its latest event of a kind: each write overwrites the same columns, so in a
                # run of events of one asset and kind (a range run's 100 materializations) only the last one counts
                following = events[position + 1] if position + 1 < len(events) else None
                if following is None or _asset_and_kind(following) != _asset_and_kind(entry):
                    self._store_asset_event(conn, entry, event_id)

    def has_table(self, table_name: str) -> bool:
        """Whether the index has ``table_name``, remembered once true: the
        stock method built a new engine and connection for every asset event's tag write (~7% of a no-op backfill).
        Asked on a connection of its own, as stock does: callers hold the kept-open one (and its lock)."""
        if table_name not in self._tables_present and super().has_table(table_name):
            self._tables_present.add(table_name)
        return table_name in self._tables_present

    def _store_asset_check_evaluation_planned(self, event: EventLogEntry, event_id: int | None) -> None:
        """The rows Dagster writes for a planned check (one per partition of the run), with the event serialized
        once instead of once per partition and inserted as one ``executemany``: a 100-day run plans each check for
        100 partitions, and the stock method spent ~13% of a no-op backfill serializing the same event again."""
        planned: Any = event.dagster_event.event_specific_data if event.dagster_event else None
        subset = planned.partitions_subset
        keys: list[str | None] = list(subset.get_partition_keys()) if subset else [None]
        common = {
            "asset_key": planned.asset_key.to_string(),
            "check_name": planned.check_name,
            "run_id": event.run_id,
            "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
            "evaluation_event": serialize_value(event),
            "evaluation_event_timestamp": self._event_insert_timestamp(event),
            "evaluation_event_storage_id": event_id,
        }
        with self.index_connection() as conn:
            conn.execute(AssetCheckExecutionsTable.insert(), [{**common, "partition": key} for key in keys])

    def _create_or_check(self, shard: str) -> None:
        """Dagster's schema set-up of a database file, except that a new run's file is a copy of the first one this
        process created: the set-up reads every alembic revision script (about a second a run on a busy 2-core
        machine), and a new run's file is always the same empty, stamped schema."""
        path = self.path_for_shard(shard)
        if shard != INDEX_SHARD_NAME and self._empty_run_file is not None and not os.path.exists(path):
            part = f"{path}.{os.getpid()}.part"
            with open(part, "wb") as handle:
                handle.write(self._empty_run_file)
            try:
                os.link(part, path)  # never replaces a file another process created meanwhile
                return
            except FileExistsError:
                pass
            finally:
                os.unlink(part)
        is_new = not os.path.exists(path)
        # Dagster's set-up opens connections of its own inside its own: give it a stock engine.
        setup = create_engine(
            self.conn_string_for_shard(shard),
            poolclass=NullPool,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        )
        self._initdb(setup)
        setup.dispose()  # the last connection closes: the file is checkpointed, complete on its own
        if is_new and shard != INDEX_SHARD_NAME and self._empty_run_file is None:
            with open(path, "rb") as handle:
                self._empty_run_file = handle.read()

    def _close_all(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._close_all()  # the run files are deleted: no connection may keep them alive
        super().wipe()

    def delete_events(self, run_id: str) -> None:
        super().delete_events(run_id)
        with self._db_lock:
            engine = self._engines.pop(run_id, None)
            if engine is not None:
                engine.dispose()

    def dispose(self) -> None:
        self._close_all()
        super().dispose()
