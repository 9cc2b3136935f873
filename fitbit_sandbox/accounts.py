"""The sandbox's user accounts: the primary one plus any number of named others, each with its own history.

Why accounts with names: a study's pipeline logs in many people, each with their own tokens, quota and nights. The
sandbox serves them from one server the way Fitbit does: an account is chosen on the consent page (``login_hint``,
the name a person would type to sign in), every token belongs to one account, the quota counts per account, and the
sleep history of an account is generated from a seed derived from the server's seed and its name (so it differs
between accounts and is the same in every run). The primary account (no hint, or the hint ``default``) is the one a
single-user sandbox always had.

Each account can be switched (config ``account_faults``, ``fitbit-sleep sandbox --account-faults``, or
``POST /_sandbox/accounts``) to:

- ``slow``: every API answer for it waits ``delay`` seconds first;
- ``revoked``: the person withdrew consent: its tokens answer 401 ``invalid_token`` and refreshing answers
  ``invalid_grant`` (until it logs in again after being switched back to ``ok``);
- ``gone``: its API calls answer 410 (the account was deleted);
- ``ok``: normal.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fitbit_sandbox.store import SleepStore

PRIMARY = "default"
STATES = ("ok", "slow", "revoked", "gone")
DEFAULT_DELAY_S = 1.0


def user_id_for(seed: int) -> str:
    """Fitbit's six-character encoded user id, derived from a seed."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    n = (seed * 2654435761 + 12345) % (34**6)
    return "".join(alphabet[(n // 34**i) % 34] for i in range(6))


def account_seed(seed: int, name: str) -> int:
    """The history seed of a named account: stable across runs, different for every name."""
    return seed + 1 + zlib.crc32(name.encode("utf-8")) % 1_000_003


@dataclass
class Account:
    name: str
    seed: int
    user_id: str
    days: int
    today: date
    timezone: str
    state: str = "ok"
    delay_s: float = 0.0
    calls: int = 0
    calls_by_window: dict[int, int] = field(default_factory=dict)
    _store: SleepStore | None = None

    @property
    def store(self) -> SleepStore:
        """The account's history, generated on first use (a cohort of many accounts starts fast)."""
        if self._store is None:
            self._store = SleepStore(self.seed, self.days, self.today, self.timezone)
        return self._store

    def count_call(self, window: int) -> None:
        self.calls += 1
        self.calls_by_window[window] = self.calls_by_window.get(window, 0) + 1

    def describe(self) -> dict[str, Any]:
        return {
            "account": self.name,
            "user_id": self.user_id,
            "state": self.state,
            "delay_s": self.delay_s,
            "calls": self.calls,
            "max_calls_in_window": max(self.calls_by_window.values(), default=0),
        }


def account_names(spec: str) -> tuple[str, ...]:
    """``"p001,p002"`` -> those names; ``"20"`` -> p001..p020 (the cohort demo's participant ids)."""
    spec = spec.strip()
    if spec.isdigit():
        return tuple(cohort_name(i) for i in range(1, int(spec) + 1))
    names = tuple(filter(None, (part.strip() for part in spec.split(","))))
    bad = [n for n in names if not n.replace("-", "").replace("_", "").isalnum()]
    if bad:
        raise ValueError(f"bad account name {bad[0]!r}: use letters, digits, '-' and '_'")
    return names


def cohort_name(number: int) -> str:
    """The name of the ``number``-th account of a cohort (p001, p002, ...)."""
    return f"p{number:03d}"


def parse_account_faults(spec: str) -> dict[str, tuple[str, float]]:
    """``"p2=revoked,p3=slow:1.5,p4=gone"`` -> {name: (state, delay seconds)}; raises ValueError on a bad entry."""
    out: dict[str, tuple[str, float]] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, sep, rest = item.partition("=")
        state, _, delay = rest.partition(":")
        if not sep or not name or state not in STATES:
            raise ValueError(
                f"bad account fault {item!r}: use NAME=STATE with STATE one of {', '.join(STATES)} "
                "(slow takes :SECONDS)"
            )
        out[name] = (state, float(delay) if delay else DEFAULT_DELAY_S if state == "slow" else 0.0)
    return out


class Accounts:
    """Every account of one sandbox, by login name and by user id."""

    def __init__(
        self,
        seed: int,
        days: int,
        today: date,
        timezone: str,
        primary_store: SleepStore,
        names: tuple[str, ...],
    ) -> None:
        primary = Account(PRIMARY, seed, user_id_for(seed), days, today, timezone, _store=primary_store)
        self.by_name: dict[str, Account] = {PRIMARY: primary}
        for name in names:
            if name in self.by_name:
                continue
            own = account_seed(seed, name)
            self.by_name[name] = Account(name, own, user_id_for(own), days, today, timezone)
        self.by_user = {a.user_id: a for a in self.by_name.values()}
        if len(self.by_user) != len(self.by_name):
            raise ValueError("two sandbox accounts got the same user id; rename one")

    @property
    def primary(self) -> Account:
        return self.by_name[PRIMARY]

    def named(self, hint: str | None) -> Account | None:
        """The account a login hint names (none: the primary), or None when no account has that name."""
        return self.primary if not hint else self.by_name.get(hint)

    def of_user(self, user_id: str) -> Account:
        return self.by_user.get(user_id, self.primary)

    def set_state(self, name: str, state: str, delay_s: float | None = None) -> Account:
        account = self.by_name.get(name)
        if account is None:
            raise ValueError(f"no sandbox account {name!r}; accounts: {', '.join(self.by_name)}")
        if state not in STATES:
            raise ValueError(f"state must be one of {', '.join(STATES)}")
        account.state = state
        account.delay_s = (delay_s if delay_s is not None else DEFAULT_DELAY_S) if state == "slow" else 0.0
        return account

    def describe(self) -> list[dict[str, Any]]:
        return [a.describe() for a in self.by_name.values()]
