"""Headless-browser helpers shared by the report test and the Dagster UI test: Debian's chromium, installed on demand.

Why a helper module (not a fixture only): both test suites need the same install logic. The binary lookup and the
flags (off the network: no QUIC, background networking, component updates or sync; a throwaway profile per run)
come from ``dagster_project.ui_check``, which `make ui-check` uses too, so tests and script launch chromium alike.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from filelock import FileLock

from dagster_project.ui_check import CHROMIUM_CANDIDATES, find_chromium, run_chromium

__all__ = ["CHROMIUM_CANDIDATES", "ensure_chromium", "find_chromium", "install_error", "screenshot"]
_install_error: list[str] = []


def install_error() -> str:
    """Why chromium could not be installed (for the skip reason), or ''."""
    return _install_error[0] if _install_error else ""


def ensure_chromium(timeout: float = 600) -> str | None:
    """Return the chromium binary, running `apt-get install -y chromium` once if it is missing; None if impossible."""
    found = find_chromium()
    if found or _install_error:
        return found
    apt = shutil.which("apt-get")
    if apt is None:
        _install_error.append("apt-get not available")
        return None
    prefix = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if prefix is None:
        _install_error.append("not root and no sudo to run apt-get")
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = [*prefix, apt, "install", "-y", "--no-install-recommends", "chromium"]
    # Two xdist workers may get here at once; dpkg takes one installer at a time, so the second waits, then finds it.
    with FileLock(Path(tempfile.gettempdir()) / "fitbit-sleep-chromium-install.lock", timeout=timeout):
        found = find_chromium()
        if found:
            return found
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        if result.returncode != 0:
            # The package lists may be empty on a fresh image: update once, then retry.
            subprocess.run([*prefix, apt, "update"], capture_output=True, text=True, timeout=timeout, env=env)
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["unknown error"]
        _install_error.append(f"apt-get install chromium failed: {tail[0]}")
        return None
    return find_chromium()


def screenshot(
    url_or_file: str | Path,
    out: Path,
    *,
    chromium: str | None = None,
    window: str = "1280,2000",
    timeout: float = 120,
) -> Path:
    """Screenshot a URL or a local file with headless chromium; returns ``out`` (raises if nothing was written)."""
    binary = chromium or ensure_chromium()
    if binary is None:
        raise RuntimeError(f"chromium unavailable: {install_error()}")
    target = str(url_or_file)
    if isinstance(url_or_file, Path) or not target.startswith(("http://", "https://", "file://")):
        target = Path(target).resolve().as_uri()
    result = run_chromium(binary, [f"--screenshot={out}", f"--window-size={window}", target], timeout=timeout)
    if not out.exists() or out.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no screenshot (exit {result.returncode}): {result.stderr[-500:]}")
    return out
