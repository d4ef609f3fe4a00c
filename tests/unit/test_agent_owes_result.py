"""Issue 15, wrap-up: with results coming from the agents (``auto_disposition = "none"``),
an agent whose call was answered is offered no new call until it gives the result or the
campaign's ``wrap_up_max_s`` runs out; then it is paused «нет результата по заказу N»."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from fakes import Recorder

from campaigns.calls import CallReport, CallResult
from campaigns.dispositions import Disposition, DispositionKind
from campaigns.orders import Order
from campaigns.screening import Screening, Verdict
from campaigns.settings import CampaignSettings
from dialer.dispatch.agents import AgentPool, AgentState
from dialer.dispatch.dispatcher import Dispatcher
from dialer.dispatch.memory_store import MemoryOrderStore
from dialer.dispatch.round import DialRound

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def holding_pool(wrap_up_max_s: int | None = 180) -> AgentPool:
    return AgentPool(["a1"], T0, wrap_up_s=10, miss_pause_after=3, wrap_up_max_s=wrap_up_max_s)


def test_an_agent_who_owes_a_result_is_offered_nothing_until_it_is_given() -> None:
    p = holding_pool()
    assert p.acquire(T0) == "a1"
    p.release("a1", s(60), missed=False, owes="НФ-00123")
    assert p.acquire(s(60 + 11)) is None  # the plain wrap-up would have ended here
    assert p.acquire(s(60 + 170)) is None
    p.result_given("НФ-00123", s(60 + 175))
    assert p.get("a1").state is AgentState.IDLE
    assert p.acquire(s(60 + 175)) == "a1"


def test_a_result_given_at_once_leaves_the_plain_wrap_up() -> None:
    p = holding_pool()
    p.acquire(T0)
    p.release("a1", s(60), missed=False, owes="7001")
    p.result_given("7001", s(60))  # an automatic verdict, or an agent in a hurry
    assert p.get("a1").state is AgentState.WRAP_UP
    assert p.next_free_at() == s(70)
    assert p.acquire(s(69)) is None
    assert p.acquire(s(70)) == "a1"


def test_no_result_within_wrap_up_max_pauses_the_agent_naming_the_order() -> None:
    p = holding_pool()
    p.acquire(T0)
    p.release("a1", s(60), missed=False, owes="НФ-00123")
    assert p.next_free_at() == s(240)
    assert p.acquire(s(240)) is None
    agent = p.get("a1")
    assert (agent.state, agent.paused_reason) == (
        AgentState.PAUSED,
        "нет результата по заказу НФ-00123",
    )
    assert agent.since == s(240)
    assert "a1" in {a.id for a in p.changes()}  # persisted, so ops see the pause
    p.result_given("НФ-00123", s(300))  # a late result does not lift a pause: ops resume
    assert p.get("a1").state is AgentState.PAUSED


def test_a_superseded_deadline_never_ends_a_later_wrap_up_early() -> None:
    p = holding_pool()
    p.acquire(T0)
    p.release("a1", s(60), missed=False, owes="7001")  # deadline at 240 in the heap
    p.result_given("7001", s(80))  # idle at once: 70 has passed
    assert p.acquire(s(100)) == "a1"
    p.release("a1", s(200), missed=False, owes="7002")  # its deadline is 380, not 240
    assert p.acquire(s(241)) is None
    assert p.get("a1").state is AgentState.WRAP_UP
    assert p.next_free_at() == s(380)


def test_without_wrap_up_max_the_agent_keeps_the_plain_wrap_up() -> None:
    p = holding_pool(wrap_up_max_s=None)  # results come by themselves (auto_disposition)
    p.acquire(T0)
    p.release("a1", s(60), missed=False, owes="7001")
    assert p.acquire(s(70)) == "a1"


def test_the_round_offers_the_next_order_to_the_agent_only_after_its_result() -> None:
    """Through the real dispatcher and round: one agent, two orders; the first call is
    answered, so the second order waits until the agent gives the first one's result."""
    rec, store, ids = Recorder(), MemoryOrderStore(), itertools.count(1)
    dispatcher = Dispatcher(
        settings=CampaignSettings(),
        store=store,
        telephony=rec,
        agents=holding_pool(),
        journal=rec,
        screen=lambda o, _: Screening(Verdict.DIAL, o.phone, ("Europe/Moscow",), o.id),
        new_attempt_id=lambda: f"att{next(ids)}",
        jitter=lambda: 0.0,
    )
    dispatcher.admit([Order(n, f"+7916000000{n}", "Иван", "Мака", T0) for n in "12"], T0)
    dial_round = DialRound(dispatcher)
    dial_round.run(T0)
    assert rec.dials == ["1"]
    assert dial_round.on_report(CallReport("att1", CallResult.ANSWERED, s(60)))
    assert dial_round.run(s(120)) == s(240)  # wakes when the wait for the result runs out
    assert rec.dials == ["1"]
    dial_round.dispose("1", s(130), Disposition(DispositionKind.CONFIRMED))
    dial_round.run(s(130))
    assert rec.dials == ["1", "2"]


def test_a_pause_while_owing_a_result_ends_the_debt_so_a_later_wrap_up_is_plain() -> None:
    """Ops paused the agent before the result came: the pause supersedes; after a resume
    and an unanswered call the agent's plain wrap-up must not turn into «нет результата»."""
    p = AgentPool(["a1"], T0, wrap_up_s=10, miss_pause_after=3, wrap_up_max_s=180)
    p.acquire(T0)
    p.release("a1", s(60), missed=False, owes="7001")
    p.pause("a1", s(70), "обед")
    p.result_given("7001", s(80))
    p.login("a1", s(90))
    assert p.acquire(s(90)) == "a1"
    p.release("a1", s(120), missed=False)  # not answered: no result owed
    assert p.acquire(s(130)) == "a1"
    assert p.get("a1").paused_reason is None
