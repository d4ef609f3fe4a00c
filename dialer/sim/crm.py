"""The simulator's CRM for the never-touch re-check: statuses that change on the virtual clock.

An order's CRM status is its input ``status``/``state`` until its ``sim.cancel_at`` or
``sim.status_at`` time, then the new one. ``SimCrm`` is the round's ``StatusReader``: each
read takes ``read_s`` of simulated time (a read slower than the service's
``status_timeout_s`` fails at the timeout, as the service's does), a share ``fail_rate`` of
reads fail, and a failed order is asked again ``status_retry_s`` later.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from campaigns.orders import Order
from crm_adapter.port import CrmOrderStatus

if TYPE_CHECKING:  # sim_phones names StatusChange in SimCallee
    from dialer.dispatch.status_recheck import StatusRecheck
    from dialer.sim.faults import Outages
    from dialer.sim.phones import VirtualClock

CANCELLED = "Отменён"  # the status ``sim.cancel_at`` gives (a person's change: never dialled)


@dataclass(frozen=True, slots=True)
class StatusChange:
    """At ``at`` the order's CRM status becomes ``status`` (and ``state``)."""

    at: datetime
    status: str
    state: str | None = None


@dataclass(frozen=True, slots=True)
class SimCrmOptions:
    """How the simulated CRM answers status reads."""

    read_s: float = 0.0
    fail_rate: float = 0.0
    timeout_s: float = 5.0
    retry_s: float = 5.0


class SimCrm:
    """Order statuses over simulated time, read through the round's ``StatusReader`` port."""

    def __init__(
        self,
        clock: VirtualClock,
        recheck: StatusRecheck,
        options: SimCrmOptions,
        rng: random.Random,
        *,
        down: Outages | None = None,
        slow_s: float = 0.0,
    ) -> None:
        """``down``: when the CRM is out (every read fails); ``slow_s``: each read takes a
        further uniform 0..``slow_s`` seconds (``--faults``)."""
        self._clock = clock
        self.recheck = recheck  # a restarted node brings its own
        self._down = down
        self._slow_s = slow_s
        self._options = options
        self._rng = rng
        self._orders: dict[str, Order] = {}
        self._changes: dict[str, StatusChange] = {}
        self.reads = 0
        self.failed_reads = 0

    def add(self, order: Order, change: StatusChange | None) -> None:
        self._orders[order.id] = order
        if change is not None:
            self._changes[order.id] = change

    def status(self, order_id: str, at: datetime) -> CrmOrderStatus:
        """The order's status as the CRM has it at ``at``."""
        order = self._orders[order_id]
        change = self._changes.get(order_id)
        if change is not None and change.at <= at:
            return CrmOrderStatus(order_id, change.status, change.state, order.prepaid,
                                  order.source)  # fmt: skip
        return CrmOrderStatus(order_id, order.status, order.state, order.prepaid, order.source)

    def read(self, order_ids: list[str], now: datetime) -> None:
        """The round's ``StatusReader``: each answer arrives ``read_s`` later."""
        for order_id in order_ids:
            self._read_one(order_id, now)

    def _read_one(self, order_id: str, now: datetime) -> None:
        options = self._options
        self.reads += 1
        fails = options.fail_rate > 0 and self._rng.random() < options.fail_rate
        fails = fails or (self._down is not None and self._down.down_at(now) is not None)
        read_s = options.read_s + (self._rng.uniform(0, self._slow_s) if self._slow_s else 0)
        if read_s > options.timeout_s:
            fails, seconds = True, options.timeout_s
        else:
            seconds = read_s
        at = now + timedelta(seconds=seconds)

        def answer() -> None:
            if fails:
                self.failed_reads += 1
                self.recheck.note_failed(order_id, at)
                self._clock.call_at(at + timedelta(seconds=options.retry_s), _again)
            else:
                self.recheck.note(self.status(order_id, at), at)
            self.recheck.done(order_id)

        self._clock.call_at(at, answer)


def _again() -> None:
    """A clock event with no action: the round runs at it and asks again."""
