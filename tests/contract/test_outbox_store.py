"""One contract for every OutboxStore: the in-memory fake and the SQL outbox (SQLite and
PostgreSQL) alike, and the outbox worker over each (business-rules §6)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest
from local_services import fresh_database
from outbox_rows import OutcomeFields, add_outcome

from campaigns.orders import Order
from crm_adapter.errors import CrmUnavailableError, FinalRejectionError
from crm_adapter.fake import InMemoryCrm
from crm_adapter.port import OutcomeDelivery
from dialer.delivery.memory import MemoryOutboxStore
from dialer.delivery.outbox import OutboxWorker
from dialer.delivery.ports import OutboxStore
from dialer.storage.migrate import open_database
from dialer.storage.outbox import SqlOutboxStore

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)


class Outbox(NamedTuple):
    store: OutboxStore
    enqueue: Callable[[str, datetime], int]  # an outcome of an order, due at; its row id


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Outbox]:
    if request.param == "memory":
        fake = MemoryOutboxStore()
        yield Outbox(
            fake, lambda order, at: fake.add(order, OutcomeFields().payload_json(order, at), at)
        )
        return
    if request.param == "sqlite":
        database: AbstractContextManager[str] = nullcontext(f"sqlite:///{tmp_path}/contract.db")
    else:
        database = fresh_database(request.getfixturevalue("postgres_url"), "outbox")
    with database as url:
        engine = open_database(url)
        yield Outbox(SqlOutboxStore(engine), lambda order, at: add_outcome(engine, order, at))
        engine.dispose()


def heads(store: OutboxStore, now: datetime = LATER, limit: int = 100) -> list[int]:
    return [row.id for row in store.due_heads(now, limit)]


def test_the_head_of_each_order_is_due_in_id_order_and_the_next_follows_its_delivery(
    outbox: Outbox,
) -> None:
    store, enqueue = outbox
    a1, b1, a2 = enqueue("A", T0), enqueue("B", T0), enqueue("A", T0)
    assert heads(store) == [a1, b1]
    store.mark_delivered(a1, LATER, 1)
    assert heads(store) == [b1, a2]
    assert heads(store, limit=1) == [b1]
    assert heads(store, now=T0 - timedelta(seconds=1)) == []  # not due yet


def test_a_failing_row_holds_back_only_its_own_orders_later_rows(outbox: Outbox) -> None:
    store, enqueue = outbox
    a1, a2, b1 = enqueue("A", T0), enqueue("A", T0), enqueue("B", T0)
    store.mark_failed(a1, 1, "CrmUnavailableError: down", LATER + timedelta(minutes=1))
    assert heads(store) == [b1]  # a2 waits behind a1
    (retried,) = [r for r in store.due_heads(LATER + timedelta(minutes=1), 100) if r.id == a1]
    assert retried.tries == 1 and retried.tried
    assert a2 not in heads(store, now=LATER + timedelta(minutes=1))


def test_a_dead_row_is_listed_holds_back_its_order_and_replays_with_a_fresh_try_count(
    outbox: Outbox,
) -> None:
    store, enqueue = outbox
    a1, a2, b1 = enqueue("A", T0), enqueue("A", T0), enqueue("B", T0)
    store.mark_dead(a1, 3, "permanent: FinalRejectionError: no")
    assert heads(store) == [b1]
    (dead,) = store.dead_rows()
    assert (dead.id, dead.order_id, dead.tries, dead.held_back) == (a1, "A", 3, 1)
    assert dead.last_error == "permanent: FinalRejectionError: no"
    assert store.replay(LATER, [a2, b1]) == []  # not dead: left alone
    assert store.replay(LATER) == [a1]
    assert store.dead_rows() == []
    (head, _) = store.due_heads(LATER, 100)
    assert (head.id, head.tries, head.tried) == (a1, 0, True)  # may have reached the CRM
    store.mark_delivered(a1, LATER, 1)
    assert heads(store) == [a2, b1]


def test_due_now_ends_every_backoff_and_next_due_at_follows(outbox: Outbox) -> None:
    store, enqueue = outbox
    assert store.next_due_at() is None
    a1, b1, c1 = enqueue("A", T0), enqueue("B", T0), enqueue("C", T0)
    store.mark_failed(a1, 1, "e", T0 + timedelta(hours=2))
    store.mark_failed(b1, 1, "e", T0 + timedelta(hours=3))
    store.mark_dead(c1, 1, "permanent: e")
    assert store.next_due_at() == T0 + timedelta(hours=2)
    assert store.due_now(LATER) == 2
    assert store.next_due_at() == LATER
    assert heads(store) == [a1, b1]
    store.mark_delivered(a1, LATER, 2)
    store.mark_delivered(b1, LATER, 2)
    assert store.due_now(LATER) == 0 and store.next_due_at() is None


class _Crm(InMemoryCrm):
    """Refuses the outcomes of ``refused`` for good and of ``unreachable`` for now."""

    def __init__(self) -> None:
        super().__init__(tuple(_order(i) for i in "ABC"))
        self.refused: set[str] = set()
        self.unreachable: set[str] = set()

    def write_outcome(self, delivery: OutcomeDelivery) -> bool:
        if delivery.order_id in self.refused:
            raise FinalRejectionError("the CRM refuses this outcome")
        if delivery.order_id in self.unreachable:
            raise CrmUnavailableError("no route to the CRM")
        return super().write_outcome(delivery)


def _order(order_id: str) -> Order:
    return Order(id=order_id, phone="+79161234567", name="Иван", product="Мака", created_at=T0)


def test_the_worker_over_any_store_delivers_in_order_and_counts_the_dead(outbox: Outbox) -> None:
    store, enqueue = outbox
    enqueue("A", T0), enqueue("A", T0)
    b1, _ = enqueue("B", T0), enqueue("C", T0)
    crm = _Crm()
    crm.refused.add("B")
    crm.unreachable.add("C")
    worker = OutboxWorker(store, crm, rng=random.Random(7))
    assert worker.deliver_due(LATER) == 2
    assert [d.order_id for d in crm.applied] == ["A", "A"]
    assert worker.dead_counts() == {"permanent": 1, "expired": 0}
    assert [row.id for row in store.dead_rows()] == [b1]
    assert heads(store) == []  # C waits out its backoff
    next_due = store.next_due_at()
    assert next_due is not None and next_due > LATER
    crm.unreachable.clear()
    assert store.due_now(LATER) == 1  # the CRM answers again
    assert worker.deliver_due(LATER) == 1
    assert [d.key for d in crm.applied][-1].startswith("C:")
    assert crm.applied[-1].retry  # C's first try may have reached the CRM
    assert store.next_due_at() is None
