"""The agent's «Недозвон» and «Консультация» on the pure lifecycle and through the dispatcher
(issue 15 §2, business-rules §5–§6): a no-answer after an answered call follows the §5 ladder
exactly as an unanswered call would; a consultation ends the order."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from fakes import Recorder

from campaigns import lifecycle
from campaigns.calls import CallReport, CallResult
from campaigns.dispositions import Disposition, DispositionKind
from campaigns.lifecycle import OrderState, Phase, Priority, TransitionError, WriteOutcome
from campaigns.orders import Order
from campaigns.outcomes import Outcome, OutcomeKind
from campaigns.screening import Screening, Verdict
from campaigns.settings import CampaignSettings
from dialer.dispatch.agents import AgentPool
from dialer.dispatch.dispatcher import Dispatcher
from dialer.dispatch.memory_store import MemoryOrderStore

MSK = ("Europe/Moscow",)
S = CampaignSettings()
NO_ANSWER = Disposition(DispositionKind.NO_ANSWER)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def call(state: OrderState, result: CallResult, start: datetime) -> lifecycle.Transition:
    dialing = lifecycle.start_attempt(state, start, f"a{state.customer_attempts}").state
    end = start + timedelta(seconds=30)
    return lifecycle.on_result(dialing, result, started_at=start, ended_at=end, settings=S,
                               jitter=0.0)  # fmt: skip


def outcomes(t: lifecycle.Transition) -> list[Outcome]:
    return [e.outcome for e in t.effects if isinstance(e, WriteOutcome)]


def admitted(created: datetime) -> OrderState:
    return lifecycle.admit("1001", MSK, created, created, S).state


@pytest.mark.parametrize(("jitter", "seconds"), [(0.0, 120), (0.5, 150), (0.999, 180)])
def test_rule_5_the_agents_no_answer_retries_in_two_to_three_minutes_like_an_unanswered_call(
    jitter: float, seconds: int
) -> None:
    start = utc(2026, 3, 10, 9, 0)
    answered = call(admitted(start), CallResult.ANSWERED, start).state
    now = start + timedelta(minutes=2)
    t = lifecycle.on_disposition(answered, NO_ANSWER, now, S, jitter=jitter)
    assert t.state.phase is Phase.QUEUED
    assert t.state.due_at == now + timedelta(seconds=seconds)
    assert (t.state.customer_attempts, t.state.priority) == (1, Priority.QUICK)
    [written] = outcomes(t)
    unanswered = outcomes(call(admitted(start), CallResult.NO_ANSWER, start))[0]
    same = ("kind", "problem", "callback_at", "call_made", "attempt_no", "comment")
    assert {f: getattr(written, f) for f in same} == {f: getattr(unanswered, f) for f in same}
    assert (written.kind, written.problem, written.comment) == (
        OutcomeKind.NO_ANSWER, "Не отвечает", "10.03 - не отвечает-1")  # fmt: skip


def test_rule_5_the_agents_no_answer_after_three_unanswered_calls_retries_in_an_hour() -> None:
    start = utc(2026, 3, 10, 8, 0)
    state = admitted(start)
    for i in range(3):
        state = call(state, CallResult.NO_ANSWER, start + timedelta(minutes=5 * i)).state
    answered = call(state, CallResult.ANSWERED, start + timedelta(minutes=20)).state
    now = start + timedelta(minutes=22)
    t = lifecycle.on_disposition(
        answered, Disposition(DispositionKind.NO_ANSWER, comment="сброс"), now, S, jitter=0.7
    )
    assert t.state.due_at == now + timedelta(hours=1)
    assert t.state.priority is Priority.HOURLY
    [written] = outcomes(t)
    assert written.callback_at == t.state.due_at  # §6: from the 4th attempt, a callback date
    assert written.comment == "10.03 - не отвечает-4, сброс"


def test_rule_5_the_agents_no_answer_past_the_calling_days_is_the_final_nedozvon() -> None:
    """Three calls within five hours on the last calling day, then an answered call where
    nobody spoke at 18:52 Moscow: the hourly retry falls after the window, on a fourth day."""
    state = admitted(utc(2026, 3, 8, 7, 0))
    for minutes in (0, 5, 10):
        state = call(state, CallResult.NO_ANSWER, utc(2026, 3, 10, 12, minutes)).state
    answered = call(state, CallResult.ANSWERED, utc(2026, 3, 10, 15, 50)).state
    t = lifecycle.on_disposition(answered, NO_ANSWER, utc(2026, 3, 10, 15, 52), S)
    assert (t.state.phase, t.state.outcome) == (Phase.DONE, OutcomeKind.NO_ANSWER_FINAL)
    assert outcomes(t)[0].comment == "10.03 - не отвечает-4, недозвон"


def test_no_answer_is_only_the_verdict_on_an_answered_call_never_on_a_queued_order() -> None:
    queued = admitted(utc(2026, 3, 10, 9, 0))
    with pytest.raises(TransitionError, match="no_answer is the verdict on an answered call"):
        lifecycle.on_disposition(queued, NO_ANSWER, utc(2026, 3, 10, 9, 1), S)


@pytest.mark.parametrize("kind", [DispositionKind.NO_ANSWER, DispositionKind.CONSULT])
def test_no_answer_and_consult_take_no_reason(kind: DispositionKind) -> None:
    with pytest.raises(ValueError, match="takes no reason"):
        Disposition(kind, reason="Передумал")


def test_rule_6_consult_ends_an_answered_order_as_a_consultation() -> None:
    start = utc(2026, 3, 10, 9, 0)
    answered = call(admitted(start), CallResult.ANSWERED, start).state
    d = Disposition(DispositionKind.CONSULT, comment="спрашивал про доставку")
    t = lifecycle.on_disposition(answered, d, start + timedelta(minutes=2), S)
    assert (t.state.phase, t.state.outcome, t.state.due_at) == (
        Phase.DONE, OutcomeKind.CONSULT, None)  # fmt: skip
    [written] = outcomes(t)
    assert (written.kind, written.problem, written.call_made) == (OutcomeKind.CONSULT, None, True)
    assert written.comment == "10.03 - консультация, спрашивал про доставку"


def test_consult_may_end_a_queued_order_too_with_no_call_made() -> None:
    queued = admitted(utc(2026, 3, 10, 9, 0))
    now = utc(2026, 3, 10, 9, 1)
    t = lifecycle.on_disposition(queued, Disposition(DispositionKind.CONSULT), now, S)
    assert t.state.outcome is OutcomeKind.CONSULT
    assert outcomes(t)[0].call_made is False


def test_the_dispatcher_spreads_the_agents_no_answer_with_its_own_jitter() -> None:
    t0 = utc(2026, 3, 10, 9, 0)
    store, rec = MemoryOrderStore(), Recorder()
    pool = AgentPool(["a0"], t0, wrap_up_s=0, miss_pause_after=3)
    ids = itertools.count(1)
    d = Dispatcher(
        settings=S, store=store, telephony=rec, agents=pool, journal=rec,
        screen=lambda o, now: Screening(Verdict.DIAL, o.phone, MSK, o.id),
        new_attempt_id=lambda: f"att{next(ids)}", jitter=lambda: 0.999,
    )  # fmt: skip
    d.admit([Order("НФ-00123", "+79161234567", "Иван", "Мака", t0)], t0)
    d.dispatch(t0)
    d.on_report(CallReport(rec.originated[0].attempt_id, CallResult.ANSWERED, t0))
    d.on_disposition("НФ-00123", NO_ANSWER, t0 + timedelta(minutes=1))
    entry = store.get("НФ-00123")
    assert entry is not None
    assert entry.state.due_at == t0 + timedelta(minutes=1, seconds=180)
