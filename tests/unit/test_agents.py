"""The agent pool (issue 3 §5): longest idle first, never two calls, pause after misses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialer.dispatch.agents import DEVICE_UNAVAILABLE, AgentError, AgentPool, AgentState

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def pool(n: int = 3, wrap_up_s: int = 10, miss_pause_after: int = 3) -> AgentPool:
    return AgentPool(
        [f"a{i}" for i in range(1, n + 1)],
        T0,
        wrap_up_s=wrap_up_s,
        miss_pause_after=miss_pause_after,
    )


def take(p: AgentPool, now: datetime = T0) -> str:
    """Acquire an agent where the test knows one is free."""
    agent = p.acquire(now)
    assert agent is not None
    return agent


def test_longest_idle_agent_goes_first() -> None:
    p = pool(2, wrap_up_s=0)
    first = take(p)
    p.release(first, T0 + timedelta(seconds=5), missed=False)  # a1 idle again since +5 s
    assert p.acquire(T0 + timedelta(seconds=6)) == "a2"  # idle since T0
    assert p.acquire(T0 + timedelta(seconds=6)) == "a1"


def test_an_agent_never_gets_two_calls_at_once() -> None:
    p = pool(2)
    taken = {p.acquire(T0), p.acquire(T0)}
    assert taken == {"a1", "a2"}
    assert p.acquire(T0) is None
    assert p.idle_count(T0) == 0


def test_wrap_up_keeps_the_agent_busy_until_it_ends() -> None:
    p = pool(1, wrap_up_s=10)
    a = take(p)
    p.release(a, T0 + timedelta(seconds=60), missed=False)
    assert p.get(a).state is AgentState.WRAP_UP
    assert p.next_free_at() == T0 + timedelta(seconds=70)
    assert p.acquire(T0 + timedelta(seconds=69)) is None
    assert p.acquire(T0 + timedelta(seconds=70)) == a


def test_agent_missing_n_calls_in_a_row_is_paused_with_a_reason() -> None:
    p = pool(1, miss_pause_after=2)
    for _ in range(2):
        a = take(p)
        assert a == "a1"
        p.release(a, T0, missed=True)
    agent = p.get("a1")
    assert agent.state is AgentState.PAUSED
    assert agent.paused_reason == "пропущено вызовов подряд: 2"
    assert p.acquire(T0) is None
    p.resume("a1", T0)
    assert p.acquire(T0) == "a1"


def test_an_answered_call_resets_the_miss_streak() -> None:
    p = pool(1, wrap_up_s=0, miss_pause_after=2)
    p.release(take(p), T0, missed=True)
    p.release(take(p), T0, missed=False)
    p.release(take(p), T0, missed=True)
    assert p.get("a1").state is AgentState.IDLE


def test_a_ringing_agent_cannot_be_paused_or_logged_out() -> None:
    p = pool(1)
    a = take(p)
    with pytest.raises(AgentError):
        p.pause(a, T0, "обед")
    with pytest.raises(AgentError):
        p.logout(a, T0)


def test_logged_out_agent_is_not_offered_calls() -> None:
    p = pool(2)
    p.logout("a1", T0)
    assert p.acquire(T0) == "a2"
    assert p.acquire(T0) is None


# ---- persistence hooks and device state -------------------------------------------------


def test_changes_lists_each_moved_agent_once_and_then_nothing() -> None:
    p = pool(3, wrap_up_s=0)
    a = take(p)
    p.release(a, T0 + timedelta(seconds=30), missed=False)
    p.pause("a2", T0, "обед")
    changed = p.changes()
    assert [c.id for c in changed] == ["a1", "a2"]
    assert changed[0].state is AgentState.IDLE
    assert changed[0].last_call_ended_at == T0 + timedelta(seconds=30)
    assert changed[1].paused_reason == "обед"
    assert p.changes() == []


def test_changes_are_copies_not_the_live_agents() -> None:
    p = pool(1)
    p.pause("a1", T0, "обед")
    [copy] = p.changes()
    p.resume("a1", T0)
    assert copy.state is AgentState.PAUSED
    assert p.get("a1").state is AgentState.IDLE


def test_the_miss_pause_is_reported_as_a_change_with_its_reason() -> None:
    p = pool(1, miss_pause_after=2)
    for _ in range(2):
        p.release(take(p), T0, missed=True)
    [agent] = p.changes()
    assert (agent.state, agent.consecutive_misses) == (AgentState.PAUSED, 2)
    assert agent.paused_reason == "пропущено вызовов подряд: 2"


def test_an_unavailable_device_pauses_its_idle_agent_until_it_comes_back() -> None:
    p = pool(2)
    p.device_unavailable("a1", T0)
    assert p.get("a1").state is AgentState.PAUSED
    assert p.get("a1").paused_reason == DEVICE_UNAVAILABLE
    assert p.acquire(T0) == "a2"
    assert p.acquire(T0) is None
    p.device_available("a1", T0 + timedelta(seconds=1))
    assert p.acquire(T0 + timedelta(seconds=1)) == "a1"


def test_a_device_lost_during_a_call_pauses_the_agent_when_the_call_ends() -> None:
    p = pool(1)
    a = take(p)
    p.device_unavailable(a, T0)
    assert p.get(a).state is AgentState.RINGING
    p.release(a, T0 + timedelta(seconds=5), missed=False)
    assert p.get(a).state is AgentState.PAUSED
    assert p.get(a).paused_reason == DEVICE_UNAVAILABLE


def test_a_returning_device_does_not_lift_a_supervisors_pause() -> None:
    p = pool(1)
    p.device_unavailable("a1", T0)
    p.pause("a1", T0, "обучение")
    p.device_available("a1", T0)
    assert p.get("a1").state is AgentState.PAUSED
    assert p.get("a1").paused_reason == "обучение"


def test_login_while_the_device_is_unavailable_leaves_the_agent_paused_for_it() -> None:
    p = pool(1)
    p.logout("a1", T0)
    p.device_unavailable("a1", T0)
    assert p.get("a1").state is AgentState.LOGGED_OUT
    p.login("a1", T0)
    assert p.get("a1").paused_reason == DEVICE_UNAVAILABLE
    assert p.acquire(T0) is None


def test_device_events_of_unknown_agents_are_ignored() -> None:
    p = pool(1)
    p.device_unavailable("reception", T0)
    p.device_available("reception", T0)
    assert not p.knows("reception")


def test_restore_keeps_the_longest_idle_order_and_busy_agents_busy() -> None:
    p = AgentPool([], T0, wrap_up_s=10, miss_pause_after=3)
    p.restore("a1", AgentState.IDLE, T0 - timedelta(minutes=1))
    p.restore("a2", AgentState.IDLE, T0 - timedelta(minutes=5))
    p.restore("a3", AgentState.RINGING, T0)
    p.restore("a4", AgentState.PAUSED, T0, paused_reason="обед", consecutive_misses=2)
    p.restore("a5", AgentState.WRAP_UP, T0)
    assert p.changes() == []
    assert p.acquire(T0) == "a2"
    assert p.acquire(T0) == "a1"
    assert p.acquire(T0) is None
    assert p.get("a4").consecutive_misses == 2
    assert p.acquire(T0 + timedelta(seconds=10)) == "a5"


def test_logout_clears_a_pause_reason() -> None:
    p = pool(1)
    p.pause("a1", T0, "обед")
    p.logout("a1", T0)
    assert (p.get("a1").state, p.get("a1").paused_reason) == (AgentState.LOGGED_OUT, None)
