"""`make ui-check` (``python -m dagster_project.ui_check``): the Dagster UI checked in a real headless browser.

Why: the plot assets attach their figure as a markdown image (a ``data:`` URI) and the report asset its key numbers
as markdown tables; whether a person can read them on the asset page is only known by rendering the page. This
starts the same stack as ``make dev`` (dagster.yaml into DAGSTER_HOME, sandbox + login, ``dagster dev`` in its own
process group; devserver's functions), launches a backfill through GraphQL as the UI does, waits for the
whole-history automation to rebuild the plots, then, in Debian's headless chromium:

- opens ``plot_scatter_efficiency``'s page, clicks the ``preview`` row's "[Show Markdown]" as a user would, and
  checks the figure is legible: at least ``MIN_PREVIEW_WIDTH`` px wide, shown at (nearly) its own size, inside the
  window, and what the screen shows there is the figure (nothing on top of it);
- opens ``sleep_report``'s page and reads the key-numbers table shown inline.

Screenshots (``<asset>.png``, and ``<asset>.figure.png``: the figure cut out of the page) go to ``--out`` (default
``./.ui-check``, overwritten each run). The temporary homes are removed afterwards unless ``--keep``.

The smoke test (tests/dagster_project/test_dagster_dev.py) calls ``check_asset_preview`` and
``check_report_page`` inside its own ``dagster dev`` session, so CI starts ``dagster dev`` once.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image, ImageChops, ImageStat

from dagster_project import ui_graphql
from dagster_project.devserver import (
    REPO_ROOT,
    free_port,
    install_instance_config,
    start_dagster_dev,
    start_sandbox,
    stop_process_group,
    wait_until_ready,
)
from dagster_project.ui_browser import MISSING_CHROMIUM, DevToolsPage, find_chromium

PLOT_ASSET = "plot_scatter_efficiency"
REPORT_ASSET = "sleep_report"
DAILY_ASSETS = ("raw_sleep", "sleep_tables")
DEFAULT_OUT = REPO_ROOT / ".ui-check"
WINDOW = (1280, 900)  # a laptop's browser window: the preview dialog may use 80 % of its width
# Legibility of the preview: natural width (the figures' 10-pt text is ~14 px at their 100 dpi, so a preview under
# 800 px has text under ~8 px), displayed/natural (the page must not shrink it further), and the mean per-pixel
# difference (0-255) between the screen at the image's box and the decoded image (nothing covers it).
MIN_PREVIEW_WIDTH = 800
MIN_DISPLAY_RATIO = 0.95
MAX_SCREEN_DIFF = 8.0


def asset_url(port: int, asset: str = PLOT_ASSET) -> str:
    return f"http://127.0.0.1:{port}/assets/{asset}"


@dataclass(frozen=True)
class PreviewCheck:
    """What the browser showed after opening a plot's preview."""

    url: str
    screenshot: Path  # the window with the preview dialog open
    figure: Path | None  # the figure as displayed, cut out of the window (None: no preview found)
    natural_size: tuple[int, int] = (0, 0)  # of the decoded image
    displayed_size: tuple[int, int] = (0, 0)  # on screen, CSS px at scale 1
    fully_visible: bool = False
    screen_diff: float | None = None  # mean |screen - image| per channel, 0-255

    @property
    def problems(self) -> list[str]:
        """Why the figure is not legible on the page ([] = it is)."""
        if self.figure is None:
            return [f"no preview image opened on {self.url}"]
        (nat_w, _), (shown_w, _) = self.natural_size, self.displayed_size
        out = []
        if nat_w < MIN_PREVIEW_WIDTH:
            out.append(f"preview is {nat_w} px wide (< {MIN_PREVIEW_WIDTH}): its text is too small to read")
        if shown_w < MIN_DISPLAY_RATIO * nat_w:
            out.append(f"preview shown at {shown_w} of its {nat_w} px: the page shrinks it")
        if not self.fully_visible:
            out.append("preview is not wholly inside the window")
        if self.screen_diff is None or self.screen_diff > MAX_SCREEN_DIFF:
            out.append(
                f"the screen at the preview's box is not the preview (mean difference {self.screen_diff})"
            )
        return out


