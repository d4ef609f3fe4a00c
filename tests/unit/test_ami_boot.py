"""The AMI link is not ready to dial before Asterisk says FullyBooted.

Asterisk accepts AMI logins while its modules still load; an Originate then fails at once
(OriginateResponse reason 0) because the dialplan is not loaded yet. Seen in CI: the first
call of a session on a busy machine failed that way. A tiny AMI server on loopback plays
the booting Asterisk here, so the order of events is exact.
"""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from dialer.ami import link as link_module
from dialer.ami.link import LinkSupervisor
from dialer.ami.settings import AmiSettings

_FULLY_BOOTED = b"Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n"


class BootingAsterisk:
    """Greets, accepts any login, answers CoreShowChannels, and sends FullyBooted only when
    the test says so (or at login, when ``booted``)."""

    def __init__(self, *, booted: bool) -> None:
        self.booted = booted
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def finish_booting(self) -> None:
        self.booted = True
        for writer in self.writers:
            writer.write(_FULLY_BOOTED)
            await writer.drain()

    async def close(self) -> None:
        for writer in self.writers:
            writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        try:
            while True:
                raw = await reader.readuntil(b"\r\n\r\n")
                lines = raw.decode().strip().split("\r\n")
                fields = dict(line.split(": ", 1) for line in lines if ": " in line)
                action_id = fields.get("ActionID", "")
                if fields.get("Action", "").lower() == "login":
                    writer.write(
                        f"Response: Success\r\nActionID: {action_id}\r\n"
                        "Message: Authentication accepted\r\n\r\n".encode()
                    )
                    if self.booted:
                        writer.write(_FULLY_BOOTED)
                elif fields.get("Action", "").lower() == "coreshowchannels":
                    writer.write(
                        f"Response: Success\r\nActionID: {action_id}\r\nEventList: start\r\n"
                        "Message: Channels will follow\r\n\r\n"
                        f"Event: CoreShowChannelsComplete\r\nActionID: {action_id}\r\n"
                        "EventList: Complete\r\nListItems: 0\r\n\r\n".encode()
                    )
                else:
                    writer.write(f"Response: Success\r\nActionID: {action_id}\r\n\r\n".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return


async def _supervisor(server: BootingAsterisk) -> LinkSupervisor:
    port = await server.start()

    async def resync(_live: frozenset[str]) -> None:
        return None

    supervisor = LinkSupervisor(
        AmiSettings(port=port, secret="s", ping_interval_s=5.0, ping_timeout_s=5.0),  # noqa: S106
        resync=resync,
        rand=random.Random(1),
        log=logging.getLogger("test.ami.boot"),
    )
    supervisor.start({})
    return supervisor


async def test_a_login_to_a_booting_asterisk_is_not_ready_until_fully_booted() -> None:
    server = BootingAsterisk(booted=False)
    supervisor = await _supervisor(server)
    try:
        await asyncio.sleep(0.5)  # connected and logged in long since
        assert server.writers, "the supervisor never connected"
        assert not supervisor.ready
        await server.finish_booting()
        await supervisor.wait_ready(timeout_s=5)
        assert supervisor.ready
    finally:
        supervisor.close()
        await server.close()


async def test_a_booted_asterisk_is_ready_at_login() -> None:
    server = BootingAsterisk(booted=True)
    supervisor = await _supervisor(server)
    try:
        await supervisor.wait_ready(timeout_s=5)
    finally:
        supervisor.close()
        await server.close()


async def test_without_fully_booted_the_link_goes_on_and_says_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A user without ``read = system`` never hears FullyBooted: dial anyway, with a warning."""
    monkeypatch.setattr(link_module, "_BOOT_WAIT_S", 0.3)
    server = BootingAsterisk(booted=False)
    with caplog.at_level(logging.WARNING, logger="test.ami.boot"):
        supervisor = await _supervisor(server)
        try:
            await supervisor.wait_ready(timeout_s=5)
        finally:
            supervisor.close()
            await server.close()
    assert any("read = system" in r.getMessage() for r in caplog.records)
