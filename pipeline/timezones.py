"""Which time zone local sleep times are read in, and where that decision is kept.

Why a policy of its own: Fitbit's sleep times are local wall-clock times without an offset, and archives carry no
zone in their sleep files (``../shared/reference/real-fitbit-data.md`` §1). Guessing UTC shifts every night by hours,
and two imports in two zones would mix in one table. So the zone is decided once, in this order, and then kept:

1. ``--tz`` given on the command line (the user said so);
2. the archive's own profile (``Your Profile/Profile.csv``: the account's zone);
3. ``FITBIT_SLEEP_TZ``;
4. the zone the tables were built in (``tables/_meta.json``, written by ``pipeline.tables``);
5. the zone Fitbit reported at login (``state/profile.json``);
6. otherwise stop, and say which option to pass (:class:`TimezoneUnknown`).

The tables record the zone they were built in; ``pipeline.tables.update_tables`` rebuilds every month when it is
asked for another one, so a table never holds two zones.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.errors import FitbitSleepError, TimezoneUnknown
from pipeline.paths import StoragePaths

ENV_VAR = "FITBIT_SLEEP_TZ"


def valid_zone(name: object) -> str | None:
    """``name`` when it is a known IANA zone, else None."""
    if not isinstance(name, str) or not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def _json_zone(path: Path) -> str | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return valid_zone(doc.get("timezone")) if isinstance(doc, dict) else None


def stored_zone(paths: StoragePaths) -> str | None:
    """The zone the tables were built in (None before the first build)."""
    return _json_zone(paths.tables_meta_file)


def login_zone(paths: StoragePaths) -> str | None:
    """The zone Fitbit reported at login (or an imported archive's profile when nobody logged in)."""
    return _json_zone(paths.profile_file)


def resolve_zone(
    paths: StoragePaths, *, explicit: str | None = None, archive: str | None = None, what: str | None = None
) -> tuple[str, str]:
    """(zone, where it came from), in the order of the module docstring; raises :class:`TimezoneUnknown`.

    ``explicit`` is ``--tz``; an unknown name there is an error (a typo must not fall through to another zone)."""
    if explicit:
        if valid_zone(explicit) is None:
            raise FitbitSleepError(
                f"--tz {explicit!r} is not a known IANA time zone; use a name like Europe/Berlin or America/New_York."
            )
        return explicit, "--tz"
    for zone, source in (
        (valid_zone(archive), "the archive's profile"),
        (valid_zone(os.environ.get(ENV_VAR)), ENV_VAR),
        (stored_zone(paths), "the zone the tables were built in"),
        (login_zone(paths), "the Fitbit profile saved at login"),
    ):
        if zone:
            return zone, source
    raise TimezoneUnknown(what or "No time zone is known for the sleep data")