@dataclass(frozen=True)
class ReportPageCheck:
    """What the browser showed on the report asset's page."""

    url: str
    screenshot: Path
    key_numbers: dict[str, str] = field(default_factory=dict)  # the inline table's rows ({}: no table)
    hidden: tuple[str, ...] = ()  # labels of rows whose label or value is off the window or covered

    @property
    def problems(self) -> list[str]:
        if not self.key_numbers:
            return [f"no key-numbers table on {self.url}"]
        return [f"key number {label!r} is not visible on {self.url}" for label in self.hidden]


# Runs in the page until it returns a non-empty string. A fresh instance first greets with a "Join the Dagster
# community" dialog; "Skip" dismisses it, as a user would. Markdown of 1,000 characters or more is a
# "[Show Markdown]" link in the metadata table (the preview always is); the script clicks the one in ``preview``'s
# row and reports the image once it has decoded.
_OPEN_PREVIEW_JS = """(() => {
  const byText = (root, sel, text) => [...root.querySelectorAll(sel)].find(e => e.textContent.trim() === text);
  const skip = byText(document, 'button', 'Skip');
  if (skip) { skip.click(); return ''; }
  const img = [...document.querySelectorAll('img')].find(i => i.src.startsWith('data:image/png;base64,'));
  if (!img) {
    const row = [...document.querySelectorAll('tr')].find(r => r.cells.length && r.cells[0].textContent.trim() === 'preview');
    const link = row && byText(row, 'a, button', '[Show Markdown]');
    if (link) link.click();
    return '';
  }
  if (!img.complete || !img.naturalWidth) return '';
  const b = img.getBoundingClientRect();
  if (document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2) !== img) return '';
  return JSON.stringify({natural: [img.naturalWidth, img.naturalHeight], box: [b.left, b.top, b.width, b.height],
                         viewport: [window.innerWidth, window.innerHeight]});
})()"""
# Clicks "Skip" on the community dialog if it is (again) on the page; true when it did.
_SKIP_JS = (
    "(() => { const b = [...document.querySelectorAll('button')].find(e => e.textContent.trim() === 'Skip');"
    " if (b) b.click(); return !!b; })()"
)
_PREVIEW_SRC_JS = (
    "[...document.querySelectorAll('img')].find(i => i.src.startsWith('data:image/png;base64,')).src"
)

# Finds the inline key-numbers table, scrolls it to the top of the window as a reader would, and reports each row's
# label and value with whether both cells can be seen: inside the window and not covered (the metadata table clips
# what is wider than the page, so text in the DOM is not yet text on screen).
_READ_KEY_NUMBERS_JS = """(() => {
  const byText = (root, sel, text) => [...root.querySelectorAll(sel)].find(e => e.textContent.trim() === text);
  const skip = byText(document, 'button', 'Skip');
  if (skip) { skip.click(); return ''; }
  const row = [...document.querySelectorAll('tr')].find(r => r.cells.length && r.cells[0].textContent.trim() === 'key_numbers');
  const table = row && row.querySelector('table');
  if (!table) return '';
  row.scrollIntoView({block: 'start'});
  const seen = cell => {
    const b = cell.getBoundingClientRect();
    if (b.width === 0 || b.left < 0 || b.right > window.innerWidth || b.bottom > window.innerHeight) return false;
    const top = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
    return top !== null && cell.contains(top);
  };
  return JSON.stringify([...table.querySelectorAll(':scope > tbody > tr')].map(
    tr => [...tr.cells].map(c => c.innerText.trim()).concat([[...tr.cells].every(seen)])));
})()"""


def _poll(page: DevToolsPage, script: str, timeout: float, stable: int = 2) -> str:
    """Evaluate ``script`` every 0.5 s until it returns the same non-empty string ``stable`` times in a row (the
    dialog's opening animation is over, the table has settled); '' on timeout."""
    last, seen = "", 0
    deadline = time.monotonic() + timeout
    while seen < stable and time.monotonic() < deadline:
        value = str(page.evaluate(script) or "")
        seen = seen + 1 if value and value == last else (1 if value else 0)
        last = value
        time.sleep(0.5)
    return last if seen >= stable else ""


