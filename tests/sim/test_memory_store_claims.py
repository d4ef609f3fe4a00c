"""``MemoryOrderStore.expire_claims``: a crashed claimer's orders are due again (the SQL
store's lease), which the simulator's crashes rely on."""

from __future__ import annotations

from datetime import UTC, datetime

from campaigns.lifecycle import OrderState
from campaigns.orders import Order
from dialer.dispatch.memory_store import MemoryOrderStore
from dialer.dispatch.ports import QueueEntry

NOW = datetime(2026, 3, 10, 8, tzinfo=UTC)


def test_claims_of_a_dead_claimer_lapse_and_the_orders_are_due_again() -> None:
    store = MemoryOrderStore()
    for n in (1, 2):
        order = Order(id=f"o{n}", phone=f"+7916000000{n}", name="", product="",
                      created_at=NOW, status="", state="")  # fmt: skip
        state = OrderState(order.id, ("Europe/Moscow",), NOW.date(), due_at=NOW)
        store.insert(QueueEntry(order, order.phone, order.id, state))
    claimed = store.claim_due(NOW, 10)
    assert [e.order.id for e in claimed] == ["o1", "o2"]
    assert store.claim_due(NOW, 10) == [] and store.next_due_at() is None
    store.expire_claims()
    assert store.next_due_at() == NOW
    assert [e.order.id for e in store.claim_due(NOW, 10)] == ["o1", "o2"]
