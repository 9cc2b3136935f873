"""Counted nouns for messages people read: "1 day", "2 days", "1 API call".

Why one function: hand-written ``f"{n} days"`` reads "1 days" whenever n is 1, and "call(s)" reads like a form.
Every CLI line that prints a count goes through :func:`plural`.
"""

from __future__ import annotations


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``"1 day"``, ``"0 days"``, ``"2 days"``; irregular nouns pass ``plural_form`` (``plural(n, "try", "tries")``).

    Only the last word is inflected, so ``plural(n, "API call")`` gives ``"2 API calls"``."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count} {word}"
