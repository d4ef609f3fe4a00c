"""The real Dispatcher over the real Asterisk: SQL store and agents table in SQLite, the agent
pool synced with it, the AMI adapter, driven by ``LiveDispatchLoop`` on a real clock.

Numbers select the callee doubles (config/asterisk/README.md): agents ending in 1 press 1,
in 2 press 2; customers ending in 1 answer (the digit before: seconds on the line), in 2 ring
out. Customer numbers are valid Russian mobiles; the window is open all day in UTC.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from asterisk_fixtures import AsteriskInstance, RawAmi
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from campaigns.calls import CallResult
from campaigns.dispositions import Disposition, DispositionKind
from campaigns.lifecycle import Phase
from campaigns.orders import Order
from campaigns.outcomes import Outcome, OutcomeKind
from campaigns.screening import ScreeningRules, screen
from campaigns.settings import CallingWindow, CampaignSettings, RetrySettings
from campaigns.spam import default_spam_words
from dialer import cli
from dialer.ami.telephony import AmiSettings, AmiTelephony
from dialer.app.agent_sync import AgentSync
from dialer.app.live_loop import LiveDispatchLoop
from dialer.dispatch.agents import DEVICE_UNAVAILABLE, AgentPool, AgentState
from dialer.dispatch.dispatcher import Dispatcher
from dialer.dispatch.ports import AttemptRecord, QueueEntry
from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.migrate import open_database
from dialer.storage.models import AttemptRow, OutcomeRow
from dialer.storage.orders import SqlOrderStore

pytestmark = pytest.mark.asterisk

CAMPAIGN = CampaignSettings(
    name="it",
    default_tz="UTC",
    window=CallingWindow(start=time(0, 0), end=time(23, 59)),
    retry=RetrySettings(
        quick_retries=1, quick_retry_min_s=1, quick_retry_max_s=2, slow_retry_s=3, calling_days=1
    ),
    ring_timeout_s=2,
    agent_accept_timeout_s=3,
    wrap_up_s=0,
    agent_miss_pause_after=2,
    agent_channel_template="Local/{agent}@dialer-test-agents",
    customer_channel_template="Local/{number}@dialer-test-customers/n",
)
ANSWERS_2S = "+79165830421"  # answers, stays 2 s
RINGS_OUT = "+79037415862"  # never answers
CUSTOM_DEVICE = "Custom:agent{agent}"


def now() -> datetime:
    return datetime.now(UTC)


class Journal:
    """The dispatcher's journal, kept for the assertions."""

    def __init__(self) -> None:
        self.dials: list[AttemptRecord] = []
        self.outcomes: list[Outcome] = []

    def dial(self, entry: QueueEntry, attempt: AttemptRecord, at: datetime) -> None:
        self.dials.append(attempt)

    def result(self, entry: QueueEntry, attempt: AttemptRecord) -> None:
        pass

    def outcome(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)


@dataclasses.dataclass
class Rig:
    """One campaign wired end to end; ``start`` connects and runs the loop."""

    engine: Engine
    db_url: str
    store: SqlOrderStore
    registry: SqlAgentRegistry
    pool: AgentPool
    sync: AgentSync
    live: LiveDispatchLoop
    telephony: AmiTelephony
    dispatcher: Dispatcher
    journal: Journal

    def admit(self, *orders: Order) -> None:
        assert self.dispatcher.admit(orders, now()) == len(orders)

    def attempts(self, order_id: str) -> list[AttemptRow]:
        with Session(self.engine) as session:
            query = select(AttemptRow).where(AttemptRow.order_id == order_id)
            return list(session.scalars(query.order_by(AttemptRow.started_at)))

    def outcome_kinds(self, order_id: str) -> list[str]:
        with Session(self.engine) as session:
            query = select(OutcomeRow.kind).where(OutcomeRow.order_id == order_id)
            return list(session.scalars(query.order_by(OutcomeRow.id)))

    def phase(self, order_id: str) -> Phase:
        entry = self.store.get(order_id)
        assert entry is not None
        return entry.state.phase

    async def until(self, check: Callable[[], bool], timeout_s: float = 20.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not check():
            assert asyncio.get_running_loop().time() < deadline, "timed out"
            await asyncio.sleep(0.1)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[Engine, str]]:
    url = f"sqlite:///{tmp_path / 'dialer.db'}"
    engine = open_database(url)
    yield engine, url
    engine.dispose()


