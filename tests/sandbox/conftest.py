"""Fixtures of the sandbox contract tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from sandbox_helpers import issue_tokens


@pytest.fixture
def api(sandbox: Any) -> Callable[..., requests.Response]:
    """GET an API path on the default sandbox with a fresh bearer token."""
    token = issue_tokens(sandbox)["access_token"]

    def get(path: str, **params: Any) -> requests.Response:
        return requests.get(
            f"{sandbox.base_url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    return get
