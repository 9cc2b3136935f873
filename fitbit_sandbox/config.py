"""Settings of one sandbox server.

Why a plain dataclass: tests, the bench and the ``fitbit-sleep sandbox`` command all build the server from the same
object, so a default changed here changes it everywhere (the README documents these defaults).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path


@dataclass
class SandboxConfig:
    """Options of ``fitbit-sleep sandbox``; field names follow the command-line options."""

    port: int = 0
    seed: int = 42
    days: int = 730
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"
    # The Google Cloud OAuth client of the v4 side (fitbit_sandbox/google_api.py).
    google_client_id: str = "sandbox-google-client.apps.googleusercontent.com"
    google_client_secret: str = "sandbox-google-client-secret"
    auto_approve: bool = False
    access_token_ttl: int = 28800
    quota: int = 150
    quota_window: int = 3600
    faults: str = ""
    gone: bool = False
    today: date | None = None
    timezone: str = "America/Los_Angeles"
    # Intraday access: a personal app has it; False = a server/client app without Fitbit's approval (the heart-rate
    # intraday answers then lack ``activities-heart-intraday``).
    intraday: bool = True
    # Scopes the simulated user leaves unticked on the consent page (and that auto-approval does not grant).
    withheld_scopes: tuple[str, ...] = ()
    # Extension (not a command-line option): how long a "timeout" fault stalls a response before answering.
    timeout_seconds: float = 12.0
    # Where the OAuth state (signing key, tokens, refresh chains) lives between runs; None = in memory only.
    state_file: Path | None = None
    # Named accounts besides the primary one, each with its own history, tokens and quota (fitbit_sandbox/accounts.py);
    # chosen at login with ``login_hint``.
    accounts: tuple[str, ...] = ()
    # Per-account switches, "p2=revoked,p3=slow:1.5,p4=gone" (also POST /_sandbox/accounts).
    account_faults: str = ""
