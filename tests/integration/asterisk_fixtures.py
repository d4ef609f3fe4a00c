"""Helpers for tests against the real Asterisk: the instance handle and a bare AMI client."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from campaigns.calls import CallReport
from dialer.ami.settings import AmiSettings

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "asterisk-local"


@dataclass(frozen=True)
class AsteriskInstance:
    """A running instance started by scripts/asterisk-local."""

    name: str
    ami_port: int
    username: str
    secret: str
    directory: Path  # as the host sees it
    inner_directory: str  # as Asterisk sees it (differs inside the chroot)
    sip_port: int | None = None  # PJSIP on 127.0.0.1 (start(..., sip=True))
    carrier_port: int | None = None  # where the trunk sends calls: 127.0.0.2:carrier_port
    http_port: int | None = None  # WSS for browser softphones (start(..., webrtc=True))

    def host_path(self, asterisk_path: str) -> Path:
        """Map a path Asterisk reports (e.g. a recording) to the host's file system."""
        relative = Path(asterisk_path).relative_to(self.inner_directory)
        return self.directory / relative

    def full_log(self) -> str:
        return (self.directory / "log" / "full").read_text(encoding="utf-8", errors="replace")

    def cli(self, command: str) -> str:
        done = subprocess.run(
            [str(SCRIPT), "rx", self.name, command],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return done.stdout


class RawAmi:
    """The smallest AMI client: send one action, read messages until a blank line."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def login(cls, asterisk: AsteriskInstance) -> RawAmi:
        reader, writer = await asyncio.open_connection("127.0.0.1", asterisk.ami_port)
        await reader.readline()  # banner
        client = cls(reader, writer)
        reply = await client.action(
            {
                "Action": "Login",
                "Username": asterisk.username,
                "Secret": asterisk.secret,
                "Events": "off",
            }
        )
        assert reply.get("Response") == "Success", reply
        return client

    async def action(self, headers: dict[str, str]) -> dict[str, str]:
        action_id = uuid.uuid4().hex
        text = "".join(f"{k}: {v}\r\n" for k, v in {**headers, "ActionID": action_id}.items())
        self._writer.write((text + "\r\n").encode())
        await self._writer.drain()
        while True:
            message = await self._read_message()
            if message.get("ActionID") == action_id:
                return message

    async def channels(self) -> list[dict[str, str]]:
        """Every channel as ``CoreShowChannels`` lists it (a ``call``-class action, which the
        dialer's least-privilege user may send)."""
        reply = await self.action({"Action": "CoreShowChannels"})
        assert reply["Response"] == "Success", reply
        found = []
        while True:
            message = await self._read_message()
            if message.get("Event") == "CoreShowChannelsComplete":
                return found
            if message.get("Event") == "CoreShowChannel":
                found.append(message)

    async def spy_channel(self, spied_prefix: str, tries: int = 75) -> dict[str, str]:
        """The ChanSpy channel up on a channel whose name starts with ``spied_prefix``,
        polled every 0.2 s (``tries`` times) while the supervisor's phone double answers."""
        for _ in range(tries):
            for channel in await self.channels():
                data = channel.get("ApplicationData", "")
                spying = channel.get("Application") == "ChanSpy" and data.startswith(spied_prefix)
                if spying and channel.get("ChannelStateDesc") == "Up":
                    return channel
            await asyncio.sleep(0.2)
        raise AssertionError(f"no ChanSpy channel on {spied_prefix}: {await self.channels()}")

    async def _read_message(self) -> dict[str, str]:
        message: dict[str, str] = {}
        while True:
            raw = await asyncio.wait_for(self._reader.readline(), 10)
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if not line:
                if message:
                    return message
                continue
            key, _, value = line.partition(": ")
            message.setdefault(key, value)

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()


class Reports:
    """A report sink that lets a test await the report of one attempt."""

    def __init__(self) -> None:
        self.received: list[CallReport] = []
        self._waiters: dict[str, asyncio.Future[CallReport]] = {}

    def sink(self, report: CallReport) -> None:
        self.received.append(report)
        waiter = self._waiter(report.attempt_id)
        if not waiter.done():
            waiter.set_result(report)

    async def wait(self, attempt_id: str, timeout_s: float = 30.0) -> CallReport:
        return await asyncio.wait_for(asyncio.shield(self._waiter(attempt_id)), timeout_s)

    def about(self, attempt_id: str) -> list[CallReport]:
        return [r for r in self.received if r.attempt_id == attempt_id]

    def _waiter(self, attempt_id: str) -> asyncio.Future[CallReport]:
        if attempt_id not in self._waiters:
            self._waiters[attempt_id] = asyncio.get_running_loop().create_future()
        return self._waiters[attempt_id]


def ami_settings_for(asterisk: AsteriskInstance, **changes: Any) -> AmiSettings:
    """The adapter's settings for a test instance: Local channels into the callee doubles,
    short timers; ``changes`` override any field (e.g. ``agent_channel="PJSIP/{agent}"``)."""
    base = AmiSettings(
        port=asterisk.ami_port,
        username=asterisk.username,
        secret=asterisk.secret,
        ping_interval_s=1.0,
        ping_timeout_s=1.0,
        reconnect_min_s=0.2,
        reconnect_max_s=1.0,
        ready_timeout_s=10.0,
        agent_ring_timeout_s=3,
        agent_channel="Local/{agent}@dialer-test-agents",
        customer_channel="Local/{number}@dialer-test-customers/n",
    )
    return replace(base, **changes)
