"""The API client of the configured source (``FITBIT_SLEEP_SOURCE``), for every caller that fetches sleep.

Why one function: the CLI, Dagster and the diff must not each decide which client a source needs.
"""

from __future__ import annotations

from typing import Any

from pipeline.client import FitbitClient, WaitCallback
from pipeline.config import Settings


def open_client(settings: Settings, on_wait: WaitCallback | None = None, **kwargs: Any) -> FitbitClient:
    """A ``FitbitClient`` (v1.2) or a ``GoogleHealthClient`` (v4) for ``settings.source``; same methods."""
    if settings.source == "google-health":
        from pipeline.sources.google_health.client import GoogleHealthClient

        return GoogleHealthClient.from_settings(settings, on_wait=on_wait, **kwargs)
    return FitbitClient.from_settings(settings, on_wait=on_wait, **kwargs)
