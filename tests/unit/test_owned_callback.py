"""Issue 15, owned callbacks («мой перезвон»): a callback an agent makes its own is offered
to that agent at its time; if that agent is not ready within the campaign's
``callback_owner_grace_s``, any agent gets it. Only the callback's own call is owned."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from fakes import Recorder

from campaigns import lifecycle
from campaigns.calls import CallReport, CallResult
from campaigns.dispositions import Disposition, DispositionKind
from campaigns.orders import Order
from campaigns.screening import Screening, Verdict
from campaigns.settings import CallingWindow, CampaignSettings
from dialer.dispatch.agents import AgentPool, AgentState
from dialer.dispatch.dispatcher import Dispatcher
from dialer.dispatch.memory_store import MemoryOrderStore

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # 12:00 Moscow
ALL_DAY = CallingWindow(start=datetime.min.time(), end=datetime.max.time().replace(microsecond=0))
SETTINGS = CampaignSettings(window=ALL_DAY, callback_owner_grace_s=120)


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def owned(at: datetime, owner: str | None = "a1") -> Disposition:
    return Disposition(DispositionKind.CALLBACK, callback_at=at, owner=owner)


class Desk:
    """One order answered by a1 at T0 + 60 s (a2 has been idle longer since)."""

    def __init__(self, agents: tuple[str, ...] = ("a1", "a2")) -> None:
        self.rec, self.store, ids = Recorder(), MemoryOrderStore(), itertools.count(1)
        self.pool = AgentPool(list(agents), T0, wrap_up_s=0, miss_pause_after=3)
        self.dispatcher = Dispatcher(
            settings=SETTINGS,
            store=self.store,
            telephony=self.rec,
            agents=self.pool,
            journal=self.rec,
            screen=lambda o, _: Screening(Verdict.DIAL, o.phone, ("Europe/Moscow",), o.id),
            new_attempt_id=lambda: f"att{next(ids)}",
            jitter=lambda: 0.0,
        )
        self.dispatcher.admit([Order("НФ-7", "+79160000001", "Иван", "Мака", T0)], T0)
        assert self.dispatcher.dispatch(T0) == 1
        assert self.rec.originated[0].agent == "a1"
        self.dispatcher.on_report(CallReport("att1", CallResult.ANSWERED, s(60)))

    def agent_of_last_dial(self) -> str:
        return self.rec.originated[-1].agent


def test_only_a_callback_has_an_owner() -> None:
    with pytest.raises(ValueError, match="only a callback has an owner"):
        Disposition(DispositionKind.CONFIRMED, owner="a1")


def test_the_callback_keeps_its_owner_until_its_own_call_is_made() -> None:
    desk = Desk()
    desk.dispatcher.on_disposition("НФ-7", owned(s(600)), s(70))
    entry = desk.store.get("НФ-7")
    assert entry is not None
    assert (entry.state.callback_owner, entry.state.due_at) == ("a1", s(600))
    counted = lifecycle.on_result(
        entry.state._replace(phase=lifecycle.Phase.DIALING, live_attempt="x"),
        CallResult.NO_ANSWER, started_at=s(600), ended_at=s(630), settings=SETTINGS, jitter=0.0,
    )  # fmt: skip
    assert counted.state.callback_owner is None  # its retries go to any agent


def test_an_owned_callback_goes_to_its_owner_though_another_agent_waited_longer() -> None:
    desk = Desk()
    desk.dispatcher.on_disposition("НФ-7", owned(s(600)), s(70))
    assert desk.dispatcher.dispatch(s(600)) == 1
    assert desk.agent_of_last_dial() == "a1"  # not a2, the longest idle


def test_the_owner_not_ready_holds_it_for_the_grace_then_any_agent_gets_it() -> None:
    desk = Desk()
    desk.dispatcher.on_disposition("НФ-7", owned(s(600)), s(70))
    desk.pool.pause("a1", s(500), "обед")
    assert desk.dispatcher.dispatch(s(600)) == 0  # a2 is free, but the callback is a1's
    assert desk.dispatcher.dispatch(s(719)) == 0
    assert desk.pool.get("a2").state is AgentState.IDLE
    assert desk.dispatcher.dispatch(s(720)) == 1  # the 120 s grace is over
    assert desk.agent_of_last_dial() == "a2"


def test_a_callback_owned_by_an_agent_the_pool_does_not_know_goes_to_any_agent() -> None:
    desk = Desk()
    desk.dispatcher.on_disposition("НФ-7", owned(s(600), owner="a9"), s(70))
    assert desk.dispatcher.dispatch(s(600)) == 1


def test_a_callback_nobody_owns_goes_to_the_longest_idle_agent() -> None:
    desk = Desk()
    desk.dispatcher.on_disposition("НФ-7", owned(s(600), owner=None), s(70))
    assert desk.dispatcher.dispatch(s(600)) == 1
    assert desk.agent_of_last_dial() == "a2"  # idle since T0, a1 only since the call


def test_the_pool_takes_only_the_named_agent_when_asked() -> None:
    pool = AgentPool(["a1", "a2"], T0, wrap_up_s=0, miss_pause_after=3)
    assert pool.acquire(T0, only="a2") == "a2"
    assert pool.acquire(T0, only="a2") is None  # ringing now
    assert pool.acquire(T0, only="a9") is None
    assert pool.acquire(T0) == "a1"  # a2's stale idle entry is skipped
    assert pool.acquire(T0) is None
