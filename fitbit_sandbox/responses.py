"""Fitbit-shaped answers every sandbox endpoint module shares: the error body, compact JSON and path dates.

Why a module of its own: ``app.py`` (sleep, OAuth, control) and ``physio_api.py`` (heart rate and the nightly
measures) answer in the same shapes; the route modules import these instead of each other.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from starlette.responses import Response

JSON_TYPE = "application/json;charset=utf-8"


def fitbit_error(
    status: int,
    error_type: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Fitbit's error body: ``{"errors":[{"errorType","fieldName"?,"message"}],"success":false}``."""
    entry: dict[str, str] = {"errorType": error_type}
    if field is not None:
        entry["fieldName"] = field
    entry["message"] = message
    body = json.dumps({"errors": [entry], "success": False}, separators=(",", ":")).encode()
    return Response(body, status, headers=headers, media_type=JSON_TYPE)


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Compact JSON, as Fitbit sends it."""
    return Response(
        json.dumps(payload, separators=(",", ":")).encode(), status, headers=headers, media_type=JSON_TYPE
    )


def parse_day(value: str, today: date) -> date | None:
    """A path date: ``yyyy-MM-dd`` or ``today``; None when it is neither."""
    if value == "today":
        return today
    try:
        if len(value) != 10:
            return None
        return date.fromisoformat(value)
    except ValueError:
        return None
