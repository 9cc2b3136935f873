"""Counted nouns read right for 0, 1 and many."""

from __future__ import annotations

import pytest

from pipeline.text import plural


@pytest.mark.parametrize(
    ("count", "singular", "irregular", "expected"),
    [
        (0, "day", None, "0 days"),
        (1, "day", None, "1 day"),
        (2, "day", None, "2 days"),
        (1, "API call", None, "1 API call"),
        (100, "API call", None, "100 API calls"),
        (1, "try", "tries", "1 try"),
        (6, "try", "tries", "6 tries"),
    ],
)
def test_plural(count: int, singular: str, irregular: str | None, expected: str) -> None:
    assert plural(count, singular, irregular) == expected
