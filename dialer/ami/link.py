"""The AMI link: panoramisk's Manager kept up by us (connect, log in, resync, ping, reconnect).

``LinkSupervisor`` owns one link: its own ping with a timeout (a silent link is aborted,
which makes panoramisk reconnect), reconnects with capped exponential backoff and jitter,
and after every (re)connect resyncs with CoreShowChannels before it is ready to dial again.
It is not ready either before Asterisk says ``FullyBooted``: AMI accepts logins while the
modules still load, and an Originate then fails at once (reason 0: the dialplan is not
there yet). The event comes at login when Asterisk is already up (``read = system``), else
when booting ends.
Originate is never re-sent (it is in panoramisk's ``forgetable_actions``).

panoramisk types stop here and in ``dialer.ami.telephony``: handlers and callers get plain
header dicts (``plain``), never a panoramisk ``Message``.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol

from dialer.ami.results import Headers, header
from dialer.ami.settings import (
    AmiAuthError,
    AmiSettings,
    AmiUnavailable,
    reconnect_delay,
    tls_context,
)

_FORGETABLE = ("ping", "login", "originate", "coreshowchannels", "dbget", "redirect")
_ACTION_TIMEOUT_S = 10.0
_BOOT_WAIT_S = 30.0

Resync = Callable[[frozenset[str]], Awaitable[None]]
"""Awaited after each (re)connect and login with the Linkedids of the live calls; the link
is ready to dial once it returns."""


class _Utf8Protocol(AMIProtocol):  # type: ignore[misc]
    """panoramisk's protocol with an incremental decoder, so a Cyrillic character split
    across two reads is not dropped; a repeated ``Event`` or ``ActionID`` header (on which
    panoramisk raises) keeps its first value, and any other message panoramisk cannot
    handle is logged and skipped instead of dropping the rest of the read and the link."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def data_received(self, data: bytes) -> None:
        complete = self._decoder.decode(data)
        if complete:
            super().data_received(complete.encode("utf-8"))

    def handle_message(self, message: Any) -> None:
        for key in ("event", "actionid"):  # panoramisk expects one value of each
            value = message.get(key)
            if isinstance(value, list):
                message[key] = value[0] if value else ""
        try:
            super().handle_message(message)
        except Exception:
            logging.getLogger("dialer.ami_").exception("malformed AMI message skipped")


class _Link(Manager):  # type: ignore[misc]
    """panoramisk's Manager whose reconnects are decided by the adapter, not by a timer."""

    def __init__(self, on_lost: Callable[[], None], **config: Any) -> None:
        super().__init__(**config)
        self._on_lost = on_lost

    def connect(self, *_: Any, **__: Any) -> None:
        """panoramisk calls this to reconnect; tell the adapter instead."""
        self._on_lost()

    def connection_lost(self, exc: Any) -> None:
        """Tell the adapter at once, so nothing is written to the dead transport."""
        self._on_lost()
        super().connection_lost(exc)

    def open(self) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = Manager.connect(self)
        return task

    def abort(self) -> None:
        protocol = getattr(self, "protocol", None)
        transport = getattr(protocol, "transport", None)
        if transport is not None:
            transport.abort()


def plain(message: Any) -> dict[str, str | list[str]]:
    """A panoramisk Message as a plain dict (library types stop here)."""
    return {str(k): v for k, v in dict(message).items()}


def plain_replies(replies: Any) -> list[dict[str, str | list[str]]]:
    """An action's reply (one Message or a list of them) as plain dicts."""
    return [plain(m) for m in (replies if isinstance(replies, list) else [replies])]


def _guarded(handler: Callable[[Headers], None], log: logging.Logger) -> Callable[[Any, Any], None]:
    def callback(_: Any, message: Any) -> None:
        try:
            handler(plain(message))
        except Exception:
            log.exception("AMI event handler failed")

    return callback


