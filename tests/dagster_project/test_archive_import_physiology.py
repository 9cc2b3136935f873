"""Dagster's archive_import on an archive with physiology: it lands and tables the physiology and records the
raw_physiology / physiology_tables partitions it filled, so the partitions page shows imported history as present."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from clock import TEST_TODAY
from dagster import DagsterInstance
from dagster_helpers import project_defs, table_rows

from fitbit_sandbox.export import export_history

HR_DAYS = 3


def test_archive_import_lands_tables_and_records_the_physiology(tmp_path: Path) -> None:
    home = tmp_path / "home"
    defs = project_defs(home)
    archive = tmp_path / "MyFitbitData.zip"
    export_history(
        archive, days=30, today=TEST_TODAY - timedelta(days=1), physiology=True, heart_rate_days=HR_DAYS
    )
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("archive_import_job").execute_in_process(  # type: ignore[attr-defined]
            instance=instance, run_config={"ops": {"archive_import": {"config": {"path": str(archive)}}}}
        )
        assert result.success
        [own] = [
            m
            for m in result.asset_materializations_for_node("archive_import")
            if m.asset_key.path == ["archive_import"]
        ]
        metadata = {k: v.value for k, v in own.metadata.items()}
        assert metadata["physio_days.heart_rate_intraday"] == HR_DAYS
        assert metadata["physio_days.hrv"] > 0 and metadata["physio_outcomes.written"] > HR_DAYS
        assert metadata["physiology_tables_samples"] == metadata["hr_samples"] > 0
        for name in ("raw_physiology", "physiology_tables"):
            recorded = instance.get_materialized_partitions(defs.resolve_assets_def(name).key)  # type: ignore[attr-defined]
            assert len(recorded) >= 25, name
    assert len(table_rows(home, "heart_rate")) == metadata["hr_samples"]
    assert table_rows(home, "hrv_daily")
