"""Orders from the CRM, pushed to /intake or pulled by the poll, into the queue."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from campaigns.orders import Order
from crm_adapter.port import CrmOrderStatus, IntakeFilter
from dialer.app.server_slot import ServerSlots
from dialer.dispatch.status_recheck import StatusRecheck

log = logging.getLogger("dialer.service")  # the log lines ops grep name the service


class Admission:
    """Notes every received order's status as a fresh reading, admits the waiting ones
    (through the first server's dispatcher: admission dials nothing) and wakes dispatch."""

    def __init__(
        self,
        recheck: StatusRecheck,
        slots: ServerSlots,
        intake: IntakeFilter,
        *,
        clock: Callable[[], datetime],
        wake: Callable[[], None],
    ) -> None:
        self._recheck, self._slots, self._intake = recheck, slots, intake
        self._clock, self._wake = clock, wake

    def accept(self, orders: list[Order]) -> int:
        """Orders from the CRM (push or pull): their statuses are fresh readings; the
        waiting ones are admitted and dispatch wakes at once."""
        now = self._clock()
        for order in orders:
            status = CrmOrderStatus(
                order.id, order.status, order.state, order.prepaid, order.source
            )
            self._recheck.note(status, now)
        waiting = [o for o in orders if self._intake.admits(o)]
        admitted = self._slots.first.dispatcher.admit(waiting, now)
        if admitted:
            log.info("admitted %d new order(s) of %d received", admitted, len(orders))
        self._wake()
        return admitted
