"""The sandbox profile: a data root made by `make demo` (or `make dev`) keeps using the built-in sandbox.

Why: before it, every command after the demo went to the real API (no FITBIT_API_URL set), spent ~20 s retrying and
failed; using the sandbox took starting it by hand, four variables and a new login. Now the demo leaves
``<data root>/sandbox/profile.json`` (seed, history length, first date; no secrets) and the sandbox keeps its OAuth
state in ``<data root>/sandbox/oauth.json``. A command that talks to the API, when ``FITBIT_API_URL`` is not set and
the profile exists, starts that sandbox in its own process on a free loopback port for as long as the command runs;
the demo's login stays valid because the tokens live in the state file, not in one server's memory.

To use a real Fitbit account, set ``FITBIT_API_URL`` or use another ``FITBIT_SLEEP_HOME``.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pipeline.atomic import atomic_write_bytes
from pipeline.config import ConfigError, Settings
from pipeline.paths import DEFAULT_PARTICIPANT, StoragePaths

if TYPE_CHECKING:
    from fitbit_sandbox.config import SandboxConfig
    from fitbit_sandbox.server import SandboxServer

_T = TypeVar("_T")
# What a profile sandbox sets; restored afterwards so an in-process caller (tests, the demo) keeps its environment.
_ENV_KEYS = (
    "FITBIT_CLIENT_ID",
    "FITBIT_CLIENT_SECRET",
    "FITBIT_API_URL",
    "FITBIT_AUTH_URL",
    "FITBIT_SLEEP_START_DATE",
)


@dataclass(frozen=True)
class SandboxProfile:
    """The sandbox a data root belongs to; ``start_date`` is the first partition (the demo's first backfilled day)."""

    seed: int
    days: int
    start_date: date
    today: date | None = None  # a pinned calendar (`demo --today`, FITBIT_SLEEP_TODAY); None = the real date

    def config(self, paths: StoragePaths, port: int = 0) -> SandboxConfig:
        """The sandbox of this profile: auto-approved consent (loopback only), the shared OAuth state file, and one
        account per registered participant (named by its id, so `login --participant P --auto` signs in as P)."""
        from fitbit_sandbox.config import SandboxConfig
        from pipeline.participants import ParticipantError, list_participants

        try:
            accounts = tuple(p.id for p in list_participants(paths) if p.id != DEFAULT_PARTICIPANT)
        except ParticipantError:
            accounts = ()

        return SandboxConfig(
            port=port,
            seed=self.seed,
            days=self.days,
            auto_approve=True,
            today=self.today,
            state_file=paths.sandbox_state_file,
            accounts=accounts,
        )


def load_profile(paths: StoragePaths) -> SandboxProfile | None:
    """The profile of this data root, or None when it has none (or an unreadable one: then the real API is used)."""
    try:
        data = json.loads(paths.sandbox_profile_file.read_text(encoding="utf-8"))
        pinned = data.get("today")
        return SandboxProfile(
            seed=int(data["seed"]),
            days=int(data["days"]),
            start_date=date.fromisoformat(data["start_date"]),
            today=date.fromisoformat(pinned) if pinned else None,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_profile(paths: StoragePaths, profile: SandboxProfile) -> Path:
    data = {
        **asdict(profile),
        "start_date": profile.start_date.isoformat(),
        "today": profile.today.isoformat() if profile.today else None,
    }
    atomic_write_bytes(paths.sandbox_profile_file, (json.dumps(data, indent=1) + "\n").encode("utf-8"))
    return paths.sandbox_profile_file


def active_profile(environ: MutableMapping[str, str]) -> tuple[StoragePaths, SandboxProfile] | None:
    """The profile to use now: only when FITBIT_API_URL is not set (an explicit URL always wins)."""
    if environ.get("FITBIT_API_URL") or environ.get("GOOGLE_HEALTH_API_URL"):
        return None
    try:
        paths = StoragePaths(Settings.from_env(environ).home)
    except ConfigError:
        return None  # the command itself reports the bad setting in one line
    profile = load_profile(paths)
    return None if profile is None else (paths, profile)


@contextmanager
def profile_sandbox(environ: MutableMapping[str, str] | None = None) -> Iterator[SandboxServer | None]:
    """Run the data root's sandbox for the duration of the block and point ``environ`` (default os.environ) at it:
    the sandbox app's credentials, both base URLs and, unless set, FITBIT_SLEEP_START_DATE (so the partitions start
    where the demo's backfill did) and a pinned FITBIT_SLEEP_TODAY. Yields None, and changes nothing, when no profile applies."""
    env = os.environ if environ is None else environ
    found = active_profile(env)
    if found is None:
        yield None
        return
    paths, profile = found
    from fitbit_sandbox.server import SandboxServer

    saved = {key: env.get(key) for key in _ENV_KEYS}
    server = SandboxServer(profile.config(paths)).start()
    try:
        env.update(server.client_env())
        env.setdefault("FITBIT_SLEEP_START_DATE", profile.start_date.isoformat())
        if profile.today is not None:
            env.setdefault("FITBIT_SLEEP_TODAY", profile.today.isoformat())
        yield server
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value


def uses_api(command: Callable[..., _T]) -> Callable[..., _T]:
    """Decorator for a CLI command that talks to the API: it runs inside :func:`profile_sandbox`."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> _T:
        with profile_sandbox():
            return command(*args, **kwargs)

    return wrapper
