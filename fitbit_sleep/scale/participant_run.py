"""A worker of the cohort backfill: ``python -m fitbit_sleep.scale.participant_run`` reads one participant per
stdin line (``{"env": {...}, "start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}``) and answers each with one JSON line on
stdout (participant, success, API calls, runs, the first error).

Why worker processes: the cohort gets real parallelism from several processes (``--parallel``), every run landing
in the one Postgres instance, while each process pays Dagster's import and instance set-up once, not once per
participant (about 10 s each on a busy 2-core machine). A participant is a data root, a token store and an API
client, all read from the environment, so the worker sets the participant's variables and builds that participant's
definitions before its runs: the CLI backfill's ≤100-day ``sleep_daily_job`` runs (tagged
``fitbit_sleep/participant_root``), then ``publish_job`` (the data root to the bucket). A participant whose runs fail, or
whose set-up raises, is reported as failed and the worker goes on with the next one.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from typing import Any

# The pools of the code location's assets (raw_sleep: fitbit_api, warehouse: duckdb).
POOLS = ("fitbit_api", "duckdb")


def run_participant(instance: Any, start: date, end: date) -> dict[str, object]:
    """The current environment's participant: the backfill, then the publish run."""
    from dagster_project.assets.shared import PARTICIPANT_ROOT_TAG, PUBLISH_JOB
    from dagster_project.backfill import QUIET_LOGS, run_backfill
    from dagster_project.definitions import build_defs
    from pipeline.scale_profile import participant_id

    pid = participant_id()
    tags = {PARTICIPANT_ROOT_TAG: pid}
    defs = build_defs()
    outcome = run_backfill(defs, instance, start, end, downstream=False, tags=tags)
    runs = [c.run_id for c in outcome.chunks]
    success = outcome.success
    error = next((c.error for c in outcome.chunks if not c.success), "")
    if success:
        result = defs.resolve_job_def(PUBLISH_JOB).execute_in_process(
            instance=instance, run_config=QUIET_LOGS, tags=tags, raise_on_error=False
        )
        runs.append(result.run_id)
        success = result.success
        error = "" if success else "publish_job failed (see the run in the Dagster UI)"
    return {"participant": pid, "calls": outcome.calls, "runs": runs, "success": success, "error": error}


def main(argv: list[str] | None = None) -> int:
    """Serve participants from stdin. ``--init`` only prepares the instance, once, before the workers start: opening
    it creates Dagster's schema in a fresh Postgres database, and the pools' limit rows are created here too;
    measured: two runs starting together both insert the ``fitbit_api`` row and one run fails on the unique key."""
    from dagster_project.backfill import cli_instance

    with cli_instance() as instance:
        if "--init" in (sys.argv[1:] if argv is None else argv):
            # only the missing rows: on Postgres, Dagster's insert-then-update of an existing row runs the update
            # inside the transaction the failed insert aborted (InFailedSqlTransaction on a re-run of the demo)
            existing = instance.event_log_storage.get_concurrency_keys()
            for pool in POOLS:
                if pool not in existing:
                    instance.event_log_storage.initialize_concurrency_limit_to_default(pool)
            return 0
        for line in sys.stdin:
            if not line.strip():
                continue
            task = json.loads(line)
            os.environ.update(task["env"])
            try:
                report = run_participant(
                    instance, date.fromisoformat(task["start"]), date.fromisoformat(task["end"])
                )
            except Exception as exc:  # one participant's set-up error must not end the others' worker
                report = {"participant": task["env"].get("FITBIT_SLEEP_PARTICIPANT"), "success": False}
                report.update(error=f"{type(exc).__name__}: {exc}", calls=0, runs=[])
            print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
