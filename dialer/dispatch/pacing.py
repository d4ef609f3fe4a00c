"""Pacing: the calls-per-second cap as a token bucket over the clock it is given."""

from __future__ import annotations

import math
from datetime import datetime


class Pacer:
    """Calls-per-second cap as a token bucket (burst: one second's worth, at least 1)."""

    def __init__(self, cps: float, now: datetime) -> None:
        self._rate = cps
        self._burst = max(1.0, cps)
        self._tokens = self._burst
        self._at = now

    def allowance(self, now: datetime) -> int:
        elapsed = max(0.0, (now - self._at).total_seconds())
        self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
        self._at = now
        return math.floor(self._tokens)

    def spend(self, n: int) -> None:
        self._tokens -= n

    def wait_s(self) -> float:
        """Seconds until the next whole token."""
        return max(0.0, (1.0 - (self._tokens - math.floor(self._tokens))) / self._rate)
