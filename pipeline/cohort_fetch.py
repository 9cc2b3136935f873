"""Fetch one date window for many participants: each with their own login and quota, each failing alone.

Why inside one run and not one partition per participant (docs/participants.md): Dagster advises at most ~100,000
partitions per asset and 1,000 participants x 2 years of days is 730,000. So the daily partitions stay dates, and a
run fans its window out over the participants here. Each participant's calls go through their own client, whose
``QuotaBudget`` keeps them inside their own 150 calls an hour; a few worker threads overlap the waits, and the
participants whose last seen quota is spent go last, so one exhausted quota does not hold the others' calls back.
One participant's failure (a revoked login, 410, a bad answer) is recorded with its reason and the others still land.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pipeline.errors import ApiUnreachable, FitbitSleepError, FitbitUnavailable
from pipeline.landing import LandingResult, land_fetch
from pipeline.paths import DEFAULT_PARTICIPANT, StoragePaths
from pipeline.quota import QuotaSnapshot

DEFAULT_WORKERS = 4
ClientOpener = Callable[[StoragePaths], AbstractContextManager[Any]]


@dataclass
class ParticipantFetch:
    """What happened to one participant's window."""

    participant_id: str
    landed: LandingResult | None = None
    calls: int = 0
    quota_remaining: int | None = None
    waited_s: float = 0.0
    retries: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    error_class: str | None = None
    # whether a retry may help: a transient failure (5xx, timeouts) yes; a lost login, 410 or a bad setting no
    retryable: bool = False
    skipped: bool = False  # landed already by an earlier attempt of the same run

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class CohortFetch:
    start: date
    end: date
    outcomes: list[ParticipantFetch]

    @property
    def failed(self) -> list[ParticipantFetch]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def fetched(self) -> list[ParticipantFetch]:
        return [o for o in self.outcomes if o.ok and not o.skipped]

    @property
    def calls(self) -> int:
        return sum(o.calls for o in self.outcomes)

    def failure_summary(self) -> str:
        """One line naming every failed participant and why (the run's failure message)."""
        parts = [f"{o.participant_id}: {o.error_class}: {o.error}" for o in self.failed]
        return f"{len(parts)} of {len(self.outcomes)} participants failed ({'; '.join(parts)})"

    def failed_ids(self) -> str:
        return ", ".join(o.participant_id for o in self.failed)


def quota_order(people: Iterable[StoragePaths], now: float | None = None) -> list[StoragePaths]:
    """Participants whose last seen quota is spent and not yet reset go last, soonest reset first."""
    now = time.time() if now is None else now

    def wait(p: StoragePaths) -> float:
        snap = QuotaSnapshot.load(p.quota_file)
        if snap is None or snap.remaining is None or snap.remaining > 0:
            return 0.0
        return snap.reset_in(now) or 0.0

    return sorted(people, key=wait)  # stable: equal waits keep the registry order


def for_participant(message: str, participant_id: str) -> str:
    """An error's advice for this participant: its login command names it."""
    if participant_id == DEFAULT_PARTICIPANT:
        return message
    return message.replace("`fitbit-sleep login`", f"`fitbit-sleep login --participant {participant_id}`")


def fetch_one(paths: StoragePaths, start: date, end: date, open_client: ClientOpener) -> ParticipantFetch:
    """Fetch and land one participant's window; a failure becomes the outcome's error, never an exception."""
    outcome = ParticipantFetch(paths.participant_id)
    try:
        with open_client(paths) as client:
            try:
                fetch = client.sleep(start, end)
            finally:
                outcome.calls = client.calls_made
                outcome.waited_s = client.waited_s
                outcome.retries = dict(client.retry_reasons)
                quota = client.last_quota
                outcome.quota_remaining = None if quota is None else quota.remaining
        outcome.landed = land_fetch(paths, fetch)
    except FitbitSleepError as exc:
        outcome.error, outcome.error_class = (
            for_participant(str(exc), paths.participant_id),
            type(exc).__name__,
        )
        outcome.retryable = isinstance(exc, FitbitUnavailable) and not isinstance(exc, ApiUnreachable)
    return outcome


def fetch_participants(
    people: list[StoragePaths],
    start: date,
    end: date,
    open_client: ClientOpener,
    *,
    workers: int = DEFAULT_WORKERS,
    on_done: Callable[[ParticipantFetch], None] | None = None,
) -> CohortFetch:
    """Fetch ``start..end`` for every participant in ``people`` (``workers`` at a time), in quota order."""
    ordered = quota_order(people)
    outcomes: dict[str, ParticipantFetch] = {}

    def one(p: StoragePaths) -> None:
        outcome = fetch_one(p, start, end, open_client)
        outcomes[p.participant_id] = outcome
        if on_done is not None:
            on_done(outcome)

    if len(ordered) <= 1 or workers <= 1:
        for p in ordered:
            one(p)
    else:
        with ThreadPoolExecutor(max_workers=min(workers, len(ordered)), thread_name_prefix="fetch") as pool:
            for future in [pool.submit(one, p) for p in ordered]:
                future.result()  # re-raises a bug (not a FitbitSleepError) instead of hiding it
    return CohortFetch(start, end, [outcomes[p.participant_id] for p in people])
