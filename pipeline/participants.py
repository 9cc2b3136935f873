"""The participants of a data root: who they are, where their data lives, and which of them the pipeline fetches.

Why a registry file and a data root per participant (docs/participants.md): the single-user pipeline keeps a login,
a quota, a profile, pending dates, raw files and tables under one root. Giving every participant such a root of their
own (``<root>/participants/<id>/``, the same layout) lets every step run unchanged per participant, keeps each
participant's 0600 token file and quota apart, and makes retiring one a flag instead of a data move. The default
participant is the data root itself, so a one-person install (no ``participants.json``) is exactly what it was.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime

from pipeline.atomic import atomic_write_bytes
from pipeline.config import valid_timezone
from pipeline.errors import FitbitSleepError
from pipeline.paths import DEFAULT_PARTICIPANT, StoragePaths

ID_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
ACTIVE = "active"
RETIRED = "retired"


class ParticipantError(FitbitSleepError):
    """A participant id that is malformed, unknown, taken or retired; the message says what to do."""


@dataclass(frozen=True)
class Participant:
    id: str
    status: str = ACTIVE
    timezone: str | None = None
    added_at: str | None = None
    retired_at: str | None = None

    @property
    def active(self) -> bool:
        return self.status == ACTIVE


def check_id(participant_id: str) -> str:
    """``participant_id`` if it is a valid id (lower-case letters, digits, ``-``, ``_``; at most 40), else an error."""
    if not ID_RE.fullmatch(participant_id):
        raise ParticipantError(
            f"{participant_id!r} is not a participant id; use 1-40 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit (e.g. p001)."
        )
    return participant_id


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _load(paths: StoragePaths) -> dict[str, Participant]:
    try:
        data = json.loads(paths.participants_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ParticipantError(
            f"{paths.participants_file} is unreadable ({exc}); restore it from a backup or fix the JSON."
        ) from None
    entries = data.get("participants", []) if isinstance(data, dict) else []
    fields = set(Participant.__dataclass_fields__)
    return {
        e["id"]: Participant(**{k: v for k, v in e.items() if k in fields})
        for e in entries
        if isinstance(e, dict) and isinstance(e.get("id"), str)
    }


def _save(paths: StoragePaths, registry: dict[str, Participant]) -> None:
    body = {"version": 1, "participants": [asdict(p) for p in sorted(registry.values(), key=lambda p: p.id)]}
    atomic_write_bytes(paths.participants_file, (json.dumps(body, indent=1) + "\n").encode())


def default_has_data(paths: StoragePaths) -> bool:
    """Whether the cohort root holds a participant of its own: a login, landed days or tables."""
    root = paths.cohort_paths
    return (
        any(root.tokens_dir.glob("*.json"))
        or any(root.raw_sleep_dir.glob("date=*.json"))
        or root.tables_meta_file.exists()
    )


def list_participants(paths: StoragePaths) -> list[Participant]:
    """Every participant, the default first when it exists: a root without a registry is one default participant;
    with a registry the default counts when it is listed there or the root holds data of its own."""
    registry = _load(paths)
    default = registry.pop(DEFAULT_PARTICIPANT, None)
    if default is None and (not registry or default_has_data(paths)):
        default = Participant(DEFAULT_PARTICIPANT)
    return ([default] if default else []) + sorted(registry.values(), key=lambda p: p.id)


def get_participant(paths: StoragePaths, participant_id: str) -> Participant:
    check_id(participant_id)
    for participant in list_participants(paths):
        if participant.id == participant_id:
            return participant
    if participant_id == DEFAULT_PARTICIPANT:
        return Participant(DEFAULT_PARTICIPANT)
    raise ParticipantError(
        f"No participant {participant_id!r} here; add it with `fitbit-sleep participants add {participant_id}` "
        "(see `fitbit-sleep participants list`)."
    )


def add_participant(paths: StoragePaths, participant_id: str, timezone: str | None = None) -> Participant:
    """Register a participant (active) and create its data root; ``timezone`` seeds its profile until login."""
    check_id(participant_id)
    if participant_id == DEFAULT_PARTICIPANT:
        raise ParticipantError(
            "'default' is the data root's own participant and always exists; choose another id."
        )
    if timezone is not None and valid_timezone(timezone) is None:
        raise ParticipantError(
            f"--tz {timezone!r} is not a known IANA time zone; use a name like Europe/Berlin or America/New_York."
        )
    registry = _load(paths)
    if participant_id in registry:
        raise ParticipantError(
            f"Participant {participant_id!r} exists already ({registry[participant_id].status}); "
            "`fitbit-sleep participants list` shows them."
        )
    participant = Participant(participant_id, ACTIVE, timezone, _now())
    own = paths.participant(participant_id)
    own.root.mkdir(parents=True, exist_ok=True)
    if timezone is not None and not own.profile_file.exists():
        atomic_write_bytes(own.profile_file, json.dumps({"timezone": timezone}).encode())
    registry[participant_id] = participant
    _save(paths, registry)
    return participant


def retire_participant(paths: StoragePaths, participant_id: str) -> Participant:
    """Stop fetching a participant; the data stays, and the warehouse keeps showing it (status retired)."""
    current = get_participant(paths, participant_id)
    if not current.active:
        raise ParticipantError(
            f"Participant {participant_id!r} is retired already (since {current.retired_at})."
        )
    registry = _load(paths)
    retired = replace(current, status=RETIRED, retired_at=_now())
    registry[participant_id] = retired
    _save(paths, registry)
    return retired


def to_fetch(paths: StoragePaths, participant_id: str | None = None) -> list[Participant]:
    """Who a fetch, a backfill or the daily run fetches: ``participant_id`` alone (must be active), else every
    active participant; the default only when it has a login or nobody else is registered (a fresh single-user
    root still fetches, and says that it is not logged in)."""
    if participant_id is not None:
        participant = get_participant(paths, participant_id)
        if not participant.active:
            raise ParticipantError(
                f"Participant {participant_id!r} is retired (since {participant.retired_at}): its data is kept "
                "but it is not fetched any more."
            )
        return [participant]
    everyone = [p for p in list_participants(paths) if p.active]
    others = [p for p in everyone if p.id != DEFAULT_PARTICIPANT]
    if not others:
        return everyone
    root = paths.cohort_paths
    default_login = any(root.tokens_dir.glob("*.json"))
    return [p for p in everyone if p.id != DEFAULT_PARTICIPANT or default_login]


def participant_tz(paths: StoragePaths) -> str | None:
    """The zone a participant's tables are read in when it is not the default one: its login profile's, else the
    zone given at ``participants add --tz``; None for the default participant (the single-user rules apply)."""
    from pipeline.config import profile_timezone

    if paths.participant_id == DEFAULT_PARTICIPANT:
        return None
    return profile_timezone(paths)


def with_data(paths: StoragePaths) -> list[StoragePaths]:
    """The paths of every participant, retired included, whose tables or landing exist (the warehouse's inputs)."""
    out = []
    for participant in list_participants(paths):
        own = paths.participant(participant.id)
        if own.tables_dir.exists() or own.raw_sleep_dir.exists() or participant.id == DEFAULT_PARTICIPANT:
            out.append(own)
    return out
