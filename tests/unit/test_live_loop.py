"""LiveDispatchLoop without Asterisk: refused requests become FAILED reports, device states
reach the pool, accepts mark the agent on a call."""

from __future__ import annotations

from datetime import UTC, datetime, time

from campaigns.calls import OriginateRequest
from campaigns.orders import Order
from campaigns.outcomes import Outcome
from campaigns.screening import Screening, Verdict
from campaigns.settings import CallingWindow, CampaignSettings
from dialer.ami.results import DeviceStatus
from dialer.app.live_loop import LiveDispatchLoop
from dialer.dispatch.agents import DEVICE_UNAVAILABLE, AgentPool, AgentState
from dialer.dispatch.dispatcher import Dispatcher
from dialer.dispatch.memory_store import MemoryOrderStore
from dialer.dispatch.ports import AttemptRecord, QueueEntry

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


class Refusing:
    def originate(self, request: OriginateRequest) -> None:
        raise ValueError("dial template refused")

    def dial(self, entry: QueueEntry, attempt: AttemptRecord, at: datetime) -> None:
        pass

    def result(self, entry: QueueEntry, attempt: AttemptRecord) -> None:
        pass

    def outcome(self, outcome: Outcome) -> None:
        pass


def test_a_refused_request_comes_back_as_a_failed_attempt_and_frees_the_agent() -> None:
    pool = AgentPool(["1001"], NOW, wrap_up_s=0, miss_pause_after=3)
    live = LiveDispatchLoop(pool, clock=lambda: NOW)
    store = MemoryOrderStore()
    refusing = Refusing()
    dispatcher = Dispatcher(
        settings=CampaignSettings(window=CallingWindow(start=time(0, 0), end=time(23, 59))),
        store=store,
        telephony=live.guard(refusing),
        agents=pool,
        journal=refusing,
        screen=lambda o, _: Screening(Verdict.DIAL, "+79165830421", ("UTC",), o.id),
        new_attempt_id=lambda: "0a1",
        jitter=lambda: 0.0,
    )
    live._dispatcher = dispatcher  # what start() does, without a running loop
    dispatcher.admit([Order("7001", "+79165830421", "Ирина", "Крем", NOW)], NOW)

    assert live.tick() == 1
    assert pool.get("1001").state is AgentState.RINGING
    live.tick()
    entry = store.get("7001")
    assert entry is not None
    assert entry.state.network_failures == 1  # FAILED: not a customer attempt
    assert pool.get("1001").state is AgentState.IDLE


def test_device_states_and_accepts_reach_the_pool() -> None:
    pool = AgentPool(["1001"], NOW, wrap_up_s=0, miss_pause_after=3)
    live = LiveDispatchLoop(pool, clock=lambda: NOW)
    live.device("1001", DeviceStatus.UNAVAILABLE)
    assert pool.get("1001").paused_reason == DEVICE_UNAVAILABLE
    live.device("1001", DeviceStatus.UNKNOWN)
    assert pool.get("1001").state is AgentState.PAUSED
    live.device("1001", DeviceStatus.NOT_INUSE)
    assert pool.acquire(NOW) == "1001"
    live.accepted("0a1", "1001")
    assert pool.get("1001").state is AgentState.ON_CALL
    live.device("reception", DeviceStatus.UNAVAILABLE)  # not an agent: ignored