@pytest.fixture
async def rig(
    ami_settings: AmiSettings, database: tuple[Engine, str]
) -> AsyncIterator[Callable[..., Rig]]:
    """Build a rig for some agents (logged in in this order: the first is longest idle)."""
    built: list[Rig] = []
    engine, url = database

    def build(*agents: str, settings: CampaignSettings = CAMPAIGN) -> Rig:
        settings = dataclasses.replace(settings, agents=agents)
        registry = SqlAgentRegistry(engine)
        registry.configure(settings.name, agents, now(), channel_template="Local/{agent}")
        for agent in agents:
            registry.login(agent, now())
        pool = AgentPool(
            [],
            now(),
            wrap_up_s=settings.wrap_up_s,
            miss_pause_after=settings.agent_miss_pause_after,
        )
        sync = AgentSync(registry, pool, campaign=settings.name)
        sync.load(now())
        live = LiveDispatchLoop(pool, clock=now, agent_sync=sync, interval_s=0.2)
        telephony = AmiTelephony(ami_settings, live.report, clock=now)
        telephony.watch_agent_devices(settings.agent_channel_template, live.device)
        telephony.watch_agent_devices(CUSTOM_DEVICE, live.device)
        telephony.watch_accepts(live.accepted)
        store = SqlOrderStore(engine, campaign=settings.name)
        rules = ScreeningRules(settings=settings, spam=default_spam_words())
        journal = Journal()
        ids = (str(uuid.uuid4()) for _ in itertools.count())
        dispatcher = Dispatcher(
            settings=settings,
            store=store,
            telephony=live.guard(telephony),
            agents=pool,
            journal=journal,
            screen=lambda order, at: screen(order, rules, at),
            new_attempt_id=lambda: next(ids),
            jitter=lambda: 0.0,
        )
        rig = Rig(engine, url, store, registry, pool, sync, live, telephony, dispatcher, journal)
        built.append(rig)
        return rig

    yield build
    for rig in built:
        await rig.live.stop()
        await rig.telephony.close()


async def start(rig: Rig) -> None:
    await rig.telephony.start()
    await rig.telephony.wait_ready()
    rig.live.start(rig.dispatcher)


def order(oid: str, phone: str) -> Order:
    return Order(
        id=oid,
        phone=phone,
        name="Ирина Соколова",
        product=f"Крем {oid}",
        created_at=now() - timedelta(seconds=5),
        tz="UTC",
    )


async def test_an_answered_order_is_confirmed_and_keeps_its_recording(
    rig: Callable[..., Rig], asterisk: AsteriskInstance
) -> None:
    r = rig("1001")
    await start(r)
    r.admit(order("7001", ANSWERS_2S))

    await r.until(lambda: r.phase("7001") is Phase.AWAITING_DISPOSITION)
    r.dispatcher.on_disposition("7001", Disposition(DispositionKind.CONFIRMED), now())

    [attempt] = r.attempts("7001")
    assert (attempt.agent, attempt.result) == ("1001", CallResult.ANSWERED.value)
    assert attempt.customer_attempt
    assert attempt.recording is not None
    assert attempt.recording.endswith(f"/monitor/dialer/{attempt.id}.wav")
    assert r.phase("7001") is Phase.DONE
    assert r.outcome_kinds("7001") == [OutcomeKind.CONFIRMED.value]
    assert r.attempts("7001")[0].recording == attempt.recording
    await r.until(lambda: r.registry.get("1001").state is AgentState.IDLE)


async def test_a_customer_who_does_not_answer_is_requeued_for_a_quick_retry(
    rig: Callable[..., Rig],
) -> None:
    r = rig("1011")
    await start(r)
    r.admit(order("7002", RINGS_OUT))

    await r.until(lambda: bool(r.attempts("7002")) and r.attempts("7002")[0].ended_at is not None)
    [attempt] = r.attempts("7002")[:1]
    entry = r.store.get("7002")
    assert entry is not None
    assert attempt.result == CallResult.NO_ANSWER.value
    assert entry.state.customer_attempts == 1
    ended = attempt.ended_at
    assert ended is not None
    if entry.state.phase is Phase.QUEUED:
        assert entry.state.due_at is not None
        assert timedelta(seconds=1) <= entry.state.due_at - ended <= timedelta(seconds=2)
    assert r.outcome_kinds("7002")[0] == OutcomeKind.NO_ANSWER.value

    await r.until(lambda: len(r.attempts("7002")) == 2)  # the quick retry is dialled
    _, second = r.attempts("7002")
    assert second.started_at - ended >= timedelta(seconds=1)


