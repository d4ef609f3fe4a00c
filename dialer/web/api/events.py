"""``GET /api/v1/events``: the dashboard's live state pushed as Server-Sent Events (issue 19).

The same push channel as the agent workspace's ``/agent/events`` (``dialer.web.agent.events``):
one long ``text/event-stream`` response on twisted.web, a ``retry`` line, ``event:`` and one
``data:`` line (JSON) per event, a comment line as heartbeat. Events:

    live   {"campaign", "agents", "calls", "awaiting", "queue", "stats"}: each exactly the
           body of the GET route the dashboard used to poll (/campaign, /agents, /calls/live,
           /calls/awaiting-result, /queue, /stats). Sent at once, then on every change.
    bye    {"reason"}: the caller was signed out or its token revoked; the stream ends.

One ``LiveHub`` per site reads the state every ``tick_s`` while at least one stream is open
(never when none is) and pushes it only when it differs from the last one sent (the
``at`` stamps do not count as a change): one read per tick however many screens listen, and
a change made on another node shows up too. Every ``heartbeat_s`` each stream gets a comment
line and its caller is checked again (the session or token as on a new request): a
signed-out session or a revoked token is cut off with ``bye``.

Bounded per client: a stream is a push producer registered on its connection. When the
client stops reading (the socket's buffer is full) the stream stops writing and keeps only
the newest state (one pending event, older ones are dropped: it is a snapshot, not a log);
a client that has read nothing for ``MAX_STALLED_BEATS`` heartbeats is disconnected.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from twisted.internet.task import LoopingCall
from twisted.web.server import NOT_DONE_YET

from dialer.storage.errors import DatabaseUnavailableError
from dialer.storage.tokens import Role, TokenRecord
from dialer.web.api.errors import ApiError
from dialer.web.api.router import READ, ApiRequest, BoundRoute, Reply, Router, find

TICK_S = 1.0
HEARTBEAT_S = 15.0
RETRY_MS = 2000
MAX_STALLED_BEATS = 4
LIVE_ROUTES: Mapping[str, str] = {  # the live event's parts: the route each one is read from
    "campaign": "/campaign",
    "agents": "/agents",
    "calls": "/calls/live",
    "awaiting": "/calls/awaiting-result",
    "queue": "/queue",
    "stats": "/stats",
}
log = logging.getLogger("dialer.api")
Recheck = Callable[[], bool]


@dataclass(frozen=True, slots=True)
class Streamed:
    """A ``Reply``'s data when the route answers with a stream: ``ApiResource`` calls
    ``open(request, still_allowed)`` instead of writing JSON."""

    open: Callable[[Any, Recheck], object]


class LiveState:
    """The live event's body, read through the very routes the dashboard polled."""

    def __init__(self, routes: list[BoundRoute]) -> None:
        self._routes = routes
        self._stand_in = TokenRecord("live", Role.VIEWER, created_at=datetime(1970, 1, 1,
                                     tzinfo=UTC), revoked_at=None)  # fmt: skip

    def read(self) -> dict[str, Any]:
        state = {}
        for part, path in LIVE_ROUTES.items():
            bound, params = find(self._routes, "GET", path.strip("/").split("/"))
            state[part] = bound(ApiRequest("GET", params, {}, b"", self._stand_in)).data
        return state


class EventsApi:
    """The route; the streams themselves are the hub's."""

    router = Router()

    def __init__(self, hub: LiveHub | None) -> None:
        self._hub = hub  # None: a site with no reactor (tests of the API alone)

    @router.route(
        "GET",
        "/events",
        READ,
        "Server-Sent Events: `live` (campaign, agents, calls, awaiting, queue, stats: the "
        "bodies of those GET routes) at once and on every change; `bye` when the session "
        "ends or the token is revoked; a comment line as heartbeat",
        responses={"200": "text/event-stream"},
    )
    def events(self, request: ApiRequest) -> Reply:
        del request
        if self._hub is None:
            raise ApiError(503, "no live events on this site: poll the GET routes")
        return Reply(Streamed(self._hub.open), content_type="text/event-stream; charset=utf-8")


