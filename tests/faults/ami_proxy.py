"""A loopback TCP proxy in front of Asterisk's AMI that injects link faults on command.

It runs its own asyncio loop in a thread, so the same proxy serves a test that drives the
service as a subprocess and an async test on pytest's loop. The test arms one fault at a
time; what the proxy did is counted in ``FaultCounts`` so a test can report figures:

* pass-through (the default): bytes flow both ways;
* ``cut_after_originate(times)``: the next Originate action is forwarded to Asterisk whole,
  then both sides are closed (FIN), ``times`` times (``cut_after`` does it for any action);
* ``silent()``: the connections open now stay open but nothing passes either way (a dead
  NAT entry, a hung peer); new connections pass again;
* ``reset(every_s, times)``: every connection is reset (RST, SO_LINGER 0 on both sides)
  ``every_s`` after it opened (or after the call, for one already open), ``times`` times.

The proxy reads the dialer's side as AMI messages, so it knows the ChannelId of every
Originate it forwarded and of every one it swallowed.
"""

from __future__ import annotations

import asyncio
import re
import socket
import struct
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

_T = TypeVar("_T")
_END = b"\r\n\r\n"
_ACTION = re.compile(rb"^action:\s*(\S+)\s*$", re.IGNORECASE | re.MULTILINE)
_CHANNEL_ID = re.compile(rb"^channelid:\s*(\S+)\s*$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class FaultCounts:
    """What the proxy has done so far."""

    connections: int = 0
    cuts: int = 0
    silences: int = 0  # connections made silent
    resets: int = 0  # connections reset
    forwarded: tuple[str, ...] = ()  # ChannelIds of the Originates that reached Asterisk
    swallowed: tuple[str, ...] = ()  # ChannelIds of the Originates a silent link ate
    faults_at: tuple[tuple[str, datetime], ...] = ()  # (fault, when), in order

    def last(self, fault: str) -> datetime:
        """When the last fault of this kind was injected."""
        return [at for name, at in self.faults_at if name == fault][-1]


@dataclass
class _Pair:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    silent: bool = False
    closed: bool = False
    pending: bytes = b""

    def close(self, *, reset: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        for writer in (self.client, self.upstream):
            if reset:
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
            else:
                writer.close()


@dataclass
class _Armed:
    cuts_left: int = 0
    cut_action: str = "originate"
    resets_left: int = 0
    reset_every_s: float = 0.0


@dataclass
class _State:
    counts: FaultCounts = field(default_factory=FaultCounts)
    armed: _Armed = field(default_factory=_Armed)
    pairs: list[_Pair] = field(default_factory=list)


class AmiFaultProxy:
    """Listen on 127.0.0.1 (a free port, ``port``) and relay to ``target_port``."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self._target = (target_host, target_port)
        self._state = _State()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    # ---- control (from any thread) -------------------------------------------------------

    def start(self) -> AmiFaultProxy:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def counts(self) -> FaultCounts:
        return self._run(lambda: self._state.counts)

    def cut_after_originate(self, times: int = 1) -> None:
        """Forward the next Originate, then close both sides; ``times`` times."""
        self.cut_after("Originate", times)

    def cut_after(self, action: str, times: int = 1) -> None:
        """Forward the next action of this name, then close both sides; ``times`` times."""
        armed = replace(self._state.armed, cuts_left=times, cut_action=action.lower())
        self._run(lambda: armed, self._arm)

    def silent(self) -> int:
        """Make every open connection silent (open, nothing passes); returns how many."""
        return self._run(self._silence)

    def reset(self, every_s: float, times: int) -> None:
        """Reset each connection ``every_s`` after it opened (open ones: from now)."""
        armed = _Armed(resets_left=times, reset_every_s=every_s)
        self._run(lambda: armed, self._arm_resets)

    def pass_through(self) -> None:
        """Disarm every fault (silent connections stay dead)."""
        self._run(_Armed, self._arm)

    # ---- the loop's side -------------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def _run(self, fn: Callable[[], Any], then: Callable[[Any], _T] | None = None) -> Any:
        def both() -> Any:
            value = fn()
            return value if then is None else then(value)

        async def on_loop() -> Any:
            return both()

        if not self._thread.is_alive():
            return both()  # closed: nothing else touches the state any more
        return self._call(on_loop())

    def _arm(self, armed: _Armed) -> None:
        self._state.armed = armed

    def _arm_resets(self, armed: _Armed) -> None:
        self._state.armed = armed
        for pair in self._state.pairs:
            self._schedule_reset(pair)

    def _silence(self) -> int:
        open_pairs = [p for p in self._state.pairs if not p.closed and not p.silent]
        for pair in open_pairs:
            pair.silent = True
        self._note("silent", silences=self._state.counts.silences + len(open_pairs))
        return len(open_pairs)

    def _note(self, fault: str, **changes: Any) -> None:
        counts = self._state.counts
        at = (*counts.faults_at, (fault, datetime.now(UTC)))
        self._state.counts = replace(counts, faults_at=at, **changes)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for pair in self._state.pairs:
            pair.close()
        for task in list(self._tasks):
            task.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()  # Asterisk is down: refuse as it would
            return
        pair = _Pair(writer, up_writer)
        self._state.pairs = [p for p in self._state.pairs if not p.closed] + [pair]
        counts = self._state.counts
        self._state.counts = replace(counts, connections=counts.connections + 1)
        self._schedule_reset(pair)
        for pump in (self._from_dialer(pair, reader), self._from_asterisk(pair, up_reader)):
            task = asyncio.create_task(pump)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _schedule_reset(self, pair: _Pair) -> None:
        armed = self._state.armed
        if armed.resets_left > 0:
            self._loop.call_later(armed.reset_every_s, self._reset, pair)

    def _reset(self, pair: _Pair) -> None:
        armed = self._state.armed
        if pair.closed or armed.resets_left <= 0:
            return
        armed.resets_left -= 1
        pair.close(reset=True)
        self._note("reset", resets=self._state.counts.resets + 1)

    async def _from_asterisk(self, pair: _Pair, reader: asyncio.StreamReader) -> None:
        try:
            while data := await reader.read(65536):
                if pair.closed:
                    return
                if not pair.silent:
                    pair.client.write(data)
                    await pair.client.drain()
        except OSError:
            pass
        finally:
            pair.close()

    async def _from_dialer(self, pair: _Pair, reader: asyncio.StreamReader) -> None:
        try:
            while data := await reader.read(65536):
                pair.pending += data
                while _END in pair.pending and not pair.closed:
                    message, _, pair.pending = pair.pending.partition(_END)
                    await self._relay(pair, message + _END)
                if pair.closed:
                    return
        except OSError:
            pass
        finally:
            pair.close()

    async def _relay(self, pair: _Pair, message: bytes) -> None:
        action = _action(message)
        channel_id = (_channel_id(message) or "-") if action == "originate" else ""
        if pair.silent:
            if channel_id:
                counts = self._state.counts
                self._state.counts = replace(counts, swallowed=(*counts.swallowed, channel_id))
            return
        pair.upstream.write(message)
        await pair.upstream.drain()
        if channel_id:
            counts = self._state.counts
            self._state.counts = replace(counts, forwarded=(*counts.forwarded, channel_id))
        armed = self._state.armed
        if armed.cuts_left > 0 and action == armed.cut_action:
            self._state.armed.cuts_left -= 1
            pair.close()
            self._note("cut", cuts=self._state.counts.cuts + 1)


def _action(message: bytes) -> str:
    found = _ACTION.search(message)
    return found.group(1).decode("ascii", "replace").lower() if found else ""


def _channel_id(message: bytes) -> str:
    found = _CHANNEL_ID.search(message)
    return found.group(1).decode("ascii", "replace") if found else ""
