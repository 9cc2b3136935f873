"""`fitbit-sleep cohort demo` end to end on the session's real Postgres and SeaweedFS: three participants, one of
them revoked mid-run, Dagster runs recorded in Postgres with a participant tag, the shared warehouse built, and a
second run that changes no table (fitbit_sleep/scale/cohort_demo.py)."""

from __future__ import annotations

from pathlib import Path

from fitbit_sleep.scale.cohort_demo import run_cohort_demo
from fitbit_sleep.scale.instance import DAGSTER_DB
from fitbit_sleep.scale.services import ObjectStore, PostgresServer
from tests.clock import TEST_TODAY
from tests.scale.conftest import require_scale_extra

require_scale_extra()  # the scale extra (.venv-scale), else the module is skipped


def test_cohort_demo_revoked_participant_fails_alone_and_rerun_changes_nothing(
    tmp_path: Path, pg: PostgresServer, store: ObjectStore
) -> None:
    home = tmp_path / "cohort"
    lines: list[str] = []
    first = run_cohort_demo(
        home, 3, 5, parallel=2, revoke="p03", today=TEST_TODAY, echo=lines.append, services=(pg, store)
    )
    by_id = {p.participant: p for p in first.participants}
    assert sorted(by_id) == ["p01", "p02", "p03"]
    assert by_id["p01"].success and by_id["p02"].success
    assert not by_id["p03"].success
    assert "invalid_grant" in by_id["p03"].error  # the revoked grant, said as the pipeline says it
    assert by_id["p01"].nights > 0 and by_id["p02"].nights > 0
    assert by_id["p03"].nights == 0
    assert all(p.throttled == 0 and 0 < p.calls <= 150 for p in first.participants)
    assert first.lake_rows["nights"] == by_id["p01"].nights + by_id["p02"].nights
    assert {"nights", "sleep_logs"} <= set(first.lake_rewritten)

    # every participant's runs are in Postgres, tagged with the participant; p03's daily run failed there
    tagged = pg.psql(
        DAGSTER_DB,
        "SELECT t.value, r.status FROM runs r JOIN run_tags t ON t.run_id = r.run_id "
        "WHERE t.key = 'fitbit_sleep/participant_root' ORDER BY 1, 2",
    ).split()
    assert "p01|SUCCESS" in tagged and "p02|SUCCESS" in tagged and "p03|FAILURE" in tagged
    assert not any(
        row.startswith("p0") and row.endswith("FAILURE") and row != "p03|FAILURE" for row in tagged
    )

    summary = "\n".join(first.lines())
    for expected in ("participants N                   3", "nights per participant", "API calls in all"):
        assert expected in summary
    assert "failed alone: p03" in summary

    again = run_cohort_demo(
        home, 3, 5, parallel=2, revoke="p03", today=TEST_TODAY, echo=lines.append, services=(pg, store)
    )
    assert again.lake_rewritten == []
    assert again.lake_snapshot == first.lake_snapshot
    assert again.lake_rows == first.lake_rows
    assert [p.success for p in again.participants] == [True, True, False]
