"""The agents table (issue 3 §5): configured per campaign, ops' controls, the pool's states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dialer.dispatch.agents import AgentPool, AgentState
from dialer.storage.agents import SqlAgentRegistry, UnknownAgentError
from dialer.storage.errors import InvalidValueError
from dialer.storage.models import Campaign

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def registry(engine: Engine) -> SqlAgentRegistry:
    registry = SqlAgentRegistry(engine)
    registry.configure("shop", ["101", "102"], T0, names={"101": "Анна"})
    return registry


def test_configured_agents_start_logged_out_under_their_campaign(
    registry: SqlAgentRegistry, engine: Engine
) -> None:
    agents = registry.all("shop")
    assert [(a.id, a.state, a.channel) for a in agents] == [
        ("101", AgentState.LOGGED_OUT, "PJSIP/101"),
        ("102", AgentState.LOGGED_OUT, "PJSIP/102"),
    ]
    assert agents[0].display_name == "Анна"
    with Session(engine) as session:
        assert session.get(Campaign, "shop") is not None


def test_configuring_again_keeps_states_and_adds_only_new_agents(
    registry: SqlAgentRegistry,
) -> None:
    registry.login("101", T0)
    added = registry.configure("shop", ["101", "103"], T0, channel_template="SIP/{agent}")
    assert added == ["103"]
    assert registry.get("101").state is AgentState.IDLE
    assert registry.get("101").channel == "SIP/101"
    assert registry.get("102").state is AgentState.LOGGED_OUT  # no longer listed: kept
    assert [a.id for a in registry.all()] == ["101", "102", "103"]
    assert registry.all("other") == []


def test_an_agent_id_that_could_reach_a_dial_string_unchecked_is_refused(
    registry: SqlAgentRegistry,
) -> None:
    with pytest.raises(InvalidValueError, match="agent id"):
        registry.configure("shop", ["101&PJSIP/2"], T0)


def test_login_pause_resume_logout(registry: SqlAgentRegistry) -> None:
    later = T0 + timedelta(minutes=1)
    assert registry.login("101", T0).after.state is AgentState.IDLE
    paused = registry.pause("101", later, "обед").after
    assert (paused.state, paused.paused_reason, paused.state_since) == (
        AgentState.PAUSED,
        "обед",
        later,
    )
    resumed = registry.resume("101", later).after
    assert (resumed.state, resumed.paused_reason) == (AgentState.IDLE, None)
    assert registry.logout("101", later).after.state is AgentState.LOGGED_OUT


def test_requests_that_change_nothing_say_so(registry: SqlAgentRegistry) -> None:
    assert not registry.resume("101", T0).changed  # logged out, not paused
    registry.login("101", T0)
    assert not registry.login("101", T0).changed
    registry.pause("101", T0, "обед")
    assert not registry.pause("101", T0, "обед").changed


def test_a_logged_out_agent_cannot_be_paused_and_a_pause_needs_a_reason(
    registry: SqlAgentRegistry,
) -> None:
    with pytest.raises(InvalidValueError, match="logged out"):
        registry.pause("101", T0, "обед")
    registry.login("101", T0)
    with pytest.raises(InvalidValueError, match="reason"):
        registry.pause("101", T0, "  ")


def test_an_unknown_agent_is_named(registry: SqlAgentRegistry) -> None:
    with pytest.raises(UnknownAgentError, match="'999'"):
        registry.login("999", T0)
    with pytest.raises(UnknownAgentError, match="'999'"):
        registry.get("999")


def test_resume_forgives_the_miss_streak(registry: SqlAgentRegistry) -> None:
    registry.login("101", T0)
    pool = AgentPool(["101"], T0, wrap_up_s=0, miss_pause_after=2)
    for _ in range(2):
        agent = pool.acquire(T0)
        assert agent is not None
        pool.release(agent, T0, missed=True)
    assert registry.record(pool.get("101"), expected=(AgentState.IDLE, None))
    assert registry.get("101").consecutive_misses == 2
    assert registry.resume("101", T0).after.consecutive_misses == 0


def test_the_pools_state_is_written_only_over_the_row_it_expects(
    registry: SqlAgentRegistry,
) -> None:
    registry.login("101", T0)
    pool = AgentPool(["101"], T0, wrap_up_s=0, miss_pause_after=3)
    assert pool.acquire(T0) == "101"
    pool.release("101", T0 + timedelta(seconds=40), missed=False)
    agent = pool.get("101")
    registry.pause("101", T0, "обед")  # ops changed the row meanwhile

    assert not registry.record(agent, expected=(AgentState.IDLE, None))
    assert registry.get("101").paused_reason == "обед"
    assert registry.record(agent, expected=(AgentState.PAUSED, "обед"))
    written = registry.get("101")
    assert written.state is AgentState.IDLE
    assert written.last_call_ended_at == T0 + timedelta(seconds=40)
