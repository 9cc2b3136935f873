"""The instance's event log (dagster_project/event_storage.py) keeps Dagster's files readable by stock Dagster.

Why it matters: the CLI, the daemon's run workers and the webserver share DAGSTER_HOME; the kept-open connections,
the batched asset events and the one planned event per asset must leave the same partition status, check results
and run history that Dagster's own SQLite storage reads.
"""

import os
from pathlib import Path

import pytest
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetKey,
    BackfillPolicy,
    DagsterInstance,
    DailyPartitionsDefinition,
    DataVersion,
    Definitions,
    Failure,
    MaterializeResult,
    asset,
    define_asset_job,
    in_process_executor,
    multi_asset_check,
)
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.noop_compute_log_manager import NoOpComputeLogManager

from dagster_project.backfill import cli_instance
from dagster_project.devserver import install_instance_config
from dagster_project.event_storage import BATCH_ENV, PLANNED_SUBSET_ENV, KeptOpenSqliteEventLogStorage

DAYS = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-03-01")
RANGE = {
    "dagster/asset_partition_range_start": "2024-01-01",
    "dagster/asset_partition_range_end": "2024-01-10",
}


@asset(partitions_def=DAYS, backfill_policy=BackfillPolicy.multi_run(100))
def landed() -> MaterializeResult:
    if os.environ.get("TEST_EVENT_STORAGE_FAIL"):
        raise Failure("boom")
    return MaterializeResult(metadata={"run_days": 10})


@multi_asset_check(specs=[AssetCheckSpec("complete", asset=landed)])
def landed_checks() -> AssetCheckResult:
    return AssetCheckResult(asset_key=landed.key, check_name="complete", passed=True)


JOB = "landed_job"
DEFS = Definitions(
    assets=[landed],
    asset_checks=[landed_checks],
    jobs=[define_asset_job(JOB, selection=[landed])],
    executor=in_process_executor,
)


def _stock_reader(dagster_home: Path, tmp_path: Path) -> DagsterInstance:
    """An instance on the same files through Dagster's own SQLite event log."""
    plain_home = tmp_path / "stock"
    plain_home.mkdir()
    (plain_home / "dagster.yaml").write_text(
        "event_log_storage:\n  module: dagster._core.storage.event_log\n  class: SqliteEventLogStorage\n"
        f"  config:\n    base_dir: {dagster_home / 'history' / 'runs'}\n"
        f"run_storage:\n  module: dagster._core.storage.runs\n  class: SqliteRunStorage\n"
        f"  config:\n    base_dir: {dagster_home / 'history'}\n"
    )
    from dagster._core.instance.ref import InstanceRef

    return DagsterInstance.from_ref(InstanceRef.from_dir(str(plain_home)))


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    install_instance_config(home)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    for name in (
        BATCH_ENV,
        PLANNED_SUBSET_ENV,
    ):  # cli_instance sets them for its process; undone after the test
        monkeypatch.setenv(name, os.environ.get(name, ""))
        monkeypatch.delenv(name)
    return home


def test_cli_runs_leave_the_partition_status_and_checks_stock_dagster_reads(
    dagster_home: Path, tmp_path: Path
) -> None:
    with cli_instance() as instance:
        assert isinstance(instance.event_log_storage, KeptOpenSqliteEventLogStorage)
        assert isinstance(
            instance.compute_log_manager, NoOpComputeLogManager
        )  # no tail/watch_orphans per step
        assert os.environ[BATCH_ENV] and os.environ[PLANNED_SUBSET_ENV] == "1"
        result = DEFS.resolve_job_def(JOB).execute_in_process(instance=instance, tags=RANGE)
        assert result.success
        run_id = result.run_id
        planned = [
            e
            for e in instance.all_logs(run_id)
            if e.dagster_event_type.value == "ASSET_MATERIALIZATION_PLANNED"
        ]
        assert len(planned) == 1  # one for the asset's 10 partitions, not ten
    with _stock_reader(dagster_home, tmp_path) as stock:
        assert type(stock.event_log_storage) is SqliteEventLogStorage
        assert stock.get_materialized_partitions(AssetKey("landed")) == {
            f"2024-01-{d:02d}" for d in range(1, 11)
        }
        materializations = [
            e for e in stock.all_logs(run_id) if e.dagster_event_type.value == "ASSET_MATERIALIZATION"
        ]
        assert len(materializations) == 10
        check = stock.event_log_storage.get_latest_asset_check_execution_by_key(
            list(landed_checks.check_keys)
        )
        assert [record.status.value for record in check.values()] == ["SUCCEEDED"]


