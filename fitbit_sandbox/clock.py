"""The server's controllable clock.

Why: token expiry (8 h), authorization-code lifetime (10 min), quota windows (top of the hour) and late sync are
all functions of time; tests move this clock with ``POST /_sandbox/clock`` instead of waiting.
"""

from __future__ import annotations

import time


class Clock:
    """Real time plus an offset that control endpoints can advance or set."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.started = self.now()

    def now(self) -> float:
        """Current server time as a POSIX timestamp (seconds)."""
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def set(self, timestamp: float) -> None:
        self.offset = timestamp - time.time()
