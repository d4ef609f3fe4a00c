"""The agent coordinator: ops' changes in the table reach the running pool, and the pool's
states (ringing, wrap-up, automatic pauses) reach the table, without either losing the other's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dialer.app.agent_sync import AgentSync
from dialer.dispatch.agents import DEVICE_UNAVAILABLE, AgentPool, AgentState
from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.migrate import open_database

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
S1 = T0 + timedelta(seconds=1)
S2 = T0 + timedelta(seconds=2)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_database(f"sqlite:///{tmp_path / 'agents.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def registry(engine: Engine) -> SqlAgentRegistry:
    registry = SqlAgentRegistry(engine)
    registry.configure("shop", ["101", "102"], T0)
    registry.login("101", T0)
    return registry


def service(
    registry: SqlAgentRegistry, *, miss_pause_after: int = 3, wrap_up_s: int = 0
) -> tuple[AgentPool, AgentSync]:
    pool = AgentPool([], T0, wrap_up_s=wrap_up_s, miss_pause_after=miss_pause_after)
    sync = AgentSync(registry, pool, campaign="shop")
    sync.load(T0)
    return pool, sync


def state(registry: SqlAgentRegistry, agent_id: str) -> tuple[AgentState, str | None]:
    return registry.get(agent_id).key


def test_load_puts_the_tables_agents_in_the_pool_as_they_are(
    registry: SqlAgentRegistry,
) -> None:
    pool, _ = service(registry)
    assert pool.get("101").state is AgentState.IDLE
    assert pool.get("102").state is AgentState.LOGGED_OUT
    assert pool.acquire(T0) == "101"
    assert pool.acquire(T0) is None


def test_an_agent_left_ringing_by_a_crash_is_idle_unless_its_call_still_lives(
    registry: SqlAgentRegistry,
) -> None:
    pool, sync = service(registry)
    pool.acquire(T0)
    sync.sync(T0)
    assert state(registry, "101") == (AgentState.RINGING, None)

    restarted, _ = service(registry)
    assert restarted.get("101").state is AgentState.IDLE
    assert state(registry, "101") == (AgentState.IDLE, None)

    pool.acquire(S1)
    AgentSync(registry, pool, campaign="shop").sync(S1)
    busy_pool = AgentPool([], T0, wrap_up_s=0, miss_pause_after=3)
    AgentSync(registry, busy_pool, campaign="shop").load(S1, busy={"101"})
    assert busy_pool.get("101").state is AgentState.RINGING


def test_login_from_the_cli_reaches_the_running_pool(registry: SqlAgentRegistry) -> None:
    pool, sync = service(registry)
    registry.login("102", S1)
    assert sync.sync(S1) == ["102"]
    assert pool.get("102").state is AgentState.IDLE
    assert sync.sync(S2) == []


def test_pause_and_logout_from_the_cli_stop_new_calls(registry: SqlAgentRegistry) -> None:
    pool, sync = service(registry)
    registry.pause("101", S1, "обед")
    sync.sync(S1)
    assert pool.get("101").paused_reason == "обед"
    assert pool.acquire(S1) is None
    registry.resume("101", S2)
    sync.sync(S2)
    assert pool.acquire(S2) == "101"


def test_the_pools_states_reach_the_table(registry: SqlAgentRegistry) -> None:
    pool, sync = service(registry, wrap_up_s=10)
    pool.acquire(T0)
    sync.sync(T0)
    assert state(registry, "101") == (AgentState.RINGING, None)
    pool.connected("101", S1)
    sync.sync(S1)
    assert state(registry, "101") == (AgentState.ON_CALL, None)
    pool.release("101", S2, missed=False)
    sync.sync(S2)
    assert state(registry, "101") == (AgentState.WRAP_UP, None)
    assert registry.get("101").last_call_ended_at == S2


def test_rule_3_an_agent_missing_n_times_is_paused_with_a_reason_visible_to_ops(
    registry: SqlAgentRegistry,
) -> None:
    pool, sync = service(registry, miss_pause_after=2)
    for _ in range(2):
        pool.release(pool.acquire(T0) or "", T0, missed=True)
    sync.sync(T0)
    row = registry.get("101")
    assert (row.state, row.paused_reason, row.consecutive_misses) == (
        AgentState.PAUSED,
        "пропущено вызовов подряд: 2",
        2,
    )
    registry.resume("101", S1)
    sync.sync(S1)
    assert pool.get("101").state is AgentState.IDLE
    assert pool.get("101").consecutive_misses == 0


def test_a_pause_asked_during_a_call_waits_for_its_end_and_is_not_overwritten(
    registry: SqlAgentRegistry,
) -> None:
    pool, sync = service(registry)
    pool.acquire(T0)
    sync.sync(T0)
    registry.pause("101", S1, "обед")
    assert sync.sync(S1) == []
    assert state(registry, "101") == (AgentState.PAUSED, "обед")  # the request stays

    pool.release("101", S2, missed=False)
    assert sync.sync(S2) == ["101"]
    assert pool.get("101").state is AgentState.PAUSED
    assert pool.acquire(S2) is None
    assert state(registry, "101") == (AgentState.PAUSED, "обед")


def test_an_unavailable_device_shows_as_a_pause_with_its_reason(
    registry: SqlAgentRegistry,
) -> None:
    pool, sync = service(registry)
    pool.device_unavailable("101", S1)
    sync.sync(S1)
    assert state(registry, "101") == (AgentState.PAUSED, DEVICE_UNAVAILABLE)
    pool.device_available("101", S2)
    sync.sync(S2)
    assert state(registry, "101") == (AgentState.IDLE, None)


def test_an_agent_configured_while_running_joins_the_pool(registry: SqlAgentRegistry) -> None:
    pool, sync = service(registry)
    registry.configure("shop", ["103"], S1)
    registry.login("103", S1)
    sync.sync(S1)
    assert pool.get("103").state is AgentState.IDLE


def test_a_state_the_database_could_not_take_is_written_at_the_next_sync(
    registry: SqlAgentRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool hands its changes over once; a write that fails (database down) must not
    lose them, or the table shows a stale state until the agent changes again."""
    pool, sync = service(registry)
    assert pool.acquire(T0) == "101"  # ringing, in the pool only
    real = registry.record_many

    def down(*_: object) -> list[str]:
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(registry, "record_many", down)
    with pytest.raises(RuntimeError):
        sync.sync(S1)
    monkeypatch.setattr(registry, "record_many", real)
    sync.sync(S2)
    assert state(registry, "101")[0] is AgentState.RINGING
