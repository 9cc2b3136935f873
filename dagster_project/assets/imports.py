"""The archive import asset: the Dagster way in for a Fitbit export / Google Takeout archive.

Why it also records partitions: the archive lands through the same per-date landing and tables as the API, so the
asset reports the dates it changed as materializations of ``raw_sleep`` and ``sleep_tables`` (source=export). The
partitions page then shows imported history as present, the table checks run after it in the same run, and the
warehouse, plots and report follow by automation. The drop-folder sensor (sensors.py) launches it.
"""

from datetime import date
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetMaterialization,
    Config,
    DailyPartitionsDefinition,
    MaterializeResult,
    asset,
)

from dagster_project.assets.metadata import scalar_facts
from dagster_project.assets.tables import table_counts
from dagster_project.resources import StorageResource


class ImportConfig(Config):
    """Which archive to import: a zip or an unzipped folder (normally a file in the imports drop folder)."""

    path: str
    parts: list[str] = []  # all the zips of a split Takeout (then ``path`` is the first); read as one archive
    tz: str = ""  # IANA zone of the history when the archive has no profile (else FITBIT_SLEEP_TZ, or the zone in use)


def build_archive_import(partitions_def: DailyPartitionsDefinition):  # type: ignore[no-untyped-def]
    @asset(
        name="archive_import",
        group_name="landing",
        kinds={"zip", "json"},
        description="Imports one Fitbit account export (MyFitbitData.zip) or Google Takeout archive into the raw "
        "landing (source=export; the API's data wins where both exist) and updates the tables for the dates "
        "that changed. Launched by the imports drop-folder sensor.",
    )
    def archive_import(
        context: AssetExecutionContext, config: ImportConfig, storage: StorageResource
    ) -> MaterializeResult:
        from pipeline.physiology_tables import update_physiology_tables
        from pipeline.sources.fitbit_export.importer import import_archive
        from pipeline.tables import update_tables

        paths = storage.paths()
        from pipeline.timezones import stored_zone

        summary = import_archive(paths, config.parts or config.path, tz=config.tz or None)
        tables = (
            update_tables(paths, summary.changed_dates, tz=summary.timezone)
            if summary.tables_stale or stored_zone(paths) != summary.timezone
            else None
        )
        physiology = (
            update_physiology_tables(paths, summary.physiology_changed)
            if summary.physiology_changed
            else None
        )
        keys = set(partitions_def.get_partition_keys())
        recorded = 0
        for day in summary.changed_dates:
            if day.isoformat() in keys:
                for asset_key in ("raw_sleep", "sleep_tables"):
                    context.log_event(
                        AssetMaterialization(
                            asset_key=asset_key,
                            partition=day.isoformat(),
                            metadata={"source": "export", "archive": summary.archive},
                        )
                    )
                recorded += 1
        for day in summary.physiology_changed:  # the imported physiology shows on its partitions too
            if day.isoformat() in keys:
                for asset_key in ("raw_physiology", "physiology_tables"):
                    context.log_event(
                        AssetMaterialization(
                            asset_key=asset_key,
                            partition=day.isoformat(),
                            metadata={"source": "export", "archive": summary.archive},
                        )
                    )
        metadata: dict[str, Any] = scalar_facts(summary)
        metadata.update(
            {k: _iso(v) for k, v in (("first_date", summary.first_date), ("last_date", summary.last_date))}
        )
        metadata["partitions_recorded"] = recorded
        if tables is not None:
            metadata.update(scalar_facts(tables, prefix="tables_"))
        if physiology is not None:
            metadata.update(scalar_facts(physiology, prefix="physiology_tables_"))
        metadata.update(table_counts([paths]))
        if summary.problems:
            metadata["problems"] = "\n".join(summary.problems)
        return MaterializeResult(metadata=metadata)

    return archive_import


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""