class LiveHub:
    """Every open stream of one site; ``read`` gives the state, ``clock`` (the reactor) times
    the reads and heartbeats, injected so tests drive them."""

    def __init__(
        self, read: Callable[[], dict[str, Any]], clock: Any, *,
        tick_s: float = TICK_S, heartbeat_s: float = HEARTBEAT_S,
    ) -> None:  # fmt: skip
        self._read, self._clock = read, clock
        self._tick_s, self._heartbeat_s = tick_s, heartbeat_s
        self._streams: set[_Stream] = set()
        self._last: tuple[str, str] | None = None  # (comparison key, event text)
        self._loops: list[LoopingCall] = []

    @property
    def listeners(self) -> int:
        return len(self._streams)

    def open(self, request: Any, still_allowed: Recheck) -> object:
        request.setResponseCode(200)
        request.setHeader(b"content-type", b"text/event-stream; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        request.setHeader(b"x-accel-buffering", b"no")  # nginx: do not hold the stream
        stream = _Stream(request, still_allowed, self._gone)
        request.registerProducer(stream, True)
        request.write(f"retry: {RETRY_MS}\n\n".encode("ascii"))
        if not self._streams:
            self._last = None  # nobody listened: what was sent last is stale
        self._streams.add(stream)
        request.notifyFinish().addBoth(lambda _: self._gone(stream))
        self._start()
        if self._last is None:
            self.tick()
        else:
            stream.push(self._last[1])
        return NOT_DONE_YET

    def tick(self) -> None:
        """Read the state; push it to every stream if it changed."""
        try:
            state = self._read()
        except DatabaseUnavailableError:
            return  # the next tick tries again
        except Exception:  # a bug: logged, and the loop must keep running
            log.exception("event stream: reading the live state failed")
            return
        key = json.dumps(_without_stamps(state), ensure_ascii=False, sort_keys=True)
        if self._last is not None and self._last[0] == key:
            return
        body = json.dumps(state, ensure_ascii=False, sort_keys=True)  # one line: no raw \n
        self._last = (key, f"event: live\ndata: {body}\n\n")
        for stream in list(self._streams):
            stream.push(self._last[1])

    def heartbeat(self) -> None:
        for stream in list(self._streams):
            stream.heartbeat()

    def _start(self) -> None:
        if self._loops:
            return
        for every, call in ((self._tick_s, self.tick), (self._heartbeat_s, self.heartbeat)):
            loop = LoopingCall(call)
            loop.clock = self._clock
            loop.start(every, now=False)
            self._loops.append(loop)

    def _gone(self, stream: _Stream) -> None:
        stream.release()
        self._streams.discard(stream)
        if not self._streams:
            for loop in self._loops:
                if loop.running:
                    loop.stop()
            self._loops = []


class _Stream:
    """One client: writes while the client reads, else holds the newest event only (an
    ``IPushProducer`` by its methods: twisted.web calls them, it checks no declaration)."""

    def __init__(self, request: Any, still_allowed: Recheck, drop: Callable[[Any], None]) -> None:
        self._request, self._still_allowed, self._drop = request, still_allowed, drop
        self._paused = False
        self._pending: str | None = None
        self._stalled_beats = 0
        self.closed = False

    def push(self, text: str) -> None:
        if self.closed:
            return
        if self._paused:
            self._pending = text  # older unsent states are dropped
            return
        self._request.write(text.encode("utf-8"))

    def heartbeat(self) -> None:
        if self.closed:
            return
        if not self._allowed():
            self.end("the session ended or the token was revoked: sign in again")
            return
        if self._paused:
            self._stalled_beats += 1
            if self._stalled_beats >= MAX_STALLED_BEATS:
                log.info("event stream: a client read nothing for %d heartbeats; cut off",
                         self._stalled_beats)  # fmt: skip
                self._abort()
            return
        self._request.write(b": ping\n\n")

    def end(self, reason: str) -> None:
        """Say ``bye`` (when the client reads) and finish the response."""
        if not self._paused:
            body = json.dumps({"reason": reason}, ensure_ascii=False)
            self._request.write(f"event: bye\ndata: {body}\n\n".encode())
        self.release()
        self._drop(self)
        self._request.finish()

    def _allowed(self) -> bool:
        try:
            return self._still_allowed()
        except DatabaseUnavailableError:
            return True  # cannot tell now; the next heartbeat asks again

    def _abort(self) -> None:
        transport = self._request.channel.transport
        self.release()
        self._drop(self)
        transport.abortConnection()

    def release(self) -> None:
        """Closed: writes nothing more, and leaves its connection's producer slot."""
        self.closed = True
        request = self._request
        if getattr(request, "producer", None) is self and getattr(request, "channel", None):
            request.unregisterProducer()  # (a lost connection has no channel left)

    # IPushProducer: the connection says when its client stops and starts reading again
    def pauseProducing(self) -> None:
        self._paused = True

    def resumeProducing(self) -> None:
        self._paused, self._stalled_beats = False, 0
        pending, self._pending = self._pending, None
        if pending is not None:
            self.push(pending)

    def stopProducing(self) -> None:
        self.closed = True


def _without_stamps(state: dict[str, Any]) -> dict[str, Any]:
    return {
        part: {k: v for k, v in body.items() if k != "at"} if isinstance(body, dict) else body
        for part, body in state.items()
    }
