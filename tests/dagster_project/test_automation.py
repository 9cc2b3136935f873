"""Whole-history assets (warehouse, plots, report) update by themselves, once, after any table update."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from dagster import AssetKey, AssetMaterialization, DagsterInstance, evaluate_automation_conditions

from tests.clock import TEST_TODAY
from tests.dagster_project.dagster_helpers import project_defs

WHOLE_HISTORY = ["warehouse", "sleep_report"]


def _requested(result: object) -> dict[str, int]:
    return {name: result.get_num_requested(AssetKey(name)) for name in WHOLE_HISTORY}  # type: ignore[attr-defined]


def test_a_historical_backfill_triggers_one_rebuild_of_the_whole_chain_in_one_tick(tmp_path: Path) -> None:
    defs = project_defs(tmp_path)
    plot_keys = [k for k in defs.resolve_asset_graph().get_all_asset_keys() if k.path[-1].startswith("plot_")]
    assert len(plot_keys) >= 3
    with DagsterInstance.ephemeral() as instance:
        first = evaluate_automation_conditions(defs=defs, instance=instance)
        # nothing upstream yet: nothing is rebuilt (the first tick only records the state)
        assert _requested(first) == {"warehouse": 0, "sleep_report": 0}

        # a backfill of OLD partitions (eager() would ignore them: not the latest time window), and most of
        # the history still missing (eager() would wait forever)
        start = TEST_TODAY - timedelta(days=300)
        for i in range(150):
            day = (start + timedelta(days=i)).isoformat()
            for key in ("raw_sleep", "sleep_tables"):
                instance.report_runless_asset_event(AssetMaterialization(asset_key=key, partition=day))
        second = evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
        assert _requested(second) == {"warehouse": 1, "sleep_report": 1}
        assert all(second.get_num_requested(k) == 1 for k in plot_keys)  # same tick: one run for the chain

        # no new upstream update: nothing more, however many ticks pass
        third = evaluate_automation_conditions(defs=defs, instance=instance, cursor=second.cursor)
        assert third.total_requested == 0


def test_an_archive_import_also_triggers_the_rebuild(tmp_path: Path) -> None:
    defs = project_defs(tmp_path)
    with DagsterInstance.ephemeral() as instance:
        first = evaluate_automation_conditions(defs=defs, instance=instance)
        instance.report_runless_asset_event(AssetMaterialization(asset_key="archive_import"))
        second = evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
        assert _requested(second) == {"warehouse": 1, "sleep_report": 1}


def test_the_automation_sensor_is_running_by_default_and_targets_only_whole_history_assets(
    tmp_path: Path,
) -> None:
    defs = project_defs(tmp_path)
    sensor = defs.resolve_sensor_def("whole_history_automation")
    assert sensor.default_status.value == "RUNNING"
    graph = defs.resolve_asset_graph()
    targeted = {k.path[-1] for k in sensor.asset_selection.resolve(graph)}  # type: ignore[union-attr]
    assert "warehouse" in targeted and "sleep_report" in targeted
    assert not targeted & {"raw_sleep", "sleep_tables", "archive_import"}
