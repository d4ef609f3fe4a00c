"""The in-memory CRM: the port's fake, passing the same contract tests as the real adapters."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime

from campaigns.orders import Order
from crm_adapter.errors import CrmUnavailableError, OrderNotFoundError
from crm_adapter.port import CrmOrderStatus, IntakeFilter, OutcomeDelivery, validate_delivery


class InMemoryCrm:
    """Orders in a dict; applied outcomes in a list; idempotency keys remembered.

    ``down = True`` makes every call fail as an unreachable CRM would.
    """

    def __init__(self, orders: tuple[Order, ...] = ()) -> None:
        self._orders: dict[str, Order] = {o.id: o for o in orders}
        self._keys: set[str] = set()
        self.applied: list[OutcomeDelivery] = []
        self.down = False

    def put(self, order: Order) -> None:
        self._orders[order.id] = order

    def set_status(self, order_id: str, status: str, state: str | None = None) -> None:
        order = self._orders[order_id]
        self._orders[order_id] = dataclasses.replace(
            order, status=status, state=order.state if state is None else state
        )

    def set_callback(self, order_id: str, at: datetime | None) -> None:
        """The CRM's callback field, as an agent working in the CRM sets it."""
        self._orders[order_id] = dataclasses.replace(self._orders[order_id], callback_at=at)

    def fetch_waiting(self, intake: IntakeFilter) -> Iterator[Order]:
        self._check_up()
        waiting = sorted(
            (o for o in self._orders.values() if intake.admits(o)),
            key=lambda o: (o.created_at, o.id),
        )
        yield from waiting

    def read_status(self, order_id: str) -> CrmOrderStatus:
        self._check_up()
        order = self._orders.get(order_id)
        if order is None:
            raise OrderNotFoundError(f"order {order_id!r} not found", 404)
        return CrmOrderStatus(
            order.id, order.status, order.state, order.prepaid, order.source, order.callback_at
        )

    def write_outcome(self, delivery: OutcomeDelivery) -> bool:
        validate_delivery(delivery)
        self._check_up()
        if delivery.order_id not in self._orders:
            raise OrderNotFoundError(f"order {delivery.order_id!r} not found", 404)
        if delivery.key in self._keys:
            return False
        self._keys.add(delivery.key)
        self.applied.append(delivery)
        self.set_status(delivery.order_id, delivery.status)
        return True

    def close(self) -> None:
        """Nothing to release."""

    def _check_up(self) -> None:
        if self.down:
            raise CrmUnavailableError("in-memory CRM is down")
