"""The sleep-science definitions that differ between papers, chosen by the user (env), baked into the warehouse.

Why settings at all: SRI implementations disagree on the epoch length, awakening counts on the minimum length of a
wake, and social jet lag on which days are free. A number is only comparable with a paper when it says which variant
it is, so the warehouse stores the variant it was built with (table ``metric_settings``, the free dates in
``free_dates``) and the views in ``sql/metrics.sql`` read them from there. The defaults are the most cited choices;
docs/metrics.md names them and their sources.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipeline.errors import FitbitSleepError
from pipeline.paths import StoragePaths

ISO_WEEKDAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}

DEFAULT_SRI_EPOCH_SECONDS = 30  # the native resolution of Fitbit stages data (classic data is 60 s)
DEFAULT_AWAKENING_MINUTES = (
    5.0  # wakes of >= 5 min: the usual "long awakening" cut-off of actigraphy/PSG reports
)
DEFAULT_FREE_DAYS = "sat,sun"  # MCTQ's default reading of a free day when the user says nothing: the weekend
DEFAULT_SLEEP_GOAL_HOURS = 7.0  # AASM/SRS consensus: adults should sleep 7 h or more (Watson et al. 2015)


class MetricSettingsError(FitbitSleepError):
    """A metric setting in the environment is unreadable; the message names the variable and the accepted values."""


@dataclass(frozen=True)
class MetricSettings:
    """The variant of each metric: see docs/metrics.md and the README's Configuration table."""

    sri_epoch_seconds: int = DEFAULT_SRI_EPOCH_SECONDS
    awakening_minutes: float = DEFAULT_AWAKENING_MINUTES
    free_weekdays: tuple[int, ...] = (6, 7)  # ISO weekdays (Mon = 1) of the DAY AFTER a free night
    free_dates: tuple[date, ...] = field(default=())  # extra free days (holidays), from the free-dates file
    sleep_goal_hours: float = DEFAULT_SLEEP_GOAL_HOURS

    @classmethod
    def from_env(cls, paths: StoragePaths, environ: Mapping[str, str] | None = None) -> MetricSettings:
        env = os.environ if environ is None else environ
        free_file = env.get("FITBIT_SLEEP_FREE_DATES_FILE") or ""
        return cls(
            sri_epoch_seconds=_epoch(env.get("FITBIT_SLEEP_SRI_EPOCH_SECONDS")),
            awakening_minutes=_positive(
                "FITBIT_SLEEP_AWAKENING_MINUTES",
                env.get("FITBIT_SLEEP_AWAKENING_MINUTES"),
                DEFAULT_AWAKENING_MINUTES,
            ),
            free_weekdays=parse_free_days(env.get("FITBIT_SLEEP_FREE_DAYS") or DEFAULT_FREE_DAYS),
            free_dates=read_free_dates(
                Path(free_file) if free_file else paths.free_dates_file, required=bool(free_file)
            ),
            sleep_goal_hours=_positive(
                "FITBIT_SLEEP_GOAL_HOURS", env.get("FITBIT_SLEEP_GOAL_HOURS"), DEFAULT_SLEEP_GOAL_HOURS
            ),
        )


def _epoch(text: str | None) -> int:
    """An epoch length that tiles a day exactly (so every day has the same M epochs), 1 s to 10 min."""
    if not text:
        return DEFAULT_SRI_EPOCH_SECONDS
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 600 or 86400 % value:
        raise MetricSettingsError(
            f"FITBIT_SLEEP_SRI_EPOCH_SECONDS={text!r} is not a whole number of seconds that divides a day (1-600, "
            "e.g. 30 or 60). Set it to 30 (the default) or 60."
        )
    return value


def _positive(name: str, text: str | None, default: float) -> float:
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 24 * 60:
        raise MetricSettingsError(
            f"{name}={text!r} is not a positive number. Unset it for the default ({default})."
        )
    return value


def parse_free_days(text: str) -> tuple[int, ...]:
    """``"sat,sun"`` -> (6, 7): the weekdays that are free (the night BEFORE each is a free night)."""
    names = [part.strip().lower()[:3] for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in ISO_WEEKDAYS]
    if unknown or not names:
        raise MetricSettingsError(
            f"FITBIT_SLEEP_FREE_DAYS={text!r} is not a list of weekdays. Use names like 'sat,sun' or 'fri,sat'."
        )
    return tuple(sorted({ISO_WEEKDAYS[n] for n in names}))


def read_free_dates(path: Path, *, required: bool) -> tuple[date, ...]:
    """Extra free days (holidays, vacation), one ISO date per line; ``#`` starts a comment, blank lines are skipped.

    The default file is optional; a file named by ``FITBIT_SLEEP_FREE_DATES_FILE`` must exist."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        if required:
            raise MetricSettingsError(
                f"FITBIT_SLEEP_FREE_DATES_FILE={path} does not exist. Create it (one YYYY-MM-DD per line) or unset it."
            ) from None
        return ()
    except OSError as exc:
        raise MetricSettingsError(f"The free-dates file {path} cannot be read ({exc.strerror}).") from None
    days: set[date] = set()
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            days.add(date.fromisoformat(text))
        except ValueError:
            raise MetricSettingsError(
                f"{path}:{number}: {text!r} is not a date. Write one YYYY-MM-DD per line (# starts a comment)."
            ) from None
    return tuple(sorted(days))
