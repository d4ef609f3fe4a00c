"""RetailCRM's request rate limits: one limiter per API key, shared by every thread.

RetailCRM allows 10 requests per second per API key and 40 on the telephony routes
(``/api/v5/telephony/...``); beyond that it answers 429 or 503. The official Go client
(retailcrm/api-client-go, ``rate.go``) keeps the same two limits per key with a burst of
one request; so does this limiter: requests are spaced ``1/rate`` seconds apart, so no
one-second window ever holds more than ``rate`` of them.

The service calls the adapter from several threads (intake polls, pre-dial re-checks, the
outbox, status reads after calls); they must share one budget, so ``shared_limiter`` hands
out one ``RateLimiter`` per API key for the life of the process.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

REGULAR_RATE = 10.0
TELEPHONY_RATE = 40.0
TELEPHONY_PREFIX = "/telephony"


class TokenBucket:
    """At most ``rate`` requests per second on average, bursts up to ``burst`` (default 1).

    Thread-safe: ``acquire`` holds a lock while it takes (and, if need be, waits for) its
    token, so concurrent callers are served one after another. ``clock`` is monotonic
    seconds and ``sleep`` waits; both are injected so tests run on a fake clock.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float = 1.0,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self._burst = burst
        self._tokens = burst
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Takes one token, sleeping until one is there."""
        with self._lock:
            self._refill()
            if self._tokens < 1:
                self._sleep((1 - self._tokens) / self.rate)
                self._refill()
            self._tokens = max(0.0, self._tokens - 1)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self.rate)
        self._last = now


class RateLimiter:
    """The two buckets of one API key: telephony routes and everything else."""

    def __init__(
        self,
        *,
        rate: float = REGULAR_RATE,
        telephony_rate: float = TELEPHONY_RATE,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.regular = TokenBucket(rate, clock=clock, sleep=sleep)
        self.telephony = TokenBucket(telephony_rate, clock=clock, sleep=sleep)

    def acquire(self, path: str) -> None:
        """Waits for the budget of ``path`` (relative to ``/api/v5``)."""
        is_telephony = path.startswith(TELEPHONY_PREFIX)
        (self.telephony if is_telephony else self.regular).acquire()


_SHARED: dict[str, RateLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiter(
    api_key: str,
    *,
    rate: float = REGULAR_RATE,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> RateLimiter:
    """The process's one limiter for ``api_key`` (created on first use with ``rate``).

    Keyed by a digest of the key, so the registry never holds the key itself.
    """
    digest = hashlib.sha256(api_key.encode("utf-8")).hexdigest()
    with _SHARED_LOCK:
        limiter = _SHARED.get(digest)
        if limiter is None:
            limiter = RateLimiter(rate=rate, clock=clock, sleep=sleep)
            _SHARED[digest] = limiter
        return limiter
