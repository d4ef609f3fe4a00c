"""``GET /agent/events``: the agent's live events as Server-Sent Events.

Why SSE and not a WebSocket: the events go one way (the dialer tells the page), the page's
actions are ordinary POSTs with the session cookie and the CSRF token, and SSE is plain
HTTP that twisted.web serves as a long response with no further dependency; the browser's
``EventSource`` reconnects by itself (``retry`` below) and a proxy sees ordinary HTTP.

A stream opens with ``hello`` (the agent's state as the agents table has it, and its live
call if this node has one), then carries ``state`` and ``call`` events from the node's
``AgentFeed`` as they happen. Every ``HEARTBEAT_S`` a comment line keeps proxies from
closing the idle connection, and the state is read again from the table: a change the
feed could not see (another node's pool, a restart) reaches the page within that time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from twisted.internet.task import LoopingCall
from twisted.web.server import NOT_DONE_YET

from dialer.app.agent_feed import AgentFeed
from dialer.storage.agents import SqlAgentRegistry, UnknownAgentError
from dialer.storage.errors import DatabaseUnavailableError

HEARTBEAT_S = 10.0
RETRY_MS = 2000
log = logging.getLogger("dialer.agent")


class EventStreams:
    """Opens one agent's event stream on a request; ``clock`` is the reactor (its
    ``callLater``), injected so tests drive the heartbeat."""

    def __init__(self, feed: AgentFeed, agents: SqlAgentRegistry, clock: Any) -> None:
        self._feed, self._agents, self._clock = feed, agents, clock

    def open(self, request: Any, agent_id: str) -> object:
        request.setResponseCode(200)
        request.setHeader(b"content-type", b"text/event-stream; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        request.setHeader(b"x-accel-buffering", b"no")  # nginx: do not hold the stream
        stream = _Stream(request, agent_id, self._agents)
        request.write(f"retry: {RETRY_MS}\n\n".encode("ascii"))
        stream.send("hello", {"state": stream.read_state(), "call": self._feed.current_call(
            agent_id)})  # fmt: skip
        unsubscribe = self._feed.subscribe(agent_id, stream.send)
        beat = LoopingCall(stream.heartbeat)
        beat.clock = self._clock
        beat.start(HEARTBEAT_S, now=False)
        request.notifyFinish().addBoth(lambda _: _close(unsubscribe, beat))
        return NOT_DONE_YET


class _Stream:
    def __init__(self, request: Any, agent_id: str, agents: SqlAgentRegistry) -> None:
        self._request, self._agent_id, self._agents = request, agent_id, agents
        self._state: dict[str, Any] | None = None

    def send(self, event: str, data: dict[str, Any]) -> None:
        if event == "state":
            self._state = {"state": data["state"], "reason": data["reason"]}
        body = json.dumps(data, ensure_ascii=False, sort_keys=True)  # one line: no raw \n
        self._request.write(f"event: {event}\ndata: {body}\n\n".encode())

    def read_state(self) -> dict[str, Any] | None:
        try:
            record = self._agents.get(self._agent_id)
        except (DatabaseUnavailableError, UnknownAgentError):
            return self._state  # the heartbeat tries again
        self._state = {"state": record.state.value, "reason": record.paused_reason}
        return self._state

    def heartbeat(self) -> None:
        known = self._state
        self._request.write(b": ping\n\n")
        now = self.read_state()
        if now is not None and now != known:
            self.send("state", {**now, "owes_result": None, "since": None})


def _close(unsubscribe: Callable[[], None], beat: LoopingCall) -> None:
    unsubscribe()
    if beat.running:
        beat.stop()
