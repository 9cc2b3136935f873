"""The scale instance with its webserver and daemon as separate processes (fitbit_sleep/scale/dagster_stack.py):
runs submitted like the UI submits them are queued, dequeued by the daemon under the per-participant tag limit
(never two at once for one participant), launched in their own processes, and recorded in Postgres."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from pathlib import Path

from dagster_project.devserver import free_port
from dagster_project.ui_graphql import RUN_DONE, gql
from fitbit_sleep.scale.dagster_stack import scale_dagster
from fitbit_sleep.scale.instance import install_scale_instance, scale_env
from fitbit_sleep.scale.services import ObjectStore, PostgresServer
from pipeline.object_store import read_manifest, s3_filesystem
from tests.clock import TEST_TODAY
from tests.scale.conftest import require_scale_extra

require_scale_extra()  # the scale extra (.venv-scale), else the module is skipped

LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
  }
}
"""
RUN = """
query Run($id: ID!) { runOrError(runId: $id) { ... on Run { status startTime endTime } } }
"""


def test_queued_runs_one_per_participant_through_the_daemon(
    tmp_path: Path, pg: PostgresServer, store: ObjectStore
) -> None:
    database, lake = "dagster_" + uuid.uuid4().hex[:8], "lake_" + uuid.uuid4().hex[:8]
    pg.create_database(database)
    pg.create_database(lake)
    pid = "stack" + uuid.uuid4().hex[:6]
    root = tmp_path / "root"
    (root / "raw" / "sleep").mkdir(parents=True)
    (root / "raw" / "sleep" / "date=2026-11-01.json").write_text('{"sleep": []}')
    dagster_home = tmp_path / "dagster_home"
    install_scale_instance(dagster_home)
    env = {
        **scale_env(pg, store),
        "FITBIT_SLEEP_PG_URL": pg.sqlalchemy_url(database),
        "FITBIT_SLEEP_LAKE_CATALOG": pg.conninfo(lake),
        "DAGSTER_HOME": str(dagster_home),
        "FITBIT_SLEEP_HOME": str(root),
        "FITBIT_SLEEP_PARTICIPANT": pid,
        "FITBIT_SLEEP_TODAY": TEST_TODAY.isoformat(),
        "FITBIT_SLEEP_TZ": "UTC",
        "PATH": "/usr/bin:/bin",
    }
    port = free_port()
    with scale_dagster(env, port, tmp_path / "logs"):
        params = {
            "selector": {
                "repositoryLocationName": "fitbit_sleep",
                "repositoryName": "__repository__",
                "jobName": "publish_job",
            },
            "runConfigData": {},
            "executionMetadata": {"tags": [{"key": "fitbit_sleep/participant", "value": pid}]},
        }
        run_ids = []
        for _ in range(2):
            launched = gql(port, LAUNCH, {"params": params})["launchRun"]
            assert launched["__typename"] == "LaunchRunSuccess", launched
            assert launched["run"]["status"] in ("QUEUED", "NOT_STARTED")  # the queue, not a direct launch
            run_ids.append(launched["run"]["runId"])
        deadline = time.monotonic() + 600
        runs: dict[str, dict[str, object]] = {}
        while time.monotonic() < deadline:
            runs = {rid: gql(port, RUN, {"id": rid})["runOrError"] for rid in run_ids}
            if all(r["status"] in RUN_DONE for r in runs.values()):
                break
            time.sleep(2)
    assert [r["status"] for r in runs.values()] == ["SUCCESS", "SUCCESS"], runs
    first, second = sorted(runs.values(), key=lambda r: float(r["startTime"]))  # type: ignore[arg-type]
    # one participant, one run at a time: the second started only after the first ended
    assert float(second["startTime"]) >= float(first["endTime"]), (  # type: ignore[arg-type]
        datetime.fromtimestamp(float(first["endTime"])),  # type: ignore[arg-type]
        datetime.fromtimestamp(float(second["startTime"])),  # type: ignore[arg-type]
    )
    status = pg.psql(database, "SELECT status, count(*) FROM runs GROUP BY 1").split()
    assert "SUCCESS|2" in status or any(
        s.startswith("SUCCESS|") and int(s.split("|")[1]) >= 2 for s in status
    )
    s3 = s3_filesystem(store.endpoint, store.access_key, store.secret_key)
    assert list(read_manifest(s3, f"{store.bucket}/participants/{pid}")) == ["raw/sleep/date=2026-11-01.json"]