class LinkSupervisor:
    """One AMI link kept up: ``ready`` once connected, logged in and resynced."""

    def __init__(
        self,
        settings: AmiSettings,
        *,
        resync: Resync,
        rand: random.Random,
        log: logging.Logger,
    ) -> None:
        self._settings = settings
        self._resync = resync
        self._rand = rand
        self._log = log
        self._ready = asyncio.Event()
        self._lost = asyncio.Event()
        self._booted = asyncio.Event()
        self._closing = False
        self._last_error: AmiUnavailable | None = None
        self._link: _Link | None = None
        self.live: frozenset[str] = frozenset()
        """Linkedids that had live channels at the last resync."""
        self.task: asyncio.Task[None] | None = None
        """The supervision (connect, resync, ping, reconnect) once ``start`` ran."""

    def start(self, handlers: Mapping[str, Callable[[Headers], None]]) -> _Link:
        """Create the link on the running loop with ``handlers`` by event name, and start
        connecting (returns at once)."""
        loop = asyncio.get_running_loop()
        link = _Link(
            self._link_lost,
            loop=loop,
            host=self._settings.host,
            port=self._settings.port,
            ssl=tls_context(self._settings),
            encoding="utf8",
            protocol_factory=_Utf8Protocol,
            forgetable_actions=_FORGETABLE,
            reconnect_timeout=0,
            ping_delay=10**7,  # panoramisk's own pinger ignores replies; ours does not
            ping_interval=10**7,
            log=self._log,
        )
        for name, handler in handlers.items():
            link.register_event(name, _guarded(handler, self._log))
        link.register_event("FullyBooted", lambda _manager, _event: self._booted.set())
        self._link = link
        self.task = asyncio.create_task(self._supervise())
        return link

    def _link_lost(self) -> None:
        self._ready.clear()  # before the supervisor wakes: no Originate on a dead link
        self._lost.set()

    def close(self) -> None:
        self._closing = True
        self._ready.clear()
        if self.task is not None:
            self.task.cancel()
        if self._link is not None:
            self._link.close()

    @property
    def ready(self) -> bool:
        """Connected, logged in and resynced: safe to dial."""
        return self._ready.is_set()

    async def wait_ready(self, timeout_s: float | None = None) -> None:
        """Wait until ``ready``; raise AmiUnavailable (or AmiAuthError) after ``timeout_s``."""
        wait = self._settings.ready_timeout_s if timeout_s is None else timeout_s
        try:
            await asyncio.wait_for(self._ready.wait(), wait)
        except TimeoutError:
            raise self._last_error or AmiUnavailable(f"AMI not ready after {wait} s") from None

    def drop(self) -> None:
        """Abort the transport as a dead link would (used by the ping and by tests)."""
        if self._link is not None:
            self._link.abort()

    def send(self, action: Mapping[str, Any]) -> asyncio.Future[Any]:
        """Send without waiting: the future of panoramisk's reply (pending forever if the
        link is lost meanwhile)."""
        future: asyncio.Future[Any] = self._require_link().send_action(dict(action))
        return future

    async def action(self, action: dict[str, str]) -> list[dict[str, str | list[str]]]:
        """Send and await the replies; a link lost meanwhile fails at once (panoramisk
        leaves the action's future pending forever), not after the action timeout."""
        future = self.send(action)
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait({future, lost}, timeout=_ACTION_TIMEOUT_S,
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        finally:
            lost.cancel()
        if not future.done():
            future.cancel()
            raise AmiUnavailable(f"AMI link lost or silent during {action['Action']}")
        return plain_replies(future.result())

    # ---- supervision -------------------------------------------------------------------

    async def _supervise(self) -> None:
        failures = 0
        while not self._closing:
            self._lost.clear()
            if await self._connect_login_resync() and not self._lost.is_set():
                failures = 0
                self._ready.set()
                self._log.info("AMI link up: logged in, resynced, %d live call(s)", len(self.live))
                pinger = asyncio.create_task(self._ping_until_lost())
                try:
                    await self._lost.wait()
                finally:
                    self._ready.clear()
                    pinger.cancel()
                self._log.warning("AMI link lost; reconnecting")
            failures += 1
            await asyncio.sleep(reconnect_delay(failures, self._settings, self._rand))

    async def _connect_login_resync(self) -> bool:
        link = self._require_link()
        self._booted.clear()
        try:
            await asyncio.wait_for(link.open(), _ACTION_TIMEOUT_S)
            await self._login()
            await self._wait_booted()
            await self._resync_calls()
        except (OSError, TimeoutError) as exc:
            self._last_error = AmiUnavailable(
                f"AMI {self._settings.host}:{self._settings.port}: {exc!r}"
            )
        except AmiUnavailable as exc:
            self._last_error = exc
        else:
            self._last_error = None
            return True
        self._log.warning("AMI connect failed: %s", self._last_error)
        link.abort()
        return False

    async def _login(self) -> None:
        login = {
            "Action": "Login",
            "Username": self._settings.username,
            "Secret": self._settings.secret,
            "Events": "on",
        }
        (reply, *_) = await self.action(login)
        if header(reply, "Response") != "Success":
            raise AmiAuthError(f"AMI login refused: {header(reply, 'Message')}")

    async def _wait_booted(self) -> None:
        """Wait for ``FullyBooted``. Without it in ``_BOOT_WAIT_S`` (a user without
        ``read = system`` never gets it) go on, and say why calls may fail."""
        booted = asyncio.ensure_future(self._booted.wait())
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait({booted, lost}, timeout=_BOOT_WAIT_S,
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        finally:
            booted.cancel()
            lost.cancel()
        if self._lost.is_set():
            raise AmiUnavailable("AMI link lost while waiting for FullyBooted")
        if not self._booted.is_set():
            self._log.warning(
                "Asterisk did not say FullyBooted within %s s of the AMI login (is the "
                "AMI user granted read = system?); dialling anyway",
                _BOOT_WAIT_S,
            )

    async def _resync_calls(self) -> None:
        """Learn which calls still live; the adapter's ``resync`` settles the ones that
        ended while we were away."""
        replies = await self.action({"Action": "CoreShowChannels"})
        channels = [m for m in replies if header(m, "Event") == "CoreShowChannel"]
        self.live = frozenset(header(m, "Linkedid") for m in channels) - {""}
        await self._resync(self.live)

    async def _ping_until_lost(self) -> None:
        while True:
            await asyncio.sleep(self._settings.ping_interval_s)
            try:
                await asyncio.wait_for(self.send({"Action": "Ping"}), self._settings.ping_timeout_s)
            except TimeoutError:
                self._log.warning("AMI ping unanswered for %s s", self._settings.ping_timeout_s)
                self.drop()
                return

    def _require_link(self) -> _Link:
        if self._link is None:
            raise AmiUnavailable("AmiTelephony.start() was not called")
        return self._link
