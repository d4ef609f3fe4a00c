"""One contract for every OrderStore: the in-memory fake and the SQL store alike."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from local_services import fresh_database
from sqlalchemy import Engine

from campaigns.lifecycle import OrderState, Phase
from campaigns.orders import Order, OrderItem
from campaigns.outcomes import Outcome, OutcomeKind
from dialer.dispatch.memory_store import MemoryOrderStore
from dialer.dispatch.ports import AttemptRecord, OrderStore, QueueEntry
from dialer.storage.migrate import open_database
from dialer.storage.orders import SqlOrderStore

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
NodeStore = Callable[[str], OrderStore]


def _fresh_postgres(request: pytest.FixtureRequest) -> Iterator[str]:
    """A database of its own on the session's PostgreSQL cluster, dropped afterwards."""
    with fresh_database(request.getfixturevalue("postgres_url"), "contract") as url:
        yield url


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def node_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NodeStore]:
    """Makes the store of one more node on the same data (the fake: the same object)."""
    if request.param == "memory":
        shared = MemoryOrderStore()
        yield lambda node: shared
        return
    engines: list[Engine] = []

    def on(url: str) -> NodeStore:
        def make(node: str) -> OrderStore:
            engines.append(open_database(url))
            return SqlOrderStore(engines[-1], node=node)

        return make

    if request.param == "sqlite":
        yield on(f"sqlite:///{tmp_path}/contract.db")
    else:
        for url in _fresh_postgres(request):
            yield on(url)
    for engine in engines:
        engine.dispose()


@pytest.fixture
def store(node_store: NodeStore) -> OrderStore:
    return node_store("node-1")


def entry(
    order_id: str,
    due: datetime | None,
    *,
    created: datetime = T0,
    attempts: int = 0,
    phase: Phase = Phase.QUEUED,
    identity: str = "",
) -> QueueEntry:
    order = Order(
        id=order_id, phone="+79161234567", name="Иван", product="Мака", created_at=created
    )
    state = OrderState(
        order_id=order_id,
        zones=("Europe/Moscow",),
        horizon_start=T0.date(),
        phase=phase,
        due_at=due,
        customer_attempts=attempts,
    )
    return QueueEntry(order, "+79161234567", identity or f"id-{order_id}", state)


def test_insert_is_refused_for_a_known_order_id(store: OrderStore) -> None:
    assert store.insert(entry("1", T0))
    assert not store.insert(entry("1", T0 + timedelta(hours=1)))
    got = store.get("1")
    assert got is not None and got.state.due_at == T0


def test_the_same_order_inserted_by_two_nodes_at_once_is_inserted_once(
    node_store: NodeStore,
) -> None:
    """Two nodes admitting one pushed order in the same instant: one insert wins, the
    other is told the order is known; neither raises (issue 13, item 8)."""
    nodes = [node_store("node-1"), node_store("node-2")]
    for n in range(20):
        order_id, barrier = f"race-{n}", threading.Barrier(len(nodes))
        dues = [T0 + timedelta(minutes=i) for i in range(len(nodes))]

        def insert(
            store: OrderStore, due: datetime, order_id: str, barrier: threading.Barrier
        ) -> bool:
            barrier.wait()
            return store.insert(entry(order_id, due))

        with ThreadPoolExecutor(len(nodes)) as pool:
            results = list(pool.map(insert, nodes, dues, [order_id] * 2, [barrier] * 2))
        assert sorted(results) == [False, True], f"round {n}: {results}"
        got = nodes[0].get(order_id)
        assert got is not None and got.state.due_at == dues[results.index(True)]


def test_claim_due_returns_only_due_orders_new_before_retries(store: OrderStore) -> None:
    store.insert(entry("retry", T0 - timedelta(minutes=5), attempts=2))
    store.insert(entry("new-late", T0, created=T0))
    store.insert(entry("new-early", T0 - timedelta(minutes=1), created=T0 - timedelta(hours=1)))
    store.insert(entry("future", T0 + timedelta(minutes=1)))
    claimed = [e.order.id for e in store.claim_due(T0, 10)]
    assert claimed == ["new-early", "new-late", "retry"]


