"""The scale profile's Dagster instance and environment: what every process of a scale deployment shares.

Why the environment carries it all: the webserver, the daemon, each run worker and the CLI are separate processes
(separate pods in production); they agree through ``$DAGSTER_HOME/dagster.yaml`` (installed from
deploy/dagster-scale.yaml) and the variables of ``scale_env`` (docs/scale.md), never through argv.
"""

from __future__ import annotations

from pathlib import Path

from fitbit_sleep.scale.services import ObjectStore, PostgresServer
from pipeline.atomic import atomic_write_bytes

REPO_ROOT = Path(__file__).resolve().parents[2]
SCALE_YAML = REPO_ROOT / "deploy" / "dagster-scale.yaml"
DAGSTER_DB = "dagster"
LAKE_DB = "fitbit_lake"


def install_scale_instance(dagster_home: Path) -> Path:
    """Copy deploy/dagster-scale.yaml into DAGSTER_HOME (Postgres storage, queued runs, per-participant limits)."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    target = dagster_home / "dagster.yaml"
    atomic_write_bytes(target, SCALE_YAML.read_bytes())
    return target


def scale_env(pg: PostgresServer, store: ObjectStore) -> dict[str, str]:
    """The variables that switch a process to the scale profile against these servers (keys as AWS_*)."""
    return {
        "FITBIT_SLEEP_PROFILE": "scale",
        "FITBIT_SLEEP_PG_URL": pg.sqlalchemy_url(DAGSTER_DB),
        "FITBIT_SLEEP_LAKE_CATALOG": pg.conninfo(LAKE_DB),
        **store.env(),
    }
