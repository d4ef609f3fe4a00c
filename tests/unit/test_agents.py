"""The agent pool (issue 3 §5): longest idle first, never two calls, pause after misses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialer.agents import AgentError, AgentPool, AgentState

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def pool(n: int = 3, wrap_up_s: int = 10, miss_pause_after: int = 3) -> AgentPool:
    return AgentPool(
        [f"a{i}" for i in range(1, n + 1)],
        T0,
        wrap_up_s=wrap_up_s,
        miss_pause_after=miss_pause_after,
    )


def test_longest_idle_agent_goes_first() -> None:
    p = pool(2, wrap_up_s=0)
    first = p.acquire(T0)
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
    a = p.acquire(T0)
    p.release(a, T0 + timedelta(seconds=60), missed=False)
    assert p.get(a).state is AgentState.WRAP_UP
    assert p.next_free_at() == T0 + timedelta(seconds=70)
    assert p.acquire(T0 + timedelta(seconds=69)) is None
    assert p.acquire(T0 + timedelta(seconds=70)) == a


def test_agent_missing_n_calls_in_a_row_is_paused_with_a_reason() -> None:
    p = pool(1, miss_pause_after=2)
    for _ in range(2):
        a = p.acquire(T0)
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
    p.release(p.acquire(T0), T0, missed=True)
    p.release(p.acquire(T0), T0, missed=False)
    p.release(p.acquire(T0), T0, missed=True)
    assert p.get("a1").state is AgentState.IDLE


def test_a_ringing_agent_cannot_be_paused_or_logged_out() -> None:
    p = pool(1)
    a = p.acquire(T0)
    with pytest.raises(AgentError):
        p.pause(a, T0, "обед")
    with pytest.raises(AgentError):
        p.logout(a, T0)


def test_logged_out_agent_is_not_offered_calls() -> None:
    p = pool(2)
    p.logout("a1", T0)
    assert p.acquire(T0) == "a2"
    assert p.acquire(T0) is None
