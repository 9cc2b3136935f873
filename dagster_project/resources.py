"""Dagster resources: where the data lives, and how to reach Fitbit.

Why resources and not module globals: tests swap in a sandbox by giving other values (a temp data root, the sandbox
URL), never a mock; and the client secret reaches the run only through ``EnvVar``, which Dagster resolves at run time
and never shows in the UI. Tokens are never a resource field: they live in the 0600 token store under the data root,
which the client refreshes single-flight.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagster import ConfigurableResource, EnvVar, InitResourceContext

from pipeline.config import (
    DEFAULT_API_URL,
    DEFAULT_AUTH_URL,
    DEFAULT_GOOGLE_HEALTH_API_URL,
    DEFAULT_GOOGLE_OAUTH_URL,
    Settings,
    read_secret,
)
from pipeline.paths import StoragePaths

if TYPE_CHECKING:
    from pipeline.client import FitbitClient

# In-process observers of quota waits. The CLI backfill executes runs in its own process and registers a listener
# here to show waits on its progress bar; runs launched by the daemon have none and only log.
WAIT_LISTENERS: list[Callable[[float, str], None]] = []


class StorageResource(ConfigurableResource):  # type: ignore[type-arg]
    """The data root (``FITBIT_SLEEP_HOME``); every path under it comes from ``pipeline.paths.StoragePaths``."""

    root: str

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Record on the run which process executes it, so a run whose process dies can be found and its pool
        slots freed (dagster_project/stuck_runs.py). Every job's steps use this resource."""
        from dagster_project.stuck_runs import tag_run_with_process

        if context.instance is not None and context.run is not None:
            tag_run_with_process(context.instance, context.run)

    def paths(self) -> StoragePaths:
        return StoragePaths(Path(self.root).expanduser())


class FitbitResource(ConfigurableResource):  # type: ignore[type-arg]
    """The sleep API connection: the source (``fitbit`` v1.2 or ``google-health`` v4), its OAuth client and the
    endpoints (real hosts or the sandbox)."""

    client_id: str
    client_secret: str | None = None
    client_secret_file: str | None = None
    api_url: str = DEFAULT_API_URL
    auth_url: str = DEFAULT_AUTH_URL
    source: str = "fitbit"
    google_api_url: str = DEFAULT_GOOGLE_HEALTH_API_URL
    google_oauth_url: str = DEFAULT_GOOGLE_OAUTH_URL

    def settings(self, paths: StoragePaths) -> Settings:
        secret = self.client_secret
        if not secret and self.client_secret_file:
            prefix = "GOOGLE" if self.source == "google-health" else "FITBIT"
            secret = read_secret({f"{prefix}_CLIENT_SECRET_FILE": self.client_secret_file}, prefix)
        return Settings(
            client_id=self.client_id,
            client_secret=secret,
            api_url=self.api_url.rstrip("/"),
            auth_url=self.auth_url.rstrip("/"),
            home=paths.root,
            source=self.source,
            google_api_url=self.google_api_url.rstrip("/"),
            google_oauth_url=self.google_oauth_url.rstrip("/"),
        )

    def client(self, paths: StoragePaths, log: Any = None) -> FitbitClient:
        """A client whose token store lives under ``paths``; quota waits are logged and passed to listeners."""
        from pipeline.source_client import open_client

        def on_wait(seconds: float, reason: str) -> None:
            if log is not None:
                log.warning(f"Fitbit quota: waiting {seconds:.0f} s ({reason}).")
            for listener in list(WAIT_LISTENERS):
                listener(seconds, reason)

        return open_client(self.settings(paths), on_wait=on_wait)


def default_resources(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Resources for the deployed code location.

    Secrets are ``EnvVar``s (resolved at run time, hidden in the UI). Optional variables are wired only when set at
    load time, because an ``EnvVar`` of an unset variable fails the run instead of falling back to the default.
    """
    env = os.environ if environ is None else environ
    settings = Settings.from_env(env)

    def env_or(name: str, default: str | None) -> Any:
        return EnvVar(name) if env.get(name) else default

    id_var, secret_var = settings.client_vars
    return {
        "storage": StorageResource(root=str(settings.home)),
        "fitbit": FitbitResource(
            client_id=EnvVar(id_var),
            client_secret=env_or(secret_var, None),
            client_secret_file=env_or(f"{secret_var}_FILE", None),
            api_url=env_or("FITBIT_API_URL", DEFAULT_API_URL),
            auth_url=env_or("FITBIT_AUTH_URL", DEFAULT_AUTH_URL),
            source=settings.source,
            google_api_url=env_or("GOOGLE_HEALTH_API_URL", DEFAULT_GOOGLE_HEALTH_API_URL),
            google_oauth_url=env_or("GOOGLE_OAUTH_URL", DEFAULT_GOOGLE_OAUTH_URL),
        ),
    }
