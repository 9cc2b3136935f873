"""Turning a pipeline result into Dagster metadata without ever copying a secret.

Why a whitelist of scalar types: results are dataclasses of counts and dates; anything else (paths to token files,
objects) is left out. Range runs copy one ``MaterializeResult`` onto every partition, so the daily assets prefix
their keys with ``run_`` to say the numbers describe the whole run, not the day.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

FORBIDDEN = ("token", "secret", "password", "authorization")


def scalar_facts(result: Any, prefix: str = "") -> dict[str, Any]:
    """Int/float/str fields of ``result`` (dict values of ints are flattened as ``name.key``)."""
    if is_dataclass(result) and not isinstance(result, type):
        items = [(f.name, getattr(result, f.name)) for f in fields(result)]
    elif isinstance(result, dict):
        items = list(result.items())
    else:
        items = list(vars(result).items())
    out: dict[str, Any] = {}
    for key, value in items:
        if any(word in key.lower() for word in FORBIDDEN):
            continue
        if isinstance(value, dict):
            for sub, sub_value in value.items():
                if isinstance(sub_value, int | float) and not isinstance(sub_value, bool):
                    out[f"{prefix}{key}.{sub}"] = sub_value
        elif isinstance(value, list | set | tuple):
            out[f"{prefix}{key}_count"] = len(value)
        elif isinstance(value, bool):
            out[f"{prefix}{key}"] = str(value).lower()
        elif isinstance(value, int | float | str):
            out[f"{prefix}{key}"] = value
    return out