def _screen_diff(shown: bytes, src: str) -> float:
    """Mean per-channel difference between the screen's cut-out and the decoded data URI (resized to match)."""
    with (
        Image.open(io.BytesIO(shown)) as screen,
        Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as image,
    ):
        reference = image.convert("RGB").resize(screen.size)
        diff = ImageChops.difference(screen.convert("RGB"), reference)
        return round(sum(ImageStat.Stat(diff).mean) / 3, 2)


def check_asset_preview(
    port: int, chromium: str, out_dir: Path, *, asset: str = PLOT_ASSET, timeout: float = 60,
    window: tuple[int, int] = WINDOW,
) -> PreviewCheck:  # fmt: skip
    """Open the asset page and its preview the way a user does; measure what is on screen. Screenshots are saved
    as ``out_dir/<asset>.png`` (always) and ``out_dir/<asset>.figure.png`` (the figure's box, when found).

    Why the DevTools protocol and not ``--screenshot``: the preview sits behind the metadata table's "[Show
    Markdown]" link, so the page needs a click and a wait for the image, which the one-shot flags cannot do.
    """
    url = asset_url(port, asset)
    out_dir.mkdir(parents=True, exist_ok=True)
    shot, cut = out_dir / f"{asset}.png", out_dir / f"{asset}.figure.png"
    cut.unlink(missing_ok=True)
    with DevToolsPage(chromium, width=window[0], height=window[1]) as page:
        page.call("Page.navigate", url=url)
        # The community dialog can open late, over the preview, between the poll and the capture: then dismiss it
        # and measure again, as a user would (three tries).
        for _ in range(3):
            found = _poll(page, _OPEN_PREVIEW_JS, timeout)
            if not found:
                shot.write_bytes(page.screenshot())
                return PreviewCheck(url, shot, None)
            facts = json.loads(found)
            x, y, width, height = facts["box"]
            shown = page.screenshot(clip=(x, y, width, height))
            diff = _screen_diff(shown, str(page.evaluate(_PREVIEW_SRC_JS)))
            if diff <= MAX_SCREEN_DIFF or not page.evaluate(_SKIP_JS):
                break
        shot.write_bytes(page.screenshot())
    cut.write_bytes(shown)
    view_w, view_h = facts["viewport"]
    return PreviewCheck(
        url,
        shot,
        cut,
        natural_size=(int(facts["natural"][0]), int(facts["natural"][1])),
        displayed_size=(round(width), round(height)),
        fully_visible=x >= 0 and y >= 0 and x + width <= view_w and y + height <= view_h,
        screen_diff=diff,
    )


def check_report_page(
    port: int, chromium: str, out_dir: Path, *, timeout: float = 60, window: tuple[int, int] = WINDOW
) -> ReportPageCheck:
    """Open the report asset's page and read its inline key-numbers table; screenshot ``out_dir/sleep_report.png``."""
    url = asset_url(port, REPORT_ASSET)
    out_dir.mkdir(parents=True, exist_ok=True)
    shot = out_dir / f"{REPORT_ASSET}.png"
    with DevToolsPage(chromium, width=window[0], height=window[1]) as page:
        page.call("Page.navigate", url=url)
        for _ in range(3):  # as in check_asset_preview: a late community dialog is dismissed, then read again
            found = _poll(page, _READ_KEY_NUMBERS_JS, timeout)
            rows = [row for row in (json.loads(found) if found else []) if len(row) == 3]
            if all(seen for _, _, seen in rows) or not page.evaluate(_SKIP_JS):
                break
        shot.write_bytes(page.screenshot())
    numbers = {label: value for label, value, _ in rows}
    return ReportPageCheck(url, shot, numbers, tuple(label for label, _, seen in rows if not seen))


def backfill_keys(tz: str, days: int) -> list[str]:
    """The ``days`` partition keys ending yesterday (in the partitions' time zone), oldest first."""
    end = datetime.now(ZoneInfo(tz)).date() - timedelta(days=1)
    return [(end - timedelta(days=i)).isoformat() for i in range(days - 1, -1, -1)]


