"""The node's live feed for the agents' pages: per-agent fan-out, the live call remembered,
and a page that fails to take an event dropped without the dialer noticing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from campaigns.calls import CallReport, CallResult, OriginateRequest
from dialer.app.agent_feed import AgentFeed
from dialer.dispatch.agents import Agent, AgentState

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def offer(attempt: str, order: str, agent: str) -> OriginateRequest:
    return OriginateRequest(attempt, order, agent, "79165830421", "", 30, 10)


def test_each_agent_hears_only_its_own_calls_in_every_open_page() -> None:
    feed = AgentFeed(lambda: NOW)
    tab1: list[tuple[str, dict[str, Any]]] = []
    tab2: list[tuple[str, dict[str, Any]]] = []
    other: list[tuple[str, dict[str, Any]]] = []
    feed.subscribe("1001", lambda e, d: tab1.append((e, d)))
    feed.subscribe("1001", lambda e, d: tab2.append((e, d)))
    feed.subscribe("1002", lambda e, d: other.append((e, d)))
    feed.offered(offer("a1", "НФ-1", "1001"))
    feed.accepted("a1", "1001")
    feed.ended(CallReport("a1", CallResult.NO_ANSWER, NOW))
    stages = [(d["stage"], d["result"]) for _, d in tab1]
    assert stages == [("offered", None), ("accepted", None), ("ended", "no_answer")]
    assert tab2 == tab1 and other == []
    assert feed.current_call("1001") == {**tab1[-1][1]}
    assert feed.current_call("1002") is None


def test_events_of_unknown_attempts_are_ignored_and_a_broken_page_is_dropped() -> None:
    feed = AgentFeed(lambda: NOW)
    kept: list[str] = []

    def broken(event: str, data: dict[str, Any]) -> None:
        raise ConnectionError("gone")

    feed.subscribe("1001", broken)
    feed.subscribe("1001", lambda e, d: kept.append(e))
    feed.accepted("nope", "1001")
    feed.answered("nope")
    feed.ended(CallReport("nope", CallResult.ANSWERED, NOW))
    assert kept == []
    feed.state(Agent("1001", AgentState.PAUSED, NOW, paused_reason="обед"))
    assert kept == ["state"] and feed.listeners("1001") == 1


def test_unsubscribing_stops_the_events() -> None:
    feed = AgentFeed(lambda: NOW)
    seen: list[str] = []
    unsubscribe = feed.subscribe("1001", lambda e, d: seen.append(e))
    unsubscribe()
    unsubscribe()  # twice is harmless (the connection's close and an error may both call it)
    feed.offered(offer("a1", "o1", "1001"))
    assert seen == [] and feed.listeners("1001") == 0
