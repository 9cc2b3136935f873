"""`make ui-check` (``python -m dagster_project.ui_check``): the Dagster UI checked in a real headless browser.

Why: the plot assets attach a base64 thumbnail as markdown metadata; whether the UI really shows it on the asset
page is only known by rendering the page. This starts the same stack as ``make dev`` (dagster.yaml into
DAGSTER_HOME, sandbox + login, ``dagster dev`` in its own process group; devserver's functions), launches a backfill
through GraphQL as the UI does, waits for the whole-history automation to rebuild the plots, then loads the asset
page of ``plot_scatter_efficiency`` in Debian's headless chromium: ``--dump-dom`` must contain an ``<img>`` with a
``data:image/png;base64,`` source (the preview) and ``--screenshot`` saves ``<data root>/ui/<asset>.png``.

The smoke test (tests/dagster_project/test_dagster_dev.py) calls ``check_asset_preview`` inside its own
``dagster dev`` session, so CI starts ``dagster dev`` once.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests
from websockets.sync.client import connect

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

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# Keep chromium off the network (no QUIC, background networking, component updates or sync) and quiet.
HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
PLOT_ASSET = "plot_scatter_efficiency"
PREVIEW_IMG = re.compile(r"<img\b[^>]*\bsrc=\"data:image/png;base64,[A-Za-z0-9+/=]{100,}")
DAILY_ASSETS = ("raw_sleep", "sleep_tables")


def find_chromium() -> str | None:
    """Debian's chromium binary, or None (this module never installs it; tests/browser.py does, in CI)."""
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


