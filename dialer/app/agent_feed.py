"""Live events for the agents' pages (``GET /agent/events``), inside this node.

The node tells the feed what happens to its agents' calls as it happens: the dialer offered
a call (the agent's phone rings with an order), the agent accepted it (pressed 1), the
customer answered, the call ended with a result; and every state the agent's pool writes
(ready, ringing, on a call, wrap-up, a pause with its reason, the dialer's own pauses). The
feed forwards each to the agent's open pages (a page may be open in several tabs) and
remembers the agent's live call, so a page opened mid-call learns it at once.

Nothing here blocks or raises into the dialer: a page that fails to take an event is
dropped from the subscribers (its connection is gone) and the dialer never notices.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from campaigns.calls import CallReport, OriginateRequest
from dialer.dispatch.agents import Agent

Send = Callable[[str, dict[str, Any]], None]
log = logging.getLogger("dialer.agent_feed")


@dataclass
class _Call:
    agent: str
    order: str
    attempt: str
    stage: str
    at: datetime
    result: str | None = None

    def event(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "order": self.order,
            "attempt": self.attempt,
            "result": self.result,
            "at": self.at.isoformat(timespec="milliseconds"),
        }


@dataclass
class _Pages:
    sends: list[Send] = field(default_factory=list)


class AgentFeed:
    """Per-agent fan-out of call stages and states to the agents' open pages."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._pages: dict[str, _Pages] = {}
        self._calls: dict[str, _Call] = {}  # by attempt id, while the agent's call lives
        self._current: dict[str, _Call] = {}  # the agent's newest call, ended ones too

    def subscribe(self, agent_id: str, send: Send) -> Callable[[], None]:
        """``send(event, data)`` gets the agent's events from now on; the result unsubscribes."""
        pages = self._pages.setdefault(agent_id, _Pages())
        pages.sends.append(send)

        def unsubscribe() -> None:
            if send in pages.sends:
                pages.sends.remove(send)

        return unsubscribe

    def current_call(self, agent_id: str) -> dict[str, Any] | None:
        """The agent's newest call as its last event said, or None."""
        call = self._current.get(agent_id)
        return None if call is None else call.event()

    def listeners(self, agent_id: str) -> int:
        pages = self._pages.get(agent_id)
        return 0 if pages is None else len(pages.sends)

    # ---- what the node tells ------------------------------------------------------------

    def offered(self, request: OriginateRequest) -> None:
        """The agent's phone rings with ``request``'s order."""
        call = _Call(request.agent, request.order_id, request.attempt_id, "offered", self._clock())
        self._calls[request.attempt_id] = call
        self._current[request.agent] = call
        self._send(call.agent, "call", call.event())

    def accepted(self, attempt_id: str, agent_id: str) -> None:
        """The agent pressed 1: the customer is being dialled."""
        self._stage(attempt_id, "accepted")
        del agent_id  # the attempt knows its agent

    def answered(self, attempt_id: str) -> None:
        """The customer answered and is bridged to the agent."""
        self._stage(attempt_id, "answered")

    def ended(self, report: CallReport) -> None:
        """The call ended with ``report.result``."""
        call = self._calls.pop(report.attempt_id, None)
        if call is not None:
            call.result = report.result.value
            self._stage_of(call, "ended")

    def state(self, agent: Agent) -> None:
        """The pool's state of ``agent``, as the agents table now has it."""
        self._send(
            agent.id,
            "state",
            {
                "state": agent.state.value,
                "reason": agent.paused_reason,
                "owes_result": agent.owes_result,
                "since": agent.since.isoformat(timespec="seconds"),
            },
        )

    def _stage(self, attempt_id: str, stage: str) -> None:
        call = self._calls.get(attempt_id)
        if call is not None:
            self._stage_of(call, stage)

    def _stage_of(self, call: _Call, stage: str) -> None:
        call.stage, call.at = stage, self._clock()
        self._send(call.agent, "call", call.event())

    def _send(self, agent_id: str, event: str, data: dict[str, Any]) -> None:
        pages = self._pages.get(agent_id)
        if pages is None:
            return
        for send in list(pages.sends):
            try:
                send(event, data)
            except Exception:
                log.info("agent %s: a page stopped listening", agent_id, exc_info=True)
                pages.sends.remove(send)
