"""Headless chromium for the report test and the Dagster UI test: found here, never installed here.

Why no install: chromium is a system package. `make browser` installs it as an explicit, named set-up step (and says
so), and `make test` runs that step first. A test that needs chromium calls ``require_chromium()``: under `make test`
(which sets ``FITBIT_SLEEP_REQUIRE_BROWSER=1``) or in CI (``CI`` set) a missing chromium fails the test with what to
run; a plain ``pytest`` elsewhere skips it with the same message. The binary lookup and the flags come from
``dagster_project.ui_browser``, which `make ui-check` uses too, so tests and script launch chromium alike.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dagster_project.ui_browser import MISSING_CHROMIUM, find_chromium, run_chromium

__all__ = ["browser_required", "require_chromium", "screenshot"]


def browser_required() -> bool:
    """True under `make test` and in CI: a missing chromium is then a failure, not a skip."""
    return os.environ.get("FITBIT_SLEEP_REQUIRE_BROWSER") == "1" or bool(os.environ.get("CI"))


def require_chromium() -> str:
    """The chromium binary; otherwise fail (``browser_required()``) or skip, saying to run `make browser`."""
    binary = find_chromium()
    if binary is not None:
        return binary
    if browser_required():
        pytest.fail(MISSING_CHROMIUM, pytrace=False)
    pytest.skip(MISSING_CHROMIUM)


def screenshot(
    url_or_file: str | Path, out: Path, *, chromium: str, window: str = "1280,2000", timeout: float = 120
) -> Path:
    """Screenshot a URL or a local file with headless chromium; returns ``out`` (raises if nothing was written)."""
    target = str(url_or_file)
    if isinstance(url_or_file, Path) or not target.startswith(("http://", "https://", "file://")):
        target = Path(target).resolve().as_uri()
    result = run_chromium(
        chromium, [f"--screenshot={out}", f"--window-size={window}", target], timeout=timeout
    )
    if not out.exists() or out.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no screenshot (exit {result.returncode}): {result.stderr[-500:]}")
    return out
