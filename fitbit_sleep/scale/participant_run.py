"""One participant's part of a cohort backfill, in its own process: ``python -m fitbit_sleep.scale.participant_run
START END``, with the participant's data root, API and the scale profile in the environment.

Why a process per participant: a process has one data root, one token store and one API client (the pipeline's
settings come from the environment), and separate processes give the cohort real parallelism on several cores while
every run lands in the one Postgres instance. What it runs is the CLI backfill's: ≤100-day ``sleep_daily_job`` runs
(tagged ``fitbit_sleep/participant``), then ``publish_job`` (the data root to the bucket). It prints one JSON line
(success, API calls, runs, the first error) and exits 1 when the participant failed.
"""

from __future__ import annotations

import json
import sys
from datetime import date


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    start, end = date.fromisoformat(args[0]), date.fromisoformat(args[1])
    from dagster_project.assets.shared import PARTICIPANT_TAG, PUBLISH_JOB
    from dagster_project.backfill import QUIET_LOGS, cli_instance, run_backfill
    from dagster_project.definitions import build_defs
    from pipeline.scale_profile import participant_id

    pid = participant_id()
    tags = {PARTICIPANT_TAG: pid}
    defs = build_defs()
    report: dict[str, object] = {"participant": pid}
    with cli_instance() as instance:
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
    report.update(calls=outcome.calls, runs=runs, success=success, error=error)
    print(json.dumps(report), flush=True)
    return 0 if report["success"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
