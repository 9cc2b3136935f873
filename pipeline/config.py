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
DEFAULT_HOME = "data"


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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        secret = env.get("FITBIT_CLIENT_SECRET") or None
        secret_file = env.get("FITBIT_CLIENT_SECRET_FILE")
        if not secret and secret_file:
            try:
                secret = Path(secret_file).read_text(encoding="utf-8").strip() or None
            except OSError as exc:
                raise ConfigError(
                    f"FITBIT_CLIENT_SECRET_FILE={secret_file} cannot be read ({exc.strerror}); "
                    "point it at a readable file that holds only the client secret."
                ) from None
        return cls(
            client_id=env.get("FITBIT_CLIENT_ID") or None,
            client_secret=secret,
            api_url=(env.get("FITBIT_API_URL", "").strip() or DEFAULT_API_URL).rstrip("/"),
            auth_url=(env.get("FITBIT_AUTH_URL", "").strip() or DEFAULT_AUTH_URL).rstrip("/"),
            home=Path(env.get("FITBIT_SLEEP_HOME") or DEFAULT_HOME).expanduser(),
        )

    def require_client(self) -> tuple[str, str]:
        """Return (client_id, client_secret) or explain exactly which variables are missing."""
        missing = [
            n
            for n, v in (("FITBIT_CLIENT_ID", self.client_id), ("FITBIT_CLIENT_SECRET", self.client_secret))
            if not v
        ]
        if missing:
            raise ConfigError(
                f"{' and '.join(missing)} not set. Export them (or FITBIT_CLIENT_SECRET_FILE) with the values of "
                "your Fitbit app, or of the sandbox (see README)."
            )
        assert self.client_id and self.client_secret
        return self.client_id, self.client_secret


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
