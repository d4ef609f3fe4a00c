"""The trunk guard (business-rules §5): repeated congestion pauses dialling and alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from campaigns.calls import CallResult

# A tuple, not a frozenset: ``in`` compares identities in C instead of calling the enum's
# Python-level __hash__, once for every call's result.
NETWORK_FAILURES = (CallResult.CONGESTION, CallResult.FAILED)


@dataclass(frozen=True, slots=True)
class TrunkGuard:
    """Consecutive congestion/failure results across all calls; ``paused_until`` is set
    when ``pause_after`` of them arrive in a row and cleared by any other result."""

    pause_after: int
    pause: timedelta
    failures: int = 0
    paused_until: datetime | None = None

    def record(self, result: CallResult, now: datetime) -> tuple[TrunkGuard, str | None]:
        """The next guard and, when this result trips it, the alert text for ops."""
        if result not in NETWORK_FAILURES:
            if not self.failures and self.paused_until is None:
                return self, None  # already clear: the same value (frozen), no new object
            return TrunkGuard(self.pause_after, self.pause), None
        failures = self.failures + 1
        if failures < self.pause_after:
            return TrunkGuard(self.pause_after, self.pause, failures, self.paused_until), None
        until = now + self.pause
        alert = (
            f"trunk paused until {until:%H:%M:%S} UTC after {failures} congestion/failure "
            f"results in a row (last: {result.value})"
        )
        return TrunkGuard(self.pause_after, self.pause, 0, until), alert

    def is_paused(self, now: datetime) -> bool:
        return self.paused_until is not None and now < self.paused_until
