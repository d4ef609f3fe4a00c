"""The never-touch re-check right before each dial, over recent CRM status readings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from campaigns.orders import Order
from campaigns.settings import CampaignSettings
from crm_adapter.port import CrmOrderStatus
from crm_adapter.recheck import leave_queue_reason

log = logging.getLogger("dialer.service")
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class _Reading:
    at: datetime
    verdict: bool
    why: str | None
    status: CrmOrderStatus | None = None  # what was read (none: the order is gone)


class StatusRecheck:
    """The pre-dial never-touch check over recent CRM readings (see the module docstring)."""

    def __init__(
        self,
        settings: CampaignSettings,
        dialer_written: frozenset[str],
        *,
        clock: Clock,
        max_age: timedelta,
        retry_after: timedelta,
    ) -> None:
        self._settings = settings
        self._written = dialer_written
        self._clock = clock
        self._max_age = max_age
        self._retry_after = retry_after
        self._readings: dict[str, _Reading] = {}
        self._failed: dict[str, datetime] = {}
        self._in_flight: set[str] = set()
        self._wanted: set[str] = set()

    def note(self, status: CrmOrderStatus, at: datetime) -> None:
        why = leave_queue_reason(status, self._settings, dialer_written=self._written)
        self._readings[status.order_id] = _Reading(at, why is None, why, status)
        self._failed.pop(status.order_id, None)

    def note_missing(self, order_id: str, at: datetime) -> None:
        self._readings[order_id] = _Reading(at, False, "the CRM no longer has the order")

    def note_failed(self, order_id: str, at: datetime) -> None:
        self._failed[order_id] = at

    def check(self, order: Order, settings: CampaignSettings | None = None) -> bool | None:
        """The dispatcher's status_check: True dial, False leave the queue, None not known.
        ``settings``: the order's campaign when it is not this re-check's own (several
        campaigns in one service share the readings; each judges by its own statuses)."""
        now = self._clock()
        reading = self._readings.get(order.id)
        if reading is not None and now - reading.at <= self._max_age:
            verdict, why = reading.verdict, reading.why
            if settings is not None and settings is not self._settings and reading.status:
                why = leave_queue_reason(reading.status, settings, dialer_written=self._written)
                verdict = why is None
            if not verdict:
                log.info("order %s leaves the queue: %s", order.id, why)
            return verdict
        self._wanted.add(order.id)
        return None

    def holding(self, order_id: str) -> str | None:
        """Why the re-check holds ``order_id`` back from its dial now: "asked" (its CRM
        status is wanted or being read), "failed" (the last read failed; asked again later),
        or None (not held)."""
        if order_id in self._in_flight:
            return "asked"
        if order_id in self._failed:  # wanted again each round, but not read before retry_after
            return "failed"
        return "asked" if order_id in self._wanted else None

    def take_wanted(self, now: datetime) -> list[str]:
        """Order ids to read now (not in flight, not failed within ``retry_after``)."""
        if not self._wanted:  # most rounds
            return []
        ready = [
            order_id
            for order_id in sorted(self._wanted)
            if order_id not in self._in_flight
            and now - self._failed.get(order_id, now - self._retry_after) >= self._retry_after
        ]
        self._wanted.clear()
        self._in_flight.update(ready)
        return ready

    def done(self, order_id: str) -> None:
        self._in_flight.discard(order_id)

    def forget_older_than(self, cutoff: datetime) -> None:
        self._readings = {k: r for k, r in self._readings.items() if r.at >= cutoff}
        self._failed = {k: at for k, at in self._failed.items() if at >= cutoff}
