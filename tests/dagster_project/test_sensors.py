"""The imports drop-folder sensor and the import asset, the token-health sensor, and loading the code location."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from dagster import DagsterInstance, build_sensor_context

from dagster_project.resources import StorageResource
from fitbit_sandbox.export import export_history
from pipeline.checks import tables_connection
from pipeline.paths import StoragePaths
from pipeline.warehouse import count_nights
from tests.clock import TEST_TODAY
from tests.dagster_project.dagster_helpers import project_defs, table_rows

REPO_ROOT = Path(__file__).resolve().parents[2]


def _tick(defs: object, name: str, home: Path, instance: DagsterInstance, cursor: str | None) -> object:
    sensor = defs.resolve_sensor_def(name)  # type: ignore[attr-defined]
    context = build_sensor_context(
        instance=instance, cursor=cursor, resources={"storage": StorageResource(root=str(home))}
    )
    return sensor.evaluate_tick(context)


def test_a_dropped_archive_is_imported_once_after_it_settles_and_again_when_replaced(tmp_path: Path) -> None:
    home = tmp_path / "home"
    defs = project_defs(home)
    imports = home / "imports"
    imports.mkdir(parents=True)
    archive = imports / "MyFitbitData.zip"
    export_history(archive, days=60, today=TEST_TODAY - timedelta(days=1))
    (imports / "MyFitbitData2.zip.part").write_bytes(b"still downloading")
    with DagsterInstance.ephemeral() as instance:
        first = _tick(defs, "imports_drop_folder", home, instance, None)
        assert not first.run_requests  # type: ignore[attr-defined]  # seen once: wait until it stops changing
        second = _tick(defs, "imports_drop_folder", home, instance, first.cursor)  # type: ignore[attr-defined]
        (request,) = second.run_requests  # type: ignore[attr-defined]
        assert request.run_config["ops"]["archive_import"]["config"]["path"] == str(archive)
        assert request.run_key.startswith("MyFitbitData.zip:")
        third = _tick(defs, "imports_drop_folder", home, instance, second.cursor)  # type: ignore[attr-defined]
        assert not third.run_requests  # type: ignore[attr-defined]

        # the run the sensor asked for imports the archive and records the partitions it filled
        result = defs.resolve_job_def("archive_import_job").execute_in_process(  # type: ignore[attr-defined]
            instance=instance, run_config=request.run_config
        )
        assert result.success
        ids = [row[0] for row in table_rows(home, "sleep_logs")]
        assert ids and len(ids) == len(set(ids))
        recorded = instance.get_materialized_partitions(defs.resolve_assets_def("sleep_tables").key)  # type: ignore[attr-defined]
        assert len(recorded) >= 55
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        assert checks["log_id_unique"] and checks["log_in_one_night"] and checks["no_overlapping_logs"]
        assert checks["landed_logs_in_tables"]
        # the asset metadata counts nights, main sleeps and naps with sql/queries/counts.sql, like every summary
        [own] = [
            m
            for m in result.asset_materializations_for_node("archive_import")
            if m.asset_key.path == ["archive_import"]
        ]
        metadata = own.metadata
        with tables_connection(StoragePaths(home)) as con:
            counts = count_nights(con)
        assert {k: metadata[f"tables_{k}"].value for k in counts} == counts and counts["nights"] > 0

        # a replaced archive (new size/mtime) is imported again, after settling
        export_history(archive, days=90, today=TEST_TODAY - timedelta(days=1))
        os.utime(archive, (1, 1))
        fourth = _tick(defs, "imports_drop_folder", home, instance, third.cursor)  # type: ignore[attr-defined]
        fifth = _tick(defs, "imports_drop_folder", home, instance, fourth.cursor)  # type: ignore[attr-defined]
        assert not fourth.run_requests and len(fifth.run_requests) == 1  # type: ignore[attr-defined]


def test_an_archive_imported_outside_this_instance_is_not_imported_again(tmp_path: Path) -> None:
    """`make demo` imports imports/demo-archive.zip itself; `make dev`'s first ticks (a new cursor) must skip it,
    and pick it up once it changes."""
    from pipeline.paths import StoragePaths
    from pipeline.sources.fitbit_export.importer import import_archive

    home = tmp_path / "home"
    defs = project_defs(home)
    archive = home / "imports" / "demo-archive.zip"
    export_history(archive, days=20, today=TEST_TODAY - timedelta(days=1))
    import_archive(StoragePaths(home), archive)
    with DagsterInstance.ephemeral() as instance:
        first = _tick(defs, "imports_drop_folder", home, instance, None)
        second = _tick(defs, "imports_drop_folder", home, instance, first.cursor)  # type: ignore[attr-defined]
        assert not first.run_requests and not second.run_requests  # type: ignore[attr-defined]
        os.utime(archive, (2, 2))  # the same name, changed: imported again after it settles
        third = _tick(defs, "imports_drop_folder", home, instance, second.cursor)  # type: ignore[attr-defined]
        fourth = _tick(defs, "imports_drop_folder", home, instance, third.cursor)  # type: ignore[attr-defined]
        assert not third.run_requests and len(fourth.run_requests) == 1  # type: ignore[attr-defined]


def test_token_health_sensor_runs_the_check_when_the_login_turns_unhealthy(tmp_path: Path) -> None:
    home = tmp_path / "home"
    defs = project_defs(home)
    with DagsterInstance.ephemeral() as instance:
        first = _tick(defs, "token_health_sensor", home, instance, None)
        (request,) = first.run_requests  # type: ignore[attr-defined]  # nobody logged in: warn once
        assert "problem" not in str(request.tags)
        second = _tick(defs, "token_health_sensor", home, instance, first.cursor)  # type: ignore[attr-defined]
        assert not second.run_requests  # type: ignore[attr-defined]  # same state: no new run
    assert defs.resolve_sensor_def("token_health_sensor").default_status.value == "RUNNING"


def test_dagster_definitions_validate_passes_from_the_repo_root(tmp_path: Path) -> None:
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "FITBIT_SLEEP_HOME": str(tmp_path / "data")}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All code locations passed validation" in done.stdout + done.stderr


def test_the_zips_of_a_split_takeout_dropped_side_by_side_are_imported_together(tmp_path: Path) -> None:
    from fitbit_sandbox.takeout2026 import export_takeout_history

    home = tmp_path / "home"
    defs = project_defs(home)
    imports = home / "imports"
    takeout = export_takeout_history(
        imports / "takeout-20261120T120000Z.zip",
        days=40,
        today=TEST_TODAY,
        migrated_on=TEST_TODAY - timedelta(days=20),
        parts=3,
    )
    with DagsterInstance.ephemeral() as instance:
        first = _tick(defs, "imports_drop_folder", home, instance, None)
        second = _tick(defs, "imports_drop_folder", home, instance, first.cursor)  # type: ignore[attr-defined]
        (request,) = second.run_requests  # type: ignore[attr-defined]  # one run for the three zips
        config = request.run_config["ops"]["archive_import"]["config"]
        assert config["parts"] == [str(p) for p in takeout.parts]
        assert request.tags["fitbit_sleep/archive"] == "takeout-20261120T120000Z-*.zip"
        result = defs.resolve_job_def("archive_import_job").execute_in_process(  # type: ignore[attr-defined]
            instance=instance, run_config=request.run_config
        )
        assert result.success
        assert len(table_rows(home, "sleep_logs")) == len(takeout.archive.logs)
        third = _tick(defs, "imports_drop_folder", home, instance, second.cursor)  # type: ignore[attr-defined]
        assert not third.run_requests  # type: ignore[attr-defined]