def backfill_and_wait(port: int, keys: list[str], timeout: float = 600) -> str:
    """Launch the UI-style backfill of the daily assets, then wait for it and for the automation rebuild."""
    earlier = ui_graphql.automation_run_ids(port)  # a reused DAGSTER_HOME has runs from before
    backfill_id = ui_graphql.launch_backfill(port, DAILY_ASSETS, keys)
    status = ui_graphql.wait_for_backfill(port, backfill_id, timeout)
    if status not in ui_graphql.BACKFILL_OK:
        raise RuntimeError(f"backfill {backfill_id} ended {status}")
    automation = ui_graphql.wait_for_automation_runs(port, timeout, ignore=earlier)
    if automation[0]["status"] != "SUCCESS":
        raise RuntimeError(f"automation run {automation[0]['runId']} ended {automation[0]['status']}")
    return backfill_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--repo-homes",
        action="store_true",
        help="use $FITBIT_SLEEP_HOME and $DAGSTER_HOME (else ./data, <data>/dagster_home: `make demo`'s) instead of "
        "fresh temporary ones",
    )
    parser.add_argument("--dagster-home", type=Path, help="DAGSTER_HOME to use (default: a temporary one)")
    parser.add_argument("--data-home", type=Path, help="FITBIT_SLEEP_HOME to use (default: a temporary one)")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="where screenshots and the dagster dev log go"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary homes (printed) after the check"
    )
    parser.add_argument("--days", type=int, default=200, help="partitions to backfill (ending yesterday)")
    parser.add_argument("--port", type=int, default=0, help="webserver port (default: a free one)")
    parser.add_argument("--sandbox-days", type=int, default=730, help="sandbox history (as `make dev`)")
    args = parser.parse_args(argv)

    chromium = find_chromium()
    if chromium is None:
        print(f"error: {MISSING_CHROMIUM}", file=sys.stderr)
        return 2
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FITBIT_", "DAGSTER_"))}
    tmp: Path | None = None
    if args.repo_homes:
        data_home = Path(os.environ.get("FITBIT_SLEEP_HOME", REPO_ROOT / "data"))
        dagster_home = Path(os.environ.get("DAGSTER_HOME", data_home / "dagster_home"))
    else:
        tmp = Path(tempfile.mkdtemp(prefix="fitbit-ui-check-"))
        dagster_home, data_home = tmp / "dagster_home", tmp / "data"
    dagster_home = (args.dagster_home or dagster_home).resolve()
    data_home = (args.data_home or data_home).resolve()
    env.update(DAGSTER_HOME=str(dagster_home), FITBIT_SLEEP_HOME=str(data_home))
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    print(f"DAGSTER_HOME={dagster_home} FITBIT_SLEEP_HOME={data_home}", flush=True)
    try:
        install_instance_config(dagster_home)
        return _run(env, data_home, out, chromium, args.days, args.port or free_port(), args.sandbox_days)
    finally:
        if tmp is not None and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
            print(f"removed the temporary homes under {tmp} (--keep keeps them)")
        elif tmp is not None:
            print(f"kept the temporary homes under {tmp}")


def _run(
    env: dict[str, str], data_home: Path, out: Path, chromium: str, days: int, port: int, history: int
) -> int:
    from dagster_project.partitions import ProjectConfig

    started = time.monotonic()
    sandbox = start_sandbox(env, data_home, port=0, days=history)
    proc = start_dagster_dev(env, port, log_file=out / "dagster_dev.log")
    try:
        wait_until_ready(port, proc, timeout=180)
        print(f"dagster dev ready on http://127.0.0.1:{port}; backfilling {days} days", flush=True)
        backfill_and_wait(port, backfill_keys(ProjectConfig.from_env(env).timezone, days))
        preview = check_asset_preview(port, chromium, out)
        report = check_report_page(port, chromium, out)
    except (RuntimeError, TimeoutError) as exc:
        print(f"error: {exc} (dagster dev's log: {out / 'dagster_dev.log'})", file=sys.stderr)
        return 1
    finally:
        stop_process_group(proc)
        sandbox.stop()
    problems = preview.problems + report.problems
    print(f"{PLOT_ASSET}: preview {preview.natural_size[0]}x{preview.natural_size[1]} px, shown at "
          f"{preview.displayed_size[0]}x{preview.displayed_size[1]}, screen difference {preview.screen_diff}; "
          f"screenshots {preview.screenshot} and {preview.figure}")  # fmt: skip
    print(f"{REPORT_ASSET}: {len(report.key_numbers)} key numbers inline; screenshot {report.screenshot}")
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    print(f"ui-check {'failed' if problems else 'passed'} in {time.monotonic() - started:.0f} s")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
