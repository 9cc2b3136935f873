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

from pipeline.config import profile_timezone, valid_timezone
from pipeline.errors import FitbitSleepError, TimezoneUnknown
from pipeline.paths import StoragePaths

ENV_VAR = "FITBIT_SLEEP_TZ"


def stored_zone(paths: StoragePaths) -> str | None:
    """The zone the tables were built in (None before the first build)."""
    try:
        meta = json.loads(paths.tables_meta_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return valid_timezone(meta.get("timezone")) if isinstance(meta, dict) else None


def resolve_zone(
    paths: StoragePaths, *, explicit: str | None = None, archive: str | None = None, what: str | None = None
) -> tuple[str, str]:
    """(zone, where it came from), in the order of the module docstring; raises :class:`TimezoneUnknown`.

    ``explicit`` is ``--tz``; an unknown name there or in ``FITBIT_SLEEP_TZ`` is an error."""
    env = os.environ.get(ENV_VAR, "").strip()
    for name, option in ((explicit, "--tz"), (env, ENV_VAR)):
        if name and valid_timezone(name) is None:  # a typo must not fall through to another zone
            raise FitbitSleepError(
                f"{option} {name!r} is not a known IANA time zone; use a name like Europe/Berlin or America/New_York."
            )
    if explicit:
        return explicit, "--tz"
    for zone, source in (
        (valid_timezone(archive), "the archive's profile"),
        (env or None, ENV_VAR),
        (stored_zone(paths), "the zone the tables were built in"),
        (profile_timezone(paths), "the Fitbit profile saved at login"),
    ):
        if zone:
            return zone, source
    raise TimezoneUnknown(what or "No time zone is known for the sleep data")