def test_a_failed_cli_run_is_a_failed_run_and_leaves_its_partitions_unmaterialized(
    dagster_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_EVENT_STORAGE_FAIL", "1")
    with cli_instance() as instance:
        result = DEFS.resolve_job_def(JOB).execute_in_process(
            instance=instance, tags=RANGE, raise_on_error=False
        )
    assert not result.success
    with _stock_reader(dagster_home, tmp_path) as stock:
        run = stock.get_run_by_id(result.run_id)
        assert run is not None and run.status.value == "FAILURE"
        assert stock.get_materialized_partitions(AssetKey("landed")) == set()


def test_many_runs_reuse_a_few_open_files(dagster_home: Path, tmp_path: Path) -> None:
    """The storage keeps at most OPEN_FILES databases open, closing the least recently used; every run's file after
    the first is a copy of the first's empty schema, and stock Dagster reads them all."""
    from dagster_project.event_storage import OPEN_FILES

    with cli_instance() as instance:
        for _ in range(OPEN_FILES + 2):
            assert DEFS.resolve_job_def(JOB).execute_in_process(instance=instance, tags=RANGE).success
        storage = instance.event_log_storage
        assert isinstance(storage, KeptOpenSqliteEventLogStorage)
        assert len(storage._engines) <= OPEN_FILES  # noqa: SLF001
        assert len(instance.get_runs()) == OPEN_FILES + 2
    run_ids = [run.run_id for run in instance.get_runs()]
    with _stock_reader(dagster_home, tmp_path) as stock:
        for run_id in run_ids:
            types = [e.dagster_event_type.value for e in stock.all_logs(run_id) if e.dagster_event_type]
            assert types[-1] == "PIPELINE_SUCCESS" and types.count("ASSET_MATERIALIZATION") == 10


def test_an_instance_opened_by_path_keeps_its_events_in_its_own_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opened by path with no DAGSTER_HOME set, from another working directory, the instance still writes its event
    log under its own home (the installed dagster.yaml names it), never into the working directory."""
    home = tmp_path / "dagster_home"
    install_instance_config(home)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(elsewhere)
    with DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, KeptOpenSqliteEventLogStorage)
        assert Path(storage._base_dir).resolve() == (home / "history" / "runs").resolve()
    assert not (elsewhere / "history").exists()


def _check_rows(home: Path) -> list[tuple[str, str, str | None, str]]:
    import sqlite3

    with sqlite3.connect(home / "history" / "runs" / "index.db") as db:
        rows = db.execute(
            "SELECT asset_key, check_name, partition, execution_status FROM asset_check_executions"
        ).fetchall()
    return sorted(rows, key=lambda row: tuple("" if v is None else str(v) for v in row))


def test_planned_checks_are_the_rows_stock_dagster_writes(dagster_home: Path, tmp_path: Path) -> None:
    """The planned-check rows (one per partition of the run, the event serialized once) equal stock Dagster's for
    the same run, and stock Dagster reads the event back from each."""
    with cli_instance() as instance:
        assert DEFS.resolve_job_def(JOB).execute_in_process(instance=instance, tags=RANGE).success
    stock_home = tmp_path / "stock_home"
    stock_home.mkdir()
    (stock_home / "dagster.yaml").write_text(
        "event_log_storage:\n  module: dagster._core.storage.event_log\n  class: SqliteEventLogStorage\n"
        f"  config:\n    base_dir: {stock_home / 'history' / 'runs'}\n"
    )
    os.environ[PLANNED_SUBSET_ENV] = (
        "1"  # the same one planned event per asset and check (undone by the fixture)
    )
    with DagsterInstance.from_config(str(stock_home)) as stock:
        assert DEFS.resolve_job_def(JOB).execute_in_process(instance=stock, tags=RANGE).success
    ours, theirs = _check_rows(dagster_home), _check_rows(stock_home)
    assert ours == theirs
    planned = [row[2] for row in ours if row[3] == "PLANNED"]
    assert planned == [f"2024-01-{d:02d}" for d in range(1, 11)]
    with _stock_reader(dagster_home, tmp_path) as reader:
        records = reader.event_log_storage.get_asset_check_execution_history(
            next(iter(landed_checks.check_keys)), limit=20
        )
        assert len(records) == len(ours) and all(r.event is not None for r in records)


def test_the_asset_row_names_the_last_materialization_of_a_batch(dagster_home: Path, tmp_path: Path) -> None:
    """A range run's materializations are stored as one batch and the asset's row written once, for the last of
    them: stock Dagster reads the same latest materialization as if each had been written in turn."""
    with cli_instance() as instance:
        result = DEFS.resolve_job_def(JOB).execute_in_process(instance=instance, tags=RANGE)
    with _stock_reader(dagster_home, tmp_path) as stock:
        [record] = stock.get_asset_records([AssetKey("landed")])
        entry = record.asset_entry
        assert entry.last_run_id == result.run_id
        assert entry.last_materialization is not None
        assert entry.last_materialization.dagster_event is not None
        assert entry.last_materialization.dagster_event.partition == "2024-01-10"
        partitions = [
            e.dagster_event.partition
            for e in stock.all_logs(result.run_id)
            if e.dagster_event and e.dagster_event_type.value == "ASSET_MATERIALIZATION"
        ]
        assert partitions[-1] == "2024-01-10" and len(partitions) == 10


@asset(partitions_def=DAYS, backfill_policy=BackfillPolicy.multi_run(100))
def versioned() -> MaterializeResult:
    return MaterializeResult(metadata={"run_days": 10}, data_version=DataVersion("v1"))


@asset(partitions_def=DAYS, backfill_policy=BackfillPolicy.multi_run(100), deps=[versioned])
def downstream() -> MaterializeResult:
    return MaterializeResult(metadata={"run_days": 10})


VERSIONED_DEFS = Definitions(
    assets=[versioned, downstream],
    jobs=[define_asset_job(JOB, selection=[versioned, downstream])],
    executor=in_process_executor,
)


def _event_rows(home: Path) -> dict[str, list[tuple[object, ...]]]:
    """Each file's event rows (type, step, asset, partition, the event's own type), the index's tag rows (asset,
    key, value, and the partition of the event they point to), in insertion order; run ids and times left out."""
    import sqlite3

    from dagster._serdes import deserialize_value

    def rows(db: sqlite3.Connection) -> list[tuple[object, ...]]:
        out = []
        for kind, step, asset_key, partition, event in db.execute(
            "SELECT dagster_event_type, step_key, asset_key, partition, event FROM event_logs ORDER BY id"
        ):
            entry = deserialize_value(event)
            out.append((kind, step, asset_key, partition, entry.dagster_event_type))
        return out

    runs = home / "history" / "runs"
    with sqlite3.connect(runs / "index.db") as index:
        found = {
            "index": rows(index),
            "tags": index.execute(
                "SELECT t.asset_key, t.key, t.value, e.partition, e.asset_key FROM asset_event_tags t "
                "JOIN event_logs e ON e.id = t.event_id ORDER BY t.id"
            ).fetchall(),
        }
    [run_file] = [p for p in runs.glob("*.db") if p.name != "index.db"]
    with sqlite3.connect(run_file) as run:
        found["run"] = rows(run)
    return found


def test_batched_asset_events_are_the_rows_stock_dagster_writes(dagster_home: Path, tmp_path: Path) -> None:
    """A range run's materializations (with data-version tags) go in as a few statements; the run file's rows, the
    index's rows and the index's tag rows (each pointing at its own event) equal stock Dagster's for the same run."""
    with cli_instance() as instance:
        job = VERSIONED_DEFS.resolve_job_def(JOB)
        assert job.execute_in_process(instance=instance, tags=RANGE).success
    stock_home = tmp_path / "stock_home"
    stock_home.mkdir()
    (stock_home / "dagster.yaml").write_text(
        "event_log_storage:\n  module: dagster._core.storage.event_log\n  class: SqliteEventLogStorage\n"
        f"  config:\n    base_dir: {stock_home / 'history' / 'runs'}\n"
    )
    os.environ[PLANNED_SUBSET_ENV] = "1"  # the same one planned event per asset (undone by the fixture)
    with DagsterInstance.from_config(str(stock_home)) as stock:
        assert VERSIONED_DEFS.resolve_job_def(JOB).execute_in_process(instance=stock, tags=RANGE).success
    ours, theirs = _event_rows(dagster_home), _event_rows(stock_home)
    materialized = [r for r in ours["index"] if r[0] == "ASSET_MATERIALIZATION"]
    assert len(materialized) == 20  # 10 days x 2 assets
    assert any(key == "dagster/data_version" for _, key, *_ in ours["tags"])
    for tag in ours["tags"]:
        assert tag[0] == tag[4] and tag[3] is not None  # each tag row points at its own asset's event

    # a data version Dagster derives (the downstream asset: no version of its own) hashes the run id: left out
    def stable(tags: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
        return [t if t[0] == '["versioned"]' else (*t[:2], None, *t[3:]) for t in tags]

    assert stable(ours["tags"]) == stable(theirs["tags"])
    assert {t[2] for t in ours["tags"] if t[0] == '["versioned"]' and t[1] == "dagster/data_version"} == {
        "v1"
    }
    assert ours["index"] == theirs["index"]
    # the run file holds the same events; stock's may order a step's events differently only where ours batched
    assert sorted(map(str, ours["run"])) == sorted(map(str, theirs["run"]))