def run_chromium(binary: str, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run headless chromium with a throwaway profile (so runs never share state) and the flags above."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        cmd = [binary, *HEADLESS_FLAGS, f"--user-data-dir={profile}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def asset_url(port: int, asset: str = PLOT_ASSET) -> str:
    return f"http://127.0.0.1:{port}/assets/{asset}"


@dataclass(frozen=True)
class UiCheckResult:
    url: str
    screenshot: Path
    preview_found: bool
    preview_size: tuple[int, int]  # natural width, height of the decoded thumbnail (0, 0 if not found)
    dom: str


# Runs in the page until it returns a non-empty string. The UI lists markdown metadata as a "[Show Markdown]" link
# that opens a dialog (nothing inline), so the check clicks it, as a user would, and waits until the decoded image is
# the topmost element at its centre (not hidden under another dialog). A fresh instance first greets with a "Join the
# Dagster community" dialog; "Skip" dismisses it, as a user would.
_FIND_PREVIEW_JS = """(() => {
  const byText = (sel, text) => [...document.querySelectorAll(sel)].find(e => e.textContent.trim() === text);
  const skip = byText('button', 'Skip');
  if (skip) { skip.click(); return ''; }
  const img = [...document.querySelectorAll('img')].find(i => i.src.startsWith('data:image/png;base64,'));
  if (!img) {
    const link = byText('a, button', '[Show Markdown]');
    if (link) link.click();
    return '';
  }
  const box = img.getBoundingClientRect();
  const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  if (img.complete && img.naturalWidth > 0 && top === img) return JSON.stringify([img.naturalWidth, img.naturalHeight]);
  return '';
})()"""


def check_asset_preview(
    port: int,
    chromium: str,
    out_dir: Path,
    *,
    asset: str = PLOT_ASSET,
    timeout: float = 60,
    width: int = 1400,
    height: int = 1800,
) -> UiCheckResult:
    """Open the asset page and its preview the way a user does; report whether the thumbnail ``<img>`` rendered,
    with the rendered DOM and a screenshot saved at ``out_dir/<asset>.png`` (taken whether or not it was found).

    Why the DevTools protocol and not ``--dump-dom``/``--screenshot``: the thumbnail sits behind the metadata table's
    "[Show Markdown]" link, so the page needs a click and a wait for the image, which the one-shot flags cannot do.
    The image must be found on two polls in a row (dialog animation done, nothing on top) before the capture.
    """
    url = asset_url(port, asset)
    out_dir.mkdir(parents=True, exist_ok=True)
    shot = out_dir / f"{asset}.png"
    with DevToolsPage(chromium, width=width, height=height) as page:
        page.call("Page.navigate", url=url)
        size: list[int] = []
        seen = 0
        deadline = time.monotonic() + timeout
        while seen < 2 and time.monotonic() < deadline:
            found = page.evaluate(_FIND_PREVIEW_JS)
            seen = seen + 1 if found else 0
            size = json.loads(found) if found else []
            time.sleep(0.5)
        dom = str(page.evaluate("document.documentElement.outerHTML"))
        png = page.call("Page.captureScreenshot", format="png")["data"]
    shot.write_bytes(base64.b64decode(png))
    sized = (size[0], size[1]) if size else (0, 0)
    return UiCheckResult(url, shot, seen >= 2 and bool(PREVIEW_IMG.search(dom)), sized, dom)


class DevToolsPage:
    """One headless chromium with one page, driven over the Chrome DevTools protocol (a websocket; no extra deps).

    Chromium picks a free debugging port (``--remote-debugging-port=0``) and writes it to ``DevToolsActivePort`` in
    its throwaway profile; the page's websocket URL comes from ``/json/list`` on that port.
    """

    def __init__(self, chromium: str, *, width: int, height: int, start_timeout: float = 30) -> None:
        self._next_id = 0
        self._stack = contextlib.ExitStack()  # unwinds in reverse: websocket, chromium's group, profile
        try:
            profile = Path(
                self._stack.enter_context(
                    tempfile.TemporaryDirectory(prefix="chromium-profile-", ignore_cleanup_errors=True)
                )
            )
            cmd = [
                chromium,
                *HEADLESS_FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                f"--window-size={width},{height}",
                "about:blank",
            ]
            proc = subprocess.Popen(
                cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
            )
            self._stack.callback(stop_process_group, proc, 15)  # chromium's zygote/renderer children too
            port_file = profile / "DevToolsActivePort"
            ready = ui_graphql.wait_for(
                lambda: port_file.is_file() and port_file.read_text().strip(), start_timeout, "chromium", 0.2
            )
            debug_port = int(str(ready).splitlines()[0])
            targets = requests.get(f"http://127.0.0.1:{debug_port}/json/list", timeout=10).json()
            ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
            self._ws = self._stack.enter_context(connect(ws_url, max_size=None, proxy=None, open_timeout=10))
            self.call(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=False,
            )
        except BaseException:
            self._stack.close()
            raise

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its ``result`` (events that arrive meanwhile are ignored)."""
        self._next_id += 1
        self._ws.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv(timeout=60))
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})  # type: ignore[no-any-return]

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> DevToolsPage:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


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
    parser.add_argument("--days", type=int, default=200, help="partitions to backfill (ending yesterday)")
    parser.add_argument("--port", type=int, default=0, help="webserver port (default: a free one)")
    parser.add_argument("--sandbox-days", type=int, default=730, help="sandbox history (as `make dev`)")
    args = parser.parse_args(argv)

    chromium = find_chromium()
    if chromium is None:
        print(
            "error: chromium not found; install Debian's package: sudo apt-get install chromium",
            file=sys.stderr,
        )
        return 2
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FITBIT_", "DAGSTER_"))}
    if args.repo_homes:
        data_home = Path(os.environ.get("FITBIT_SLEEP_HOME", REPO_ROOT / "data"))
        dagster_home = Path(os.environ.get("DAGSTER_HOME", data_home / "dagster_home"))
    else:
        # kept afterwards (the screenshot is the point); printed below so it can be opened or removed
        tmp = Path(tempfile.mkdtemp(prefix="fitbit-ui-check-"))
        dagster_home, data_home = tmp / "dagster_home", tmp / "data"
    dagster_home = (args.dagster_home or dagster_home).resolve()
    data_home = (args.data_home or data_home).resolve()
    env.update(DAGSTER_HOME=str(dagster_home), FITBIT_SLEEP_HOME=str(data_home))
    install_instance_config(dagster_home)
    (data_home / "ui").mkdir(parents=True, exist_ok=True)
    print(f"DAGSTER_HOME={dagster_home} FITBIT_SLEEP_HOME={data_home}", flush=True)
    return _run(env, data_home, chromium, args.days, args.port or free_port(), args.sandbox_days)


def _run(env: dict[str, str], data_home: Path, chromium: str, days: int, port: int, history: int) -> int:
    from dagster_project.partitions import ProjectConfig

    started = time.monotonic()
    sandbox = start_sandbox(env, data_home, port=0, days=history)
    proc = start_dagster_dev(env, port, log_file=data_home / "ui" / "dagster_dev.log")
    try:
        wait_until_ready(port, proc, timeout=180)
        print(f"dagster dev ready on http://127.0.0.1:{port}; backfilling {days} days", flush=True)
        backfill_and_wait(port, backfill_keys(ProjectConfig.from_env(env).timezone, days))
        result = check_asset_preview(port, chromium, data_home / "ui")
    except (RuntimeError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        stop_process_group(proc)
        sandbox.stop()
    print(f"screenshot: {result.screenshot}")
    print(f"preview image on {result.url}: {'yes' if result.preview_found else 'NO'}")
    print(f"ui-check took {time.monotonic() - started:.0f} s")
    return 0 if result.preview_found else 1


if __name__ == "__main__":
    sys.exit(main())
