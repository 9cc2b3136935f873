"""Fault injection from a compact spec such as ``5xx=0.1,timeout=0.02,truncate=0.01,token5xx=0.2``.

Why a seeded RNG: a failing run must be reproducible, so the same spec and seed give the same sequence of faults
for the same sequence of requests.

Keys (rates are probabilities per request, 0..1):

- ``5xx``: API answers 500 (JSON ``errors[]``), 502 or 503 (HTML from the edge, like a proxy).
- ``timeout``: the API stalls ``timeout_seconds`` (config, or the ``timeout_seconds=S`` key) before answering.
- ``truncate``: a 200 API body is cut in half (invalid JSON, honest ``Content-Length``).
- ``token5xx``: ``POST /oauth2/token`` answers 502 or 503 before doing anything.
- ``token409``: a refresh answers 409 (concurrent refresh) without consuming the refresh token.
- ``badenvelope``: a 200 sleep answer is replaced by one that is not the envelope asked for: no ``sleep`` key,
  ``"sleep": null``, an ``errors[]`` body, or a log dated outside the requested range (chosen by the same RNG).
- ``storm``: starts a 429 storm: the next ``storm_length`` (default 5) API requests answer 429.
- ``latesync=S``: the last night is missing for S seconds of server clock after start, then ``pending`` for S more.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

RATE_KEYS = ("5xx", "timeout", "truncate", "badenvelope", "token5xx", "token409", "storm")
BAD_ENVELOPES = ("missing", "null", "errors", "range")


@dataclass
class Faults:
    """Parsed fault rates plus the RNG that draws them."""

    rates: dict[str, float] = field(default_factory=dict)
    timeout_seconds: float = 12.0
    storm_length: int = 5
    latesync: float = 0.0
    seed: int = 0
    storm_left: int = 0
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def parse(cls, spec: str, *, seed: int, timeout_seconds: float) -> Faults:
        """Parse ``key=value,…``; unknown keys or bad values raise ``ValueError`` naming the key."""
        faults = cls(timeout_seconds=timeout_seconds, seed=seed, rng=random.Random(seed))
        for item in filter(None, (part.strip() for part in spec.split(","))):
            key, sep, raw = item.partition("=")
            key = key.strip()
            if not sep:
                raise ValueError(f"fault {key!r} needs a value, e.g. {key}=0.1")
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"fault {key!r}: {raw!r} is not a number") from None
            if key in RATE_KEYS:
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"fault {key!r}: rate {value} is not within 0..1")
                faults.rates[key] = value
            elif key == "timeout_seconds":
                faults.timeout_seconds = value
            elif key == "storm_length":
                faults.storm_length = int(value)
            elif key == "latesync":
                faults.latesync = value
            else:
                raise ValueError(
                    f"unknown fault {key!r}; known: {', '.join(RATE_KEYS)}, timeout_seconds, "
                    "storm_length, latesync"
                )
        return faults

    def hit(self, key: str) -> bool:
        """Draw once for ``key``; a rate of 0 draws nothing, so unrelated faults do not shift the sequence."""
        rate = self.rates.get(key, 0.0)
        return rate > 0 and self.rng.random() < rate

    def choice(self, options: tuple[int, ...]) -> int:
        return self.rng.choice(options)

    def choice_of(self, options: tuple[str, ...]) -> str:
        return self.rng.choice(options)

    def describe(self) -> dict[str, object]:
        return {
            "rates": dict(self.rates),
            "timeout_seconds": self.timeout_seconds,
            "storm_length": self.storm_length,
            "storm_left": self.storm_left,
            "latesync": self.latesync,
            "seed": self.seed,
        }
