"""Smoke test: `dagster dev` (webserver + daemon) runs a UI-style backfill as ≤100-day runs, then the automation,
and the asset page shows the plot preview in a real headless browser.

It starts `dagster dev` from Python in its own process group with a temporary DAGSTER_HOME holding the committed
dagster.yaml, launches a 200-day backfill with the same GraphQL mutation the UI's "Materialize" dialog sends, and
checks it ran as 2 runs and 2 sleep API calls, that the whole-history automation rebuilt the warehouse once by
itself, that Debian's headless chromium shows the efficiency scatter's thumbnail on its asset page (screenshot under
the data root), and that SIGTERM to the group stops every process. The browser check lives in this test so CI
starts `dagster dev` once; only it is skipped, with the reason, where chromium cannot be installed.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from browser import ensure_chromium, install_error
from PIL import Image

from dagster_project import ui_graphql
from dagster_project.devserver import (
    free_port,
    install_instance_config,
    start_dagster_dev,
    stop_process_group,
    wait_until_ready,
)
from dagster_project.ui_check import DAILY_ASSETS, PLOT_ASSET, check_asset_preview
from tests.clock import TEST_TODAY
from tests.dagster_project.dagster_helpers import login_to, sleep_calls

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_dagster_dev_runs_a_200_day_ui_backfill_as_two_runs_then_rebuilds_once(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    chromium = ensure_chromium()  # before dagster dev: an apt-get install must not compete with the runs
    sandbox = sandbox_factory(days=230)
    home = tmp_path / "data"
    login_to(sandbox, home)
    dagster_home = tmp_path / "dagster_home"
    install_instance_config(dagster_home)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FITBIT_", "DAGSTER_"))},
        "DAGSTER_HOME": str(dagster_home),
        "FITBIT_SLEEP_HOME": str(home),
        "FITBIT_SLEEP_TODAY": TEST_TODAY.isoformat(),  # the code location's calendar is the sandbox's
        **sandbox.client_env(),
    }
    port = free_port()
    proc = start_dagster_dev(env, port, log_file=tmp_path / "dagster_dev.log")
    try:
        wait_until_ready(port, proc, timeout=180)
        end = TEST_TODAY - timedelta(days=1)
        keys = [(end - timedelta(days=i)).isoformat() for i in range(199, -1, -1)]
        backfill_id = ui_graphql.launch_backfill(port, DAILY_ASSETS, keys)
        assert ui_graphql.wait_for_backfill(port, backfill_id, 300) in ui_graphql.BACKFILL_OK
        runs = ui_graphql.backfill_runs(port, backfill_id)
        assert [r["status"] for r in runs] == ["SUCCESS", "SUCCESS"]
        ranges = sorted(
            (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"])
            for tags in map(ui_graphql.run_tags, runs)
        )
        assert ranges == [(keys[0], keys[99]), (keys[100], keys[199])]
        assert sleep_calls(sandbox) == 2
        assert len(list((home / "raw" / "sleep").glob("date=*.json"))) == 200

        # the whole-history chain follows by itself, in one run
        automation_runs = ui_graphql.wait_for_automation_runs(port, 150)
        assert [r["status"] for r in automation_runs] == ["SUCCESS"]
        targeted = ui_graphql.targeted_assets(automation_runs[0])
        assert {"warehouse", "sleep_report", PLOT_ASSET} <= targeted
        wh = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
        assert wh.execute("SELECT count(DISTINCT date_of_sleep) FROM sleep_logs").fetchone()[0] >= 190  # type: ignore[index]
        wh.close()

        # the asset page, rendered by chromium, shows the thumbnail (only this part needs chromium)
        if chromium is not None:
            ui = check_asset_preview(port, chromium, home / "ui")
            assert ui.preview_found, f"no preview <img> on {ui.url}; see {ui.screenshot}"
            assert max(ui.preview_size) == 200  # the decoded thumbnail: thumbnail_data_uri(max_px=200)
            with Image.open(ui.screenshot) as shot:
                assert shot.size == (1400, 1800)
    finally:
        rc = stop_process_group(proc)
    assert rc is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # nothing of the group is left
    log = (tmp_path / "dagster_dev.log").read_text(errors="replace")
    assert "Launching Dagster services" in log
    assert "superseded" not in log and "Invalid -W option" not in log  # the one warning is silenced, properly
    if chromium is None:
        pytest.skip(
            f"dagster dev checks passed; browser check skipped: chromium cannot be installed: {install_error()}"
        )
