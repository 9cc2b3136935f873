"""Smoke test: `dagster dev` (webserver + daemon) runs a UI-style backfill as ≤100-day runs, then the automation,
and the asset pages show a legible plot and the report's key numbers in a real headless browser.

It starts `dagster dev` from Python in its own process group with a temporary DAGSTER_HOME holding the committed
dagster.yaml, launches a 200-day backfill with the same GraphQL mutation the UI's "Materialize" dialog sends, and
checks it ran as 2 runs and 2 sleep API calls, that the whole-history automation rebuilt the warehouse once by
itself, that in Debian's headless chromium the efficiency scatter's preview opens legible on its asset page (full
size, unscaled, unobscured; screenshots in the test's tmp dir) and the report's page shows the warehouse's numbers,
and that SIGTERM to the group stops every process. The browser checks live in this test so CI starts `dagster dev`
once; without chromium they fail under `make test` (which runs `make browser` first) and are skipped elsewhere.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from browser import require_chromium
from PIL import Image

from dagster_project import ui_graphql
from dagster_project.devserver import (
    free_port,
    install_instance_config,
    start_dagster_dev,
    stop_process_group,
    wait_until_ready,
)
from dagster_project.ui_browser import find_chromium
from dagster_project.ui_check import (
    DAILY_ASSETS,
    MIN_PREVIEW_WIDTH,
    PLOT_ASSET,
    check_asset_preview,
    check_report_page,
)
from pipeline.plots import PREVIEW_MAX_WIDTH
from tests.clock import TEST_TODAY
from tests.dagster_project.dagster_helpers import login_to, sleep_calls

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture
def short_home() -> Iterator[Path]:
    """A data root with a path as short as a user's: the asset pages show it, and pytest's ~80-character tmp path
    has a 56-character segment without a break point, which widens the UI's metadata column past the page."""
    root = Path(tempfile.mkdtemp(prefix="fs-ui-"))
    yield root / "data"
    shutil.rmtree(root, ignore_errors=True)


def test_dagster_dev_runs_a_200_day_ui_backfill_as_two_runs_then_rebuilds_once(
    sandbox_factory: Any, tmp_path: Path, short_home: Path
) -> None:
    chromium = find_chromium()
    sandbox = sandbox_factory(days=230)
    home = short_home
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

        # the asset pages, rendered by chromium (only this part needs it)
        if chromium is not None:
            ui = check_asset_preview(port, chromium, tmp_path / "ui")
            assert ui.problems == [], f"{ui.problems}; see {ui.screenshot}"
            with Image.open(home / "plots" / "scatter_efficiency.png") as figure:
                expected_width = min(figure.width, PREVIEW_MAX_WIDTH)
            assert ui.natural_size[0] == expected_width >= MIN_PREVIEW_WIDTH  # the figure at its own size
            assert ui.displayed_size == ui.natural_size and ui.screen_diff == 0  # shown 1:1, nothing on top
            assert ui.figure is not None
            with Image.open(ui.figure) as cut:
                assert cut.size == ui.displayed_size
            report = check_report_page(port, chromium, tmp_path / "ui")
            assert report.problems == [], f"{report.problems}; see {report.screenshot}"
            wh = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
            nights = wh.execute("SELECT count(DISTINCT night_date) FROM main_sleeps").fetchone()[0]  # type: ignore[index]
            wh.close()
            assert report.key_numbers["Nights"] == str(nights), report
            assert report.key_numbers["Mean Sleep Score"] == "n/a"  # no archive imported: no scores
    finally:
        rc = stop_process_group(proc)
    assert rc is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # nothing of the group is left
    log = (tmp_path / "dagster_dev.log").read_text(errors="replace")
    assert "Launching Dagster services" in log
    assert "superseded" not in log and "Invalid -W option" not in log  # the one warning is silenced, properly
    if chromium is None:
        require_chromium()  # the dagster dev checks passed; fails (make test, CI) or skips saying `make browser`
