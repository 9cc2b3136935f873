"""Sensors: the automation sensor for whole-history assets, the imports drop folder, token health, stuck runs.

Why explicit and RUNNING: Dagster's implicit automation sensor and every sensor default to STOPPED, and a user who
has to find and flip switches in the UI before the product works will not. Each sensor's cursor is small and
secret-free.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dagster import (
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from dagster_project.checks import token_health_facts
from dagster_project.jobs import IMPORT_JOB, TOKEN_HEALTH_JOB
from dagster_project.resources import StorageResource
from pipeline.import_ledger import already_imported, archive_fingerprint
from pipeline.sources.fitbit_export.reader import part_stem

ARCHIVE_SUFFIXES = (".zip",)


def build_automation_sensor(whole_history: AssetSelection) -> AutomationConditionSensorDefinition:
    return AutomationConditionSensorDefinition(
        "whole_history_automation",
        target=whole_history,
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        # plain runs, not asset backfills: whole-history assets are unpartitioned and go in one run per tick
        emit_backfills=False,
        description="Rebuilds the warehouse, the plots and the report once after the daily run, a backfill or an "
        "import has updated the tables.",
    )


def archive_candidates(imports_dir: Path) -> list[Path]:
    """Zips and unzipped export folders in the drop folder (hidden and partial files ignored)."""
    if not imports_dir.is_dir():
        return []
    found = []
    for entry in sorted(imports_dir.iterdir()):
        if entry.name.startswith((".", "_")) or entry.name.endswith((".part", ".tmp", ".crdownload")):
            continue
        if (entry.is_file() and entry.suffix.lower() in ARCHIVE_SUFFIXES) or entry.is_dir():
            found.append(entry)
    return found


def archive_groups(imports_dir: Path) -> dict[str, list[Path]]:
    """The candidates by archive: the numbered zips of a split Takeout (``<stem>-001.zip``, ``-002.zip``, …) dropped
    side by side are one archive, imported together (one part alone would land sessions without their stages)."""
    groups: dict[str, list[Path]] = {}
    for path in archive_candidates(imports_dir):
        stem = part_stem(path.name) if path.is_file() else None
        groups.setdefault(f"{stem}-*.zip" if stem else path.name, []).append(path)
    return groups


@sensor(
    name="imports_drop_folder",
    job_name=IMPORT_JOB,
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Imports every new or changed archive (zip or unzipped folder) dropped into <data root>/imports/. "
    "An archive still growing is picked up once it stops changing; one already imported unchanged (by the demo, "
    "`fitbit-sleep import` or another Dagster instance) is skipped.",
)
def imports_drop_folder(context: SensorEvaluationContext, storage: StorageResource) -> Iterator[Any]:
    paths = storage.paths()
    imports_dir = paths.imports_dir
    cursor: dict[str, Any] = json.loads(context.cursor) if context.cursor else {}
    growing = cursor.get("__growing__")
    pending: dict[str, str] = dict(growing) if isinstance(growing, dict) else {}
    done: dict[str, str] = {k: str(v) for k, v in cursor.items() if k != "__growing__"}
    requested = 0
    still_growing: dict[str, str] = {}
    for name, group in archive_groups(imports_dir).items():
        fingerprint = "|".join(archive_fingerprint(path) for path in group)
        if done.get(name) == fingerprint:
            continue
        if all(already_imported(paths, path) for path in group):  # by `make demo`, `fitbit-sleep import`, …
            done[name] = fingerprint
            continue
        if pending.get(name) != fingerprint:
            # first sight (or still changing, or a part still arriving): wait one tick so a half-copied archive
            # is not imported
            still_growing[name] = fingerprint
            continue
        done[name] = fingerprint
        requested += 1
        config: dict[str, Any] = {"path": str(group[0])}
        if len(group) > 1:
            config["parts"] = [str(path) for path in group]
        yield RunRequest(
            run_key=fingerprint,
            run_config={"ops": {"archive_import": {"config": config}}},
            tags={"fitbit_sleep/archive": name},
        )
    context.update_cursor(json.dumps({**done, "__growing__": still_growing}, sort_keys=True))
    if not requested:
        yield SkipReason(
            f"No new archive in {imports_dir}"
            + (f" ({len(still_growing)} waiting to settle)" if still_growing else "")
        )


@sensor(
    name="token_health_sensor",
    job_name=TOKEN_HEALTH_JOB,
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=3600,
    description="Hourly look at the saved Fitbit login. When it turns unhealthy (a refresh failed, or the refresh "
    "token is unused for days) it runs the token_health check, so the warning shows on the raw_sleep asset "
    "before the login is lost.",
)
def token_health_sensor(context: SensorEvaluationContext, storage: StorageResource) -> Iterator[Any]:
    healthy, facts = token_health_facts(storage.paths())
    state = "ok" if healthy else str(facts.get("problem"))
    if state == (context.cursor or "ok"):
        yield SkipReason(f"Token health unchanged: {state}")
        return
    context.update_cursor(state)
    yield RunRequest(tags={"fitbit_sleep/trigger": "token_health"})


@sensor(
    name="stuck_runs_sensor",
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Every minute: a run whose process is gone (killed, crashed, laptop lid closed) is marked failed "
    "and its pool slots are freed, so the schedule and later runs do not wait for it forever "
    "(dagster_project/stuck_runs.py).",
)
def stuck_runs_sensor(context: SensorEvaluationContext) -> Iterator[Any]:
    from dagster_project.stuck_runs import free_dead_runs

    notes = free_dead_runs(context.instance)
    for note in notes:
        context.log.warning(note)
    yield SkipReason("; ".join(notes) if notes else "No run whose process is gone")
