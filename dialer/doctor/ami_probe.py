"""What the doctor learns from the PBX over one plain AMI connection, as ``AmiFacts``.

No panoramisk: one short session, actions answered by ``ActionID``, every other message kept
as an event. Least privilege is assumed: nothing here needs more than the dialer's user.
The probe Originate dials nothing: its Local channel points at a context that does not exist
(``callback-dialer-doctor``), so both legs are created and hang up at once; their events show
that the user may originate, that it reads call events, and the ``channelvars`` variables.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from dialer.ami.settings import AmiConfigError, AmiSettings, tls_context

Headers = tuple[tuple[str, str], ...]
PROBE_CONTEXT = "callback-dialer-doctor"
PROBE_CHANNEL = f"Local/probe@{PROBE_CONTEXT}"
CONNECT_TIMEOUT_S = 5.0
ACTION_TIMEOUT_S = 10.0


def header(message: Headers, key: str) -> str:
    return next((value for name, value in message if name == key), "")


@dataclass
class AmiFacts:
    """``unreachable``: why no AMI greeting (empty when reached); ``login_error``: why the
    login was refused (None when accepted or not tried)."""

    unreachable: str = ""
    banner: str = ""
    login_error: str | None = None
    allowed: frozenset[str] = frozenset()
    context_apps: tuple[str, ...] | None = None
    datadir: str = ""
    spooldir: str = ""
    device_states: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, str]] = field(default_factory=list)
    probe_events: list[Headers] = field(default_factory=list)
    probed: bool = False

    @property
    def logged_in(self) -> bool:
        return not self.unreachable and self.login_error is None


class _Session:
    """Sends actions and routes each reply (and its event list) back by ``ActionID``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._pending: dict[str, tuple[asyncio.Future[list[Headers]], str | None]] = {}
        self._replies: dict[str, list[Headers]] = {}
        self.events: list[Headers] = []
        self.arrived = asyncio.Event()
        self._task = asyncio.ensure_future(self._read())

    async def action(self, headers: dict[str, str], until: str | None = None) -> list[Headers]:
        """The reply first, then (``until``: the name of the list's last event) the list."""
        action_id = uuid.uuid4().hex
        future: asyncio.Future[list[Headers]] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = (future, until)
        self._replies[action_id] = []
        text = "".join(f"{k}: {v}\r\n" for k, v in {**headers, "ActionID": action_id}.items())
        self._writer.write((text + "\r\n").encode())
        await self._writer.drain()
        return await asyncio.wait_for(future, ACTION_TIMEOUT_S)

    async def _read(self) -> None:
        while True:
            message = await self._message()
            if message is None:
                for future, _ in self._pending.values():
                    if not future.done():
                        future.set_exception(ConnectionError("AMI closed the connection"))
                return
            self._route(message)

    def _route(self, message: Headers) -> None:
        action_id = header(message, "ActionID")
        if action_id not in self._pending:
            if header(message, "Event"):
                self.events.append(message)
                self.arrived.set()
            return
        future, until = self._pending[action_id]
        replies = self._replies[action_id]
        replies.append(message)
        is_error = len(replies) == 1 and header(message, "Response") == "Error"
        if until is None or is_error or header(message, "Event") == until:
            del self._pending[action_id]
            if not future.done():
                future.set_result(replies)

    async def _message(self) -> Headers | None:
        pairs: list[tuple[str, str]] = []
        while True:
            raw = await self._reader.readline()
            if not raw:
                return None
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if not text:
                if pairs:
                    return tuple(pairs)
                continue
            key, _, value = text.partition(":")
            pairs.append((key.strip(), value.strip()))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.action({"Action": "Logoff"}), 2)
        self._task.cancel()
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()


async def examine(
    settings: AmiSettings, context: str, devices: Sequence[str], wait_s: float
) -> AmiFacts:
    """Connect, log in, and gather every fact the AMI checks judge."""
    facts = AmiFacts()
    session = await _connect(settings, facts)
    if session is None:
        return facts
    try:
        await _gather(session, settings, facts, context, devices, wait_s)
    except (ConnectionError, TimeoutError) as exc:
        broke = f"the AMI session broke: {exc or type(exc).__name__}"
        facts.unreachable = facts.unreachable or broke
    finally:
        facts.events = [dict(reversed(e)) for e in session.events]
        await session.close()
    return facts


async def _connect(settings: AmiSettings, facts: AmiFacts) -> _Session | None:
    where = f"{settings.host}:{settings.port}"
    try:
        context: ssl.SSLContext | None = tls_context(settings)
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(settings.host, settings.port, ssl=context),
            CONNECT_TIMEOUT_S,
        )
        banner = await asyncio.wait_for(reader.readline(), CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, AmiConfigError) as exc:
        facts.unreachable = f"no AMI at {where}: {exc or type(exc).__name__}"
        return None
    facts.banner = banner.decode("utf-8", errors="replace").strip()
    if "Call Manager" not in facts.banner:
        facts.unreachable = f"{where} answered {facts.banner[:60]!r}, not an AMI greeting"
        writer.close()
        return None
    return _Session(reader, writer)


async def _gather(  # noqa: PLR0917 - one private step of examine()
    session: _Session,
    settings: AmiSettings,
    facts: AmiFacts,
    context: str,
    devices: Sequence[str],
    wait_s: float,
) -> None:
    login = {"Action": "Login", "Username": settings.username, "Secret": settings.secret}
    reply = (await session.action({**login, "Events": "on"}))[0]
    if header(reply, "Response") != "Success":
        facts.login_error = header(reply, "Message") or "refused"
        return
    listed = (await session.action({"Action": "ListCommands"}))[0]
    facts.allowed = frozenset(name for name, value in listed if "(Priv:" in value)
    if "ShowDialPlan" in facts.allowed:
        facts.context_apps = await _context(session, context)
    if "Getvar" in facts.allowed:
        facts.datadir = await _getvar(session, "ASTDATADIR")
        facts.spooldir = await _getvar(session, "ASTSPOOLDIR")
        for device in devices:
            facts.device_states[device] = await _getvar(session, f"DEVICE_STATE({device})")
    if "Originate" in facts.allowed:
        await _probe(session, facts, wait_s)
    else:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(session.arrived.wait(), wait_s)


async def _context(session: _Session, context: str) -> tuple[str, ...] | None:
    replies = await session.action(
        {"Action": "ShowDialPlan", "Context": context}, until="ShowDialPlanComplete"
    )
    if header(replies[0], "Response") != "Success":
        return None
    return tuple(header(r, "Application") for r in replies if header(r, "Event") == "ListDialplan")


async def _getvar(session: _Session, variable: str) -> str:
    reply = (await session.action({"Action": "Getvar", "Variable": variable}))[0]
    return header(reply, "Value")


async def _probe(session: _Session, facts: AmiFacts, wait_s: float) -> None:
    """Originate into nowhere; wait for its OriginateResponse (or ``wait_s``)."""
    reply = (
        await session.action(
            {
                "Action": "Originate",
                "Channel": PROBE_CHANNEL,
                "Application": "NoOp",
                "Async": "true",
                "Timeout": "1000",
            }
        )
    )[0]
    facts.probed = header(reply, "Response") == "Success"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while facts.probed and loop.time() < deadline:
        if any(header(e, "Event") == "OriginateResponse" for e in session.events):
            break
        session.arrived.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(session.arrived.wait(), deadline - loop.time())
    facts.probe_events = [
        e for e in session.events if header(e, "Channel").startswith(PROBE_CHANNEL)
    ]
