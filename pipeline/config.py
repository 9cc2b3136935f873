"""Settings read from the environment.

Why one place: every entry point (CLI, Dagster resources, tests) must agree on where the API lives and where the
data root is. Secrets are only ever read from the environment or a file, never from argv or Dagster run config.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.errors import FitbitSleepError
from pipeline.paths import StoragePaths

DEFAULT_API_URL = "https://api.fitbit.com"
DEFAULT_AUTH_URL = "https://www.fitbit.com"
DEFAULT_GOOGLE_HEALTH_API_URL = "https://health.googleapis.com"
DEFAULT_GOOGLE_OAUTH_URL = "https://accounts.google.com"
DEFAULT_HOME = "data"
SOURCES = ("fitbit", "google-health")


class ConfigError(FitbitSleepError):
    """A setting is missing or unreadable; the message says which variable to set."""


@dataclass(frozen=True)
class Settings:
    """Connection and storage settings. ``client_secret`` is excluded from ``repr`` so it never lands in a log."""

    client_id: str | None
    client_secret: str | None = field(repr=False)
    api_url: str = DEFAULT_API_URL
    auth_url: str = DEFAULT_AUTH_URL
    home: Path = Path(DEFAULT_HOME)
    # ``FITBIT_SLEEP_SOURCE``: "fitbit" (the v1.2 API; api_url/auth_url) or "google-health" (the Google Health API
    # v4; GOOGLE_HEALTH_API_URL/GOOGLE_OAUTH_URL, and the client is GOOGLE_CLIENT_ID/GOOGLE_CLIENT_SECRET).
    source: str = "fitbit"
    google_api_url: str = DEFAULT_GOOGLE_HEALTH_API_URL
    google_oauth_url: str = DEFAULT_GOOGLE_OAUTH_URL

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        source = env.get("FITBIT_SLEEP_SOURCE", "").strip() or "fitbit"
        if source not in SOURCES:
            raise ConfigError(
                f"FITBIT_SLEEP_SOURCE={source!r} is not a source; use fitbit (the v1.2 API) or google-health (the "
                "Google Health API v4)."
            )
        prefix = "GOOGLE" if source == "google-health" else "FITBIT"
        return cls(
            client_id=env.get(f"{prefix}_CLIENT_ID") or None,
            client_secret=read_secret(env, prefix),
            api_url=_url(env, "FITBIT_API_URL", DEFAULT_API_URL),
            auth_url=_url(env, "FITBIT_AUTH_URL", DEFAULT_AUTH_URL),
            home=Path(env.get("FITBIT_SLEEP_HOME") or DEFAULT_HOME).expanduser(),
            source=source,
            google_api_url=_url(env, "GOOGLE_HEALTH_API_URL", DEFAULT_GOOGLE_HEALTH_API_URL),
            google_oauth_url=_url(env, "GOOGLE_OAUTH_URL", DEFAULT_GOOGLE_OAUTH_URL),
        )

    @property
    def client_vars(self) -> tuple[str, str]:
        """The variables holding this source's OAuth client (id, secret)."""
        prefix = "GOOGLE" if self.source == "google-health" else "FITBIT"
        return f"{prefix}_CLIENT_ID", f"{prefix}_CLIENT_SECRET"

    def require_client(self) -> tuple[str, str]:
        """Return (client_id, client_secret) or explain exactly which variables are missing."""
        id_var, secret_var = self.client_vars
        missing = [n for n, v in ((id_var, self.client_id), (secret_var, self.client_secret)) if not v]
        if missing:
            whose = (
                "OAuth client in your Google Cloud project"
                if self.source == "google-health"
                else "Fitbit app"
            )
            raise ConfigError(
                f"{' and '.join(missing)} not set. Export them (or {secret_var}_FILE) with the values of your "
                f"{whose}, or of the sandbox (see README)."
            )
        assert self.client_id and self.client_secret
        return self.client_id, self.client_secret


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    return (env.get(name, "").strip() or default).rstrip("/")


def read_secret(env: Mapping[str, str], prefix: str) -> str | None:
    """``<prefix>_CLIENT_SECRET``, else the content of the file ``<prefix>_CLIENT_SECRET_FILE`` names."""
    secret = env.get(f"{prefix}_CLIENT_SECRET") or None
    secret_file = env.get(f"{prefix}_CLIENT_SECRET_FILE")
    if not secret and secret_file:
        try:
            secret = Path(secret_file).read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise ConfigError(
                f"{prefix}_CLIENT_SECRET_FILE={secret_file} cannot be read ({exc.strerror}); "
                "point it at a readable file that holds only the client secret."
            ) from None
    return secret


def date_setting(environ: Mapping[str, str], name: str) -> date | None:
    """The date in variable ``name`` (YYYY-MM-DD), None when unset, or a one-line ConfigError naming it."""
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a date; use YYYY-MM-DD (e.g. 2024-01-01).") from None


def local_today(environ: Mapping[str, str] | None, timezone: str) -> date:
    """The project's "today": ``FITBIT_SLEEP_TODAY`` when pinned (tests, reproducible demos), else the current date
    in ``timezone``. The last partition, the freshness checks and the CLI's "not after today" all use it."""
    env = os.environ if environ is None else environ
    return date_setting(env, "FITBIT_SLEEP_TODAY") or datetime.now(ZoneInfo(timezone)).date()


def partition_timezone(environ: Mapping[str, str] | None, paths: StoragePaths) -> str:
    """The zone of the daily partitions and of "today": ``FITBIT_SLEEP_TZ``, else the profile's zone saved at login,
    else UTC. A ``FITBIT_SLEEP_TZ`` the system does not know is an error, never silently replaced by another zone."""
    env = os.environ if environ is None else environ
    name = env.get("FITBIT_SLEEP_TZ", "").strip()
    if name:
        if valid_timezone(name) is None:
            raise ConfigError(
                f"FITBIT_SLEEP_TZ={name!r} is not a known time zone; use an IANA name such as Europe/Berlin or "
                "America/Los_Angeles, or unset it to use your Fitbit profile's zone."
            )
        return name
    return profile_timezone(paths) or "UTC"


def profile_timezone(paths: StoragePaths) -> str | None:
    """The IANA zone Fitbit reported at login (or the archive's), or None when there is none or it is unreadable."""
    try:
        profile = json.loads(paths.profile_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return valid_timezone(profile.get("timezone")) if isinstance(profile, dict) else None


def valid_timezone(name: object) -> str | None:
    """``name`` if it is an IANA zone this system knows, else None."""
    if not isinstance(name, str) or not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name
