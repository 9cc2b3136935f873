"""The one date every test calls "today".

Why pinned: the sandbox's history, the partitions and the freshness checks all hang off "today". A test that used
the machine's date passed on the days the sandbox slept and failed on the others. Every test that needs a date takes
it from here; the sandbox (``SandboxConfig.today``) and the project (``ProjectConfig.today``) are pinned to it.

``FITBIT_SLEEP_TEST_TODAY=YYYY-MM-DD`` moves it: ``bench/sweep_test_dates.py`` (``make test-dates``) runs the
date-sensitive tests on every day of a span, month ends and DST changes included, to show the tests hold on any day.
"""

from __future__ import annotations

import os
from datetime import date

DEFAULT_TEST_TODAY = date(2026, 11, 20)

TEST_TODAY = date.fromisoformat(os.environ.get("FITBIT_SLEEP_TEST_TODAY") or DEFAULT_TEST_TODAY.isoformat())
