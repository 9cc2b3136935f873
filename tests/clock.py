"""The one date every test calls "today".

Why pinned: the sandbox's history, the partitions and the freshness checks all hang off "today". A test that used
the machine's date passed on the days the sandbox slept and failed on the others. Every test that needs a date takes
it from here; the sandbox (``SandboxConfig.today``) and the project (``ProjectConfig.today``) are pinned to it.

``FITBIT_SLEEP_TEST_TODAY=YYYY-MM-DD`` moves it: ``bench/sweep_test_dates.py`` (``make test-dates``) runs the
date-sensitive tests on every day of a span, month ends and DST changes included, to show the tests hold on any day.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from typing import Any

DEFAULT_TEST_TODAY = date(2026, 11, 20)

TEST_TODAY = date.fromisoformat(os.environ.get("FITBIT_SLEEP_TEST_TODAY") or DEFAULT_TEST_TODAY.isoformat())


def latest_day(sandbox: Any, *, before: date, slept: bool = True) -> date:
    """The newest date up to ``before`` on which ``sandbox`` (a server or its ``SandboxConfig``) has a main sleep
    (``slept=False``: no log at all).

    Why: which nights the sandbox skips depends on the date; a test that needs a night (or an empty date) picks
    one instead of assuming the sandbox slept on a fixed day, which it does not on every day."""
    from fitbit_sandbox.generator import generate_history

    config = getattr(sandbox, "config", sandbox)
    logs = generate_history(config.seed, config.days, config.today, config.timezone)
    have = {log["dateOfSleep"] for log in logs if log.get("isMainSleep") or not slept}
    first = config.today - timedelta(days=config.days - 1)
    day = before
    while day >= first and (day.isoformat() in have) != slept:
        day -= timedelta(days=1)
    if day < first and not slept:  # every night of the history slept: the day before it has no log either
        return first - timedelta(days=1)
    assert day >= first, f"the sandbox has no night up to {before}"
    return day
