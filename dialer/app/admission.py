"""Orders from the CRM, pushed to /intake or pulled by the poll, into the queue."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from campaigns.orders import Order
from crm_adapter.port import CrmOrderStatus, IntakeFilter
from dialer.app.crm_results import CrmResults
from dialer.app.server_slot import ServerSlots
from dialer.dispatch.status_recheck import StatusRecheck

log = logging.getLogger("dialer.service")  # the log lines ops grep name the service


class Admission:
    """Notes every received order's status as a fresh reading (and, for an order awaiting
    its result, as the CRM's result: issue 15 §3), admits the waiting ones (through the
    first server's dispatchers: admission dials nothing) and wakes dispatch.

    With several campaigns each takes the orders its own intake filter admits, campaigns
    in the offer order (``priority``, then name): an order two filters admit goes to the
    first, and an order already in the queue (of any campaign) is never taken again. An
    archived campaign is passed over when another campaign's filter admits the order too
    (with none, the archived one keeps it, so no order the CRM handed over is dropped)."""

    def __init__(
        self,
        recheck: StatusRecheck,
        slots: ServerSlots,
        intake: IntakeFilter | Mapping[str, IntakeFilter],
        crm_results: CrmResults,
        *,
        clock: Callable[[], datetime],
        wake: Callable[[], None],
        archived: Callable[[str], bool] = lambda _name: False,
    ) -> None:
        """``intake``: the one campaign's filter, or every campaign's by name in the offer
        order; ``archived``: whether a campaign is archived now."""
        self._recheck, self._slots = recheck, slots
        self._intakes = intake if isinstance(intake, Mapping) else None
        self._intake = intake if isinstance(intake, IntakeFilter) else None
        self._crm_results = crm_results
        self._clock, self._wake, self._archived = clock, wake, archived

    def accept(self, orders: list[Order]) -> int:
        """Orders from the CRM (push or pull): their statuses are fresh readings; the
        waiting ones are admitted and dispatch wakes at once."""
        now = self._clock()
        statuses = [
            CrmOrderStatus(o.id, o.status, o.state, o.prepaid, o.source, o.callback_at)
            for o in orders
        ]
        for status in statuses:
            self._recheck.note(status, now)
        self._crm_results.noted(statuses)  # a known order's re-push may carry its result
        admitted = self._admit(orders, now)
        if admitted:
            log.info("admitted %d new order(s) of %d received", admitted, len(orders))
        self._wake()
        return admitted

    def _admit(self, orders: list[Order], now: datetime) -> int:
        if self._intake is not None:
            waiting = [o for o in orders if self._intake.admits(o)]
            return self._slots.first.dispatcher.admit(waiting, now)
        assert self._intakes is not None  # noqa: S101 - one of the two is set
        dispatchers = self._slots.first.dispatchers()
        archived = {name for name in self._intakes if self._archived(name)}
        taken: dict[str, list[Order]] = {name: [] for name in self._intakes}
        for order in orders:
            admitting = [name for name, f in self._intakes.items() if f.admits(order)]
            live = [name for name in admitting if name not in archived]
            if admitting:
                taken[(live or admitting)[0]].append(order)
        return sum(dispatchers[name].admit(waiting, now) for name, waiting in taken.items())
