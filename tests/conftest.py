"""Shared fixtures: a real sandbox server on an ephemeral loopback port and an isolated data root."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clock import TEST_TODAY


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the tests marked ``slow`` (end-to-end: the demo, ``dagster dev``, CLI backfills killed, cohorts) first.

    Why: pytest-xdist (``make pytest``: ``-n 2``, ``--dist load``) hands tests out in collection order, round-robin
    at the start; a 2-minute test collected last ran alone at the end while the other worker idled. First, the slow
    ones alternate between the workers and the short ones fill in around them. The sort is stable and every worker
    collects the same order; no test depends on another's, so the order changes no result."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty FITBIT_SLEEP_HOME for one test."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("FITBIT_SLEEP_HOME", str(home))
    return home


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., Any]]:
    """Start real sandbox servers with SandboxConfig overrides; all are stopped at teardown."""
    from fitbit_sandbox.config import SandboxConfig
    from fitbit_sandbox.server import SandboxServer

    started: list[SandboxServer] = []

    def start(**overrides: Any) -> SandboxServer:
        overrides.setdefault("days", 120)
        overrides.setdefault("today", TEST_TODAY)  # never the machine's date: see tests/clock.py
        overrides.setdefault("auto_approve", True)
        server = SandboxServer(SandboxConfig(**overrides)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def sandbox(sandbox_factory: Callable[..., Any]) -> Any:
    """A default sandbox: 120 days of history ending ``TEST_TODAY``, consent auto-approved."""
    return sandbox_factory()


@pytest.fixture
def use_sandbox(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], Any]:
    """``use_sandbox(server)`` points the pipeline's environment (client id/secret, API and auth URLs) at ``server``,
    and pins the project's "today" (``FITBIT_SLEEP_TODAY``) to the sandbox's."""

    def use(server: Any) -> Any:
        for name, value in server.client_env().items():
            monkeypatch.setenv(name, value)
        if server.config.today is not None:
            monkeypatch.setenv("FITBIT_SLEEP_TODAY", server.config.today.isoformat())
        return server

    return use


@pytest.fixture
def sandbox_env(sandbox: Any, data_home: Path, use_sandbox: Callable[[Any], Any]) -> Any:
    """Environment that points the pipeline at the default sandbox."""
    return use_sandbox(sandbox)


@pytest.fixture
def refused_url() -> Iterator[str]:
    """``http://127.0.0.1:<port>`` where nothing listens: the port is bound (so no one else takes it) but not
    listening, so every connection is refused at once."""
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()