async def test_an_agent_pressing_2_sends_the_order_straight_to_the_next_agent(
    rig: Callable[..., Rig],
) -> None:
    r = rig("1002", "1021")  # 1002 is the longest idle and presses 2
    await start(r)
    r.admit(order("7003", ANSWERS_2S))

    await r.until(lambda: r.phase("7003") is Phase.AWAITING_DISPOSITION)

    missed, answered = r.attempts("7003")
    assert (missed.agent, missed.result) == ("1002", CallResult.AGENT_MISSED.value)
    assert not missed.customer_attempt
    assert (answered.agent, answered.result) == ("1021", CallResult.ANSWERED.value)
    gap = answered.started_at - missed.ended_at  # type: ignore[operator]
    assert gap < timedelta(seconds=1.5)  # back in the queue at once, not after a retry delay
    entry = r.store.get("7003")
    assert entry is not None
    assert (entry.state.customer_attempts, entry.state.agent_misses) == (1, 1)


async def test_rule_3_an_agent_missing_twice_in_a_row_is_paused_with_a_reason(
    rig: Callable[..., Rig], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    r = rig("1012")
    await start(r)
    r.admit(order("7004", ANSWERS_2S))

    await r.until(lambda: r.registry.get("1012").state is AgentState.PAUSED)

    assert [a.result for a in r.attempts("7004")] == [CallResult.AGENT_MISSED.value] * 2
    assert r.phase("7004") is Phase.QUEUED  # waits for an agent; not a customer attempt
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("dialer.commands.agents",))
    capsys.readouterr()
    assert cli.main(["--db", r.db_url, "agents", "list", "--json"]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (row["state"], row["paused_reason"], row["consecutive_misses"]) == (
        "paused",
        "пропущено вызовов подряд: 2",
        2,
    )
    await asyncio.sleep(0.6)
    assert len(r.attempts("7004")) == 2  # a paused agent is offered nothing


async def test_one_agent_never_gets_two_calls_when_orders_outnumber_agents(
    rig: Callable[..., Rig],
) -> None:
    r = rig("1031", "1041")
    await start(r)
    numbers = ("+79264918221", "+79857206321", "+79153027421")  # answer, 2 s on the line
    r.admit(*(order(f"71{i}", n) for i, n in enumerate(numbers)))

    await r.until(
        lambda: all(r.phase(f"71{i}") is Phase.AWAITING_DISPOSITION for i in range(3)),
        timeout_s=30,
    )

    attempts = [a for i in range(3) for a in r.attempts(f"71{i}")]
    assert all(a.result == CallResult.ANSWERED.value for a in attempts)
    for agent in ("1031", "1041"):
        calls = sorted((a for a in attempts if a.agent == agent), key=lambda a: a.started_at)
        assert calls
        for earlier, later in itertools.pairwise(calls):
            assert later.started_at >= earlier.ended_at  # type: ignore[operator]
    assert len(r.journal.dials) == 3


@pytest.fixture
async def device_states(asterisk: AsteriskInstance) -> None:
    """Device states on AMI need res_manager_devicestate; Custom: devices need func_devstate
    (both loaded by config/asterisk/instance/modules.conf)."""
    for module in ("func_devstate", "res_manager_devicestate"):
        assert f"{module}.so" in asterisk.cli(f"module show like {module}"), module


async def test_an_agent_whose_device_is_unavailable_is_offered_no_call_until_it_returns(
    rig: Callable[..., Rig], ami_lines: RawAmi, device_states: None
) -> None:
    device = "DEVICE_STATE(Custom:agent1051)"

    async def set_device(state: str) -> None:
        reply = await ami_lines.action({"Action": "Setvar", "Variable": device, "Value": state})
        assert reply.get("Response") == "Success", reply

    await set_device("UNAVAILABLE")  # before the dialer connects: learnt from the list
    try:
        r = rig("1051")
        await start(r)
        await r.until(lambda: r.registry.get("1051").paused_reason == DEVICE_UNAVAILABLE)
        r.admit(order("7005", ANSWERS_2S))
        await asyncio.sleep(1.0)
        assert r.attempts("7005") == []

        await set_device("NOT_INUSE")  # the event brings the agent back
        await r.until(lambda: r.phase("7005") is Phase.AWAITING_DISPOSITION)
        [attempt] = r.attempts("7005")
        assert attempt.agent == "1051"
    finally:
        await set_device("NOT_INUSE")
