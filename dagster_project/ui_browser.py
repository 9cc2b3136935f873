"""Headless chromium for the UI checks: find Debian's binary, run it once, or drive one page over DevTools.

Why a module of its own: `make ui-check`, the `dagster dev` smoke test and the report test all launch chromium the
same way (off the network, throwaway profile). Nothing here installs chromium: `make browser` does, as an explicit
set-up step, and callers say what to run when it is missing (``MISSING_CHROMIUM``).

Why ``TMPDIR`` inside the throwaway profile: chromium leaves an empty ``org.chromium.Chromium.*`` directory in the
temp dir on every start; pointed into the profile, it goes away with the profile.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import requests
from websockets.sync.client import connect

from dagster_project.devserver import stop_process_group
from dagster_project.ui_graphql import wait_for

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
MISSING_CHROMIUM = (
    "chromium not found: run `make browser` (installs Debian's chromium package; needs root or sudo)"
)
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


def find_chromium() -> str | None:
    """Debian's chromium binary, or None."""
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


def _profile_env(profile: Path) -> dict[str, str]:
    tmp = profile / "tmp"
    tmp.mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(tmp)}


def run_chromium(binary: str, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run headless chromium once with a throwaway profile (so runs never share state) and the flags above."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-", ignore_cleanup_errors=True) as profile:
        cmd = [binary, *HEADLESS_FLAGS, f"--user-data-dir={profile}", *args]
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=_profile_env(Path(profile))
        )


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
                cmd,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                env=_profile_env(profile),
            )
            self._stack.callback(stop_process_group, proc, 15)  # chromium's zygote/renderer children too
            port_file = profile / "DevToolsActivePort"
            ready = wait_for(
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

    def screenshot(self, clip: tuple[float, float, float, float] | None = None) -> bytes:
        """The viewport (or ``clip`` = x, y, width, height in CSS px, at scale 1) as PNG bytes."""
        params: dict[str, Any] = {"format": "png"}
        if clip is not None:
            x, y, width, height = clip
            params["clip"] = {"x": x, "y": y, "width": width, "height": height, "scale": 1}
        return base64.b64decode(self.call("Page.captureScreenshot", **params)["data"])

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> DevToolsPage:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