def test_claimed_orders_are_not_claimed_again_until_saved(store: OrderStore) -> None:
    store.insert(entry("1", T0))
    [claimed] = store.claim_due(T0, 10)
    assert store.claim_due(T0, 10) == []
    assert store.next_due_at() is None
    store.save(claimed)
    assert [e.order.id for e in store.claim_due(T0, 10)] == ["1"]


def test_claim_respects_the_limit(store: OrderStore) -> None:
    for i in range(5):
        store.insert(entry(str(i), T0))
    assert len(store.claim_due(T0, 2)) == 2
    assert len(store.claim_due(T0, 10)) == 3


def test_next_due_at_is_the_earliest_queued_due_time(store: OrderStore) -> None:
    assert store.next_due_at() is None
    store.insert(entry("b", T0 + timedelta(hours=2)))
    store.insert(entry("a", T0 + timedelta(hours=1), attempts=5))
    store.insert(entry("done", T0, phase=Phase.DONE))
    assert store.next_due_at() == T0 + timedelta(hours=1)


def test_saved_state_attempt_and_outcomes_are_read_back(store: OrderStore) -> None:
    store.insert(entry("1", T0))
    [e] = store.claim_due(T0, 1)
    attempt = AttemptRecord(
        id="att-1", order_id="1", e164="+79161234567", agent="a1", number=1, started_at=T0
    )
    dialing = QueueEntry(
        e.order,
        e.e164,
        e.identity,
        OrderState("1", ("Europe/Moscow",), T0.date(), phase=Phase.DIALING, live_attempt="att-1"),
    )
    store.save(dialing, attempt=attempt)
    assert [a.id for a in store.live_attempts()] == ["att-1"]
    outcome = Outcome(
        order_id="1",
        kind=OutcomeKind.NO_ANSWER,
        at=T0,
        attempt_no=1,
        call_made=True,
        problem="Не отвечает",
        comment="10.03 - не отвечает-1",
    )
    requeued = QueueEntry(
        e.order,
        e.e164,
        e.identity,
        OrderState(
            "1",
            ("Europe/Moscow",),
            T0.date(),
            due_at=T0 + timedelta(minutes=2),
            customer_attempts=1,
            attempt_times=(T0,),
        ),
    )

    store.save(
        requeued, attempt=attempt._replace(ended_at=T0 + timedelta(seconds=30)), outcomes=[outcome]
    )
    assert store.live_attempts() == []
    got = store.get("1")
    assert got is not None
    assert got.state.customer_attempts == 1
    assert got.state.attempt_times == (T0,)
    assert store.next_due_at() == T0 + timedelta(minutes=2)


def test_a_second_live_attempt_for_the_same_order_is_refused(store: OrderStore) -> None:
    store.insert(entry("1", T0))
    first = AttemptRecord(
        id="a", order_id="1", e164="+79161234567", agent="x", number=1, started_at=T0
    )
    store.save(entry("1", None, phase=Phase.DIALING), attempt=first)
    second = AttemptRecord(
        id="b", order_id="1", e164="+79161234567", agent="y", number=1, started_at=T0
    )
    with pytest.raises(Exception, match=r"live attempt|UNIQUE|unique"):
        store.save(entry("1", None, phase=Phase.DIALING), attempt=second)
    assert [a.id for a in store.live_attempts()] == ["a"]


def test_open_order_with_identity_finds_the_open_one_only(store: OrderStore) -> None:
    store.insert(entry("1", T0, identity="same"))
    assert store.open_order_with_identity("same") == "1"
    store.save(entry("1", None, phase=Phase.DONE, identity="same"))
    assert store.open_order_with_identity("same") is None


def done(order_id: str, outcome: OutcomeKind, *, created: datetime, identity: str) -> QueueEntry:
    e = entry(order_id, None, created=created, phase=Phase.DONE, identity=identity)
    return e._replace(state=e.state._replace(outcome=outcome))


