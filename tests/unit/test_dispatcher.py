"""The dispatcher with in-memory ports: priority, agents, re-checks before the dial."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from fakes import Recorder

from campaigns.calls import CallReport, CallResult
from campaigns.dispositions import Disposition, DispositionKind
from campaigns.orders import Order
from campaigns.outcomes import OutcomeKind
from campaigns.screening import Screening, Verdict
from campaigns.settings import CampaignSettings
from dialer.dispatch.agents import AgentPool, AgentState
from dialer.dispatch.dispatcher import Dispatcher, DispatchError
from dialer.dispatch.memory_store import MemoryOrderStore
from dialer.dispatch.ports import QueueEntry

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # 12:00 Moscow
S = CampaignSettings()


def screen_all_dialable(order: Order, now: datetime) -> Screening:
    return Screening(
        Verdict.DIAL,
        "+7" + order.phone[-10:],
        ("Europe/Moscow",),
        f"{order.phone}|{order.name}|{order.product}",
    )


def make(
    agents: int = 1,
    status_check: Callable[[Order], bool] | None = None,
    screen=screen_all_dialable,
    store: MemoryOrderStore | None = None,
) -> tuple[Dispatcher, Recorder, MemoryOrderStore, AgentPool]:  # type: ignore[no-untyped-def]
    rec, store = Recorder(), store or MemoryOrderStore()
    pool = AgentPool([f"a{i}" for i in range(agents)], T0, wrap_up_s=0, miss_pause_after=3)
    ids = itertools.count(1)
    d = Dispatcher(
        settings=S,
        store=store,
        telephony=rec,
        agents=pool,
        journal=rec,
        screen=screen,
        new_attempt_id=lambda: f"att{next(ids)}",
        jitter=lambda: 0.0,
        status_check=status_check,
    )
    return d, rec, store, pool


def order(oid: str, minutes: int = 0, phone: str = "9161234567", name: str = "Иван") -> Order:
    return Order(
        id=oid,
        phone=f"+7{phone}",
        name=name,
        product="Мака",
        created_at=T0 + timedelta(minutes=minutes),
    )


def test_rule_4_new_orders_are_called_at_once_oldest_first() -> None:
    d, rec, _, _ = make(agents=1)
    d.admit([order("2", 1, "9160000002"), order("1", 0, "9160000001")], T0 + timedelta(minutes=1))
    assert d.dispatch(T0 + timedelta(minutes=1)) == 1
    assert rec.dials == ["1"]


def test_no_originate_without_a_free_agent() -> None:
    d, rec, _, pool = make(agents=1)
    pool.pause("a0", T0, "обед")
    d.admit([order("1")], T0)
    assert d.dispatch(T0) == 0
    assert rec.originated == []
    pool.resume("a0", T0)
    assert d.dispatch(T0) == 1


def test_rule_2_never_touch_status_found_before_the_dial_leaves_silently() -> None:
    d, rec, store, _ = make(status_check=lambda o: False)
    d.admit([order("1")], T0)
    d.dispatch(T0)
    entry = store.get("1")
    assert entry is not None and entry.state.outcome is OutcomeKind.SKIPPED
    assert rec.originated == [] and rec.outcomes == []


def test_rule_4_window_is_checked_again_when_the_originate_would_be_sent() -> None:
    d, rec, store, pool = make()
    pool.pause("a0", T0, "занят")
    d.admit([order("1")], T0)
    pool.resume("a0", T0)
    late = T0 + timedelta(hours=7)  # 19:00 Moscow: the window closed while it waited
    assert d.dispatch(late) == 0
    assert rec.originated == []
    entry = store.get("1")
    assert entry is not None and entry.state.due_at == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)


def test_rule_3_duplicate_of_an_open_order_is_not_dialled() -> None:
    d, rec, _, _ = make()
    d.admit([order("1143382", 0), order("1143326", 5)], T0 + timedelta(minutes=5))
    [dup] = rec.outcomes
    assert (dup.order_id, dup.kind, dup.problem) == ("1143326", OutcomeKind.DUPLICATE, "Дубль")
    assert dup.comment.endswith("дубль к заказу №1143382")


def confirmed_order_1(d: Dispatcher, rec: Recorder) -> None:
    """Order 1 is admitted, answered and confirmed at T0 (12:00 Moscow)."""
    d.admit([order("1")], T0)
    d.dispatch(T0)
    attempt = rec.originated[-1].attempt_id
    d.on_report(CallReport(attempt, CallResult.ANSWERED, T0 + timedelta(minutes=1)))
    d.on_disposition("1", Disposition(DispositionKind.CONFIRMED), T0 + timedelta(minutes=2))


def test_rule_3_a_new_order_for_what_was_already_confirmed_is_a_duplicate() -> None:
    """Seed 001 "Дубли", situation 2: the customer already has that order → Невалид/Дубль."""
    d, rec, _, _ = make()
    confirmed_order_1(d, rec)
    later = T0 + timedelta(days=2)
    d.admit([order("2", minutes=2 * 24 * 60)], later)
    dup = rec.outcomes[-1]
    assert (dup.order_id, dup.kind, dup.problem) == ("2", OutcomeKind.DUPLICATE, "Дубль")
    assert dup.comment == "12.03 - дубль к заказу №1"
    assert d.dispatch(later) == 0
    assert rec.dials == ["1"]


@pytest.mark.parametrize(
    ("kind", "reason"),
    [(DispositionKind.REFUSED, "Передумал"), (DispositionKind.INVALID, "Обратная связь")],
)
def test_rule_3_every_handled_outcome_counts_for_duplicates(
    kind: DispositionKind, reason: str
) -> None:
    d, rec, _, _ = make()
    d.admit([order("1")], T0)
    d.dispatch(T0)
    attempt = rec.originated[-1].attempt_id
    d.on_report(CallReport(attempt, CallResult.ANSWERED, T0 + timedelta(minutes=1)))
    d.on_disposition("1", Disposition(kind, reason=reason), T0 + timedelta(minutes=2))
    d.admit([order("2", minutes=60)], T0 + timedelta(minutes=60))
    assert rec.outcomes[-1].kind is OutcomeKind.DUPLICATE


def test_rule_3_an_order_handled_before_the_duplicate_window_is_called_again() -> None:
    d, rec, _, _ = make()
    confirmed_order_1(d, rec)
    later = T0 + timedelta(days=7, minutes=1)  # created 7 days and a minute after order 1
    d.admit([order("2", minutes=7 * 24 * 60 + 1)], later)
    assert d.dispatch(later) == 1
    assert rec.dials == ["1", "2"]


def test_rule_3_duplicate_window_days_0_looks_at_open_orders_only() -> None:
    d, rec, _, _ = make()
    d.use_settings(replace(S, duplicate_window_days=0))
    confirmed_order_1(d, rec)
    d.admit([order("2", minutes=60)], T0 + timedelta(minutes=60))
    assert d.dispatch(T0 + timedelta(minutes=60)) == 1


def test_rule_3_an_order_skipped_without_a_call_does_not_make_a_duplicate() -> None:
    d, rec, _, _ = make()
    d.admit([order("1")], T0)
    d.cancel("1")  # ops cancelled it (or a never-touch status was found): nothing handled
    d.admit([order("2", minutes=5)], T0 + timedelta(minutes=5))
    assert d.dispatch(T0 + timedelta(minutes=5)) == 1
    assert rec.dials == ["2"]


def test_rule_5_agent_miss_requeues_the_order_for_the_next_agent_at_once() -> None:
    d, rec, store, pool = make(agents=2)
    d.admit([order("1")], T0)
    d.dispatch(T0)
    first = rec.originated[0]
    d.on_report(CallReport(first.attempt_id, CallResult.AGENT_MISSED, T0 + timedelta(seconds=10)))
    d.dispatch(T0 + timedelta(seconds=10))
    second = rec.originated[1]
    assert second.order_id == "1" and second.agent != first.agent
    entry = store.get("1")
    assert entry is not None and entry.state.customer_attempts == 0
    assert pool.get(first.agent).consecutive_misses == 1


def test_one_live_attempt_per_order_even_with_free_agents() -> None:
    d, rec, _, _ = make(agents=3)
    d.admit([order("1")], T0)
    d.dispatch(T0)
    d.dispatch(T0 + timedelta(seconds=1))
    assert len(rec.originated) == 1


def test_a_report_for_an_unknown_attempt_is_refused() -> None:
    d, _, _, _ = make()
    with pytest.raises(DispatchError):
        d.on_report(CallReport("nope", CallResult.ANSWERED, T0))


def test_answered_call_frees_the_agent_and_waits_for_the_disposition() -> None:
    d, rec, store, pool = make()
    d.admit([order("1")], T0)
    d.dispatch(T0)
    d.on_report(
        CallReport(
            rec.originated[0].attempt_id,
            CallResult.ANSWERED,
            T0 + timedelta(minutes=2),
            T0 + timedelta(seconds=20),
        )
    )
    entry = store.get("1")
    assert entry is not None and entry.state.phase.value == "awaiting_disposition"
    assert pool.get("a0").state is AgentState.IDLE


def test_only_digits_reach_the_originate_request() -> None:
    d, rec, _, _ = make()
    d.admit([Order(id="A-77/1", phone="+79161234567", name="Иван", product="x", created_at=T0)], T0)
    d.dispatch(T0)
    [req] = rec.originated
    assert req.announce_digits == "771"
    assert req.customer_number == "+79161234567"


def test_rule_5_repeated_congestion_pauses_the_trunk_and_alerts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    d, rec, _, _ = make(agents=1)
    d.admit([order(str(i), i, f"91600000{i:02d}") for i in range(6)], T0)
    now = T0 + timedelta(minutes=6)
    for _ in range(5):
        d.dispatch(now)
        now += timedelta(seconds=2)
        d.on_report(CallReport(rec.originated[-1].attempt_id, CallResult.CONGESTION, now))
    assert "trunk paused" in caplog.text
    assert [r.levelname for r in caplog.records if "trunk" in r.message] == ["ERROR"]
    assert d.dispatch(now) == 0  # paused: nothing is dialled
    assert d.next_wakeup(now) == now + timedelta(seconds=300)
    assert d.dispatch(now + timedelta(seconds=300)) == 1  # resumes by itself


def test_rule_5_a_good_result_resets_the_trunk_failure_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    d, rec, _, _ = make(agents=1)
    d.admit([order(str(i), i, f"91600000{i:02d}") for i in range(7)], T0)
    now = T0 + timedelta(minutes=6)
    for result in [CallResult.CONGESTION] * 4 + [CallResult.NO_ANSWER] + [CallResult.FAILED]:
        d.dispatch(now)
        now += timedelta(seconds=2)
        d.on_report(CallReport(rec.originated[-1].attempt_id, result, now))
    assert "trunk paused" not in caplog.text
    assert d.dispatch(now) == 1  # the seventh order: the trunk was never paused


def test_a_number_live_on_another_node_waits_instead_of_failing_the_round() -> None:
    """Two nodes share the store: node B's order has the number node A is calling. The
    store refuses the second live attempt; B releases the order untouched, its agent is free
    again and the rest of the round goes on."""
    a, _, store, _ = make(agents=1)
    rec_b, pool_b = Recorder(), AgentPool(["b0", "b1"], T0, wrap_up_s=0, miss_pause_after=3)
    ids = itertools.count(100)
    b = Dispatcher(settings=S, store=store, telephony=rec_b, agents=pool_b, journal=rec_b,
                   screen=screen_all_dialable, new_attempt_id=lambda: f"att{next(ids)}",
                   jitter=lambda: 0.0)  # fmt: skip
    a.admit([order("1", 0, "9160000001")], T0)
    assert a.dispatch(T0) == 1
    b.admit([order("2", 1, "9160000001", name="Пётр"), order("3", 2, "9160000003")], T0)
    assert b.dispatch(T0 + timedelta(minutes=3)) == 1
    assert rec_b.dials == ["3"]
    assert pool_b.idle_count(T0 + timedelta(minutes=3)) == 1  # b's agent for order 2 is back
    waiting = store.get("2")
    assert waiting is not None and waiting.state.phase.value == "queued"


def screen_order_1_invalid(order: Order, now: datetime) -> Screening:
    found = screen_all_dialable(order, now)
    return replace(found, verdict=Verdict.INVALID) if order.id == "1" else found


class _RacedStore(MemoryOrderStore):
    """Another node admits ``raced`` between this node's look-up and its insert."""

    def __init__(self, raced: Order) -> None:
        super().__init__()
        self.raced: Order | None = raced
        self.peer_journal = Recorder()

    def get(self, order_id: str) -> QueueEntry | None:
        found = super().get(order_id)
        if self.raced is not None and order_id == self.raced.id:
            other, self.raced = self.raced, None
            peer, self.peer_journal, _, _ = make(screen=screen_order_1_invalid, store=self)
            peer.admit([other], T0)
        return found


def test_an_order_another_node_admits_first_counts_as_known_and_the_rest_are_admitted() -> None:
    """Issue 13, item 8: the push (or the leader's pull) that lost the insert race answers
    as for a known order, logs no outcome it did not write, and admits the other orders."""
    store = _RacedStore(order("1"))
    d, rec, _, _ = make(screen=screen_order_1_invalid, store=store)
    assert d.admit([order("1"), order("2", 1, "9160000002")], T0 + timedelta(minutes=1)) == 1
    assert sorted(store.entries) == ["1", "2"]
    assert [o.order_id for o in store.outcomes] == ["1"]  # the winner's «Невалид», once
    assert [o.order_id for o in store.peer_journal.outcomes] == ["1"]
    assert rec.outcomes == []


class _CountingStore(MemoryOrderStore):
    """Counts what the dispatcher claims and gives back, per order."""

    def __init__(self) -> None:
        super().__init__()
        self.claimed: list[str] = []
        self.released: list[str] = []

    def claim_due(self, now: datetime, limit: int) -> list[QueueEntry]:
        batch = super().claim_due(now, limit)
        self.claimed += [e.order.id for e in batch]
        return batch

    def save(self, entry: QueueEntry, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if entry is self.entries.get(entry.order.id) and not kwargs:
            self.released.append(entry.order.id)
        super().save(entry, **kwargs)


def test_orders_waiting_for_their_status_are_claimed_once_a_round_and_the_rest_dialled() -> None:
    """Orders whose CRM status is not known yet are held: claimed once, given back once at
    the end of the round, and the claims reach past them to the orders behind."""
    store = _CountingStore()
    unknown = {"1", "2", "3"}
    d, rec, _, _ = make(
        agents=2, store=store, status_check=lambda o: None if o.id in unknown else True
    )  # type: ignore[arg-type,return-value]
    d.admit([order(str(i), i, f"916000000{i}") for i in range(1, 6)], T0 + timedelta(minutes=5))
    assert d.dispatch(T0 + timedelta(minutes=5)) == 2
    assert rec.dials == ["4", "5"]
    assert sorted(store.claimed) == ["1", "2", "3", "4", "5"]
    assert sorted(store.released) == ["1", "2", "3"]
    assert [store.get(i).state.phase.value for i in "123"] == ["queued"] * 3  # type: ignore[union-attr]
    unknown.clear()
    assert d.dispatch(T0 + timedelta(minutes=6)) == 0  # both agents are on calls
    assert store.claim_due(T0 + timedelta(minutes=6), 5) != []  # the held ones are claimable