def test_earlier_order_with_identity_finds_open_and_recently_handled_orders(
    store: OrderStore,
) -> None:
    """Business-rules §3 duplicates (seed 001 "Дубли", situations 1 and 2)."""
    since = T0 - timedelta(days=7)
    store.insert(entry("open", T0, created=T0, identity="same"))
    store.insert(done("confirmed", OutcomeKind.CONFIRMED, created=since, identity="same"))
    store.insert(done("old", OutcomeKind.CONFIRMED, created=since - timedelta(1), identity="same"))
    store.insert(entry("other", T0, created=since, identity="other"))
    assert store.earlier_order_with_identity("same", since) == "confirmed"
    assert store.earlier_order_with_identity("same", None) == "open"
    assert store.earlier_order_with_identity("same", since + timedelta(seconds=1)) == "open"
    assert store.earlier_order_with_identity("nobody", since) is None


@pytest.mark.parametrize("outcome", [OutcomeKind.SKIPPED, OutcomeKind.DUPLICATE])
def test_earlier_order_with_identity_ignores_orders_that_were_not_handled(
    store: OrderStore, outcome: OutcomeKind
) -> None:
    store.insert(done("1", outcome, created=T0, identity="same"))
    assert store.earlier_order_with_identity("same", T0 - timedelta(days=7)) is None


def test_earlier_order_with_identity_sees_an_order_done_after_it_was_inserted(
    store: OrderStore,
) -> None:
    store.insert(entry("1", T0, identity="same"))
    store.insert(entry("2", T0, created=T0 - timedelta(hours=1), identity="same"))
    store.save(done("2", OutcomeKind.SKIPPED, created=T0 - timedelta(hours=1), identity="same"))
    store.save(done("1", OutcomeKind.NO_ANSWER_FINAL, created=T0, identity="same"))
    assert store.earlier_order_with_identity("same", T0 - timedelta(days=1)) == "1"
    assert store.earlier_order_with_identity("same", None) is None


def test_the_order_card_round_trips_exactly(store: OrderStore) -> None:
    """Issue 15: items with Decimal quantity and price, total, address, delivery date, extra
    phone and comment come back as stored, markup and control characters as plain text."""
    card = {
        "items": (
            OrderItem("Перуанская мака <script>", Decimal("2.5"), Decimal("743.10")),
            OrderItem("AlcoBlocker\x07", Decimal(1), None),
        ),
        "total": Decimal("1858.75"),
        "address": "г. Якутск, ул. Ленина, д. 1",
        "delivery_date": date(2026, 3, 14),
        "extra_phone": "8 (914) 828-68-86",
        "comment": "после 18:00\n<b>домофон 12</b>",
    }
    base = entry("НФ-00123", T0)
    assert store.insert(QueueEntry(dataclasses.replace(base.order, **card), *base[1:]))
    got = store.get("НФ-00123")
    assert got is not None
    assert {name: getattr(got.order, name) for name in card} == card
    assert store.insert(entry("1", T0))
    plain = store.get("1")
    assert plain is not None and plain.order.items == () and plain.order.total is None


def test_an_owned_callback_keeps_its_owner_through_save_and_claim(store: OrderStore) -> None:
    """Issue 15, «мой перезвон»: the owner comes back from every store exactly, and a
    claimed order still names it, so the dispatcher can offer it to that agent first."""
    store.insert(entry("НФ-00123", T0 + timedelta(hours=1)))
    [e] = store.claim_due(T0 + timedelta(hours=1), 1)
    callback = T0 + timedelta(hours=3)
    owned = e.state._replace(due_at=callback, callback_at=callback, callback_owner="1001")
    store.save(QueueEntry(e.order, e.e164, e.identity, owned))
    got = store.get("НФ-00123")
    assert got is not None
    assert (got.state.callback_owner, got.state.callback_at) == ("1001", callback)
    [claimed] = store.claim_due(callback, 1)
    assert claimed.state.callback_owner == "1001"
