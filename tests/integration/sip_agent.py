"""An agent's SIP phone for the tests: SIPp registers it (digest auth) and plays its calls,
a recorder in this process is its earpiece.

The phone is two SIPp processes and a socket, all on 127.0.0.1:
- ``register.xml`` (one run per REGISTER): puts the phone's contact in the endpoint's AOR,
  or removes it (``Expires: 0``), from a port of its own;
- ``agent-<dtmf>.xml`` (in the background while the phone is up): the contact; answers
  Asterisk's qualify OPTIONS (``-aa``, unless told not to) and each INVITE, presses 1
  (RFC 4733 events or a SIP INFO), sends speech, answers the BYE;
- ``RtpRecorder``: the port the phone's SDP offers for audio. SIPp has no way to save what it
  receives, so the received RTP is kept here (payload types, packets, decoded audio).
Each SIPp writes its messages and errors to files under the phone's directory; ``logs()``
returns their tails for failure messages. ``running_phone`` always unregisters the phone,
kills the background SIPp and closes the socket.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
import wave
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from asterisk_fixtures import REPO, AsteriskInstance
from local_services import free_udp_port, unavailable

SCENARIOS = REPO / "tests" / "sip" / "agents"
PCAPS = Path("/usr/share/sip-tester")  # Debian sip-tester: SIPp's DTMF and speech captures
HOST = "127.0.0.1"
PCMA, PCMU, TELEPHONE_EVENT = 8, 0, 101


def password(agent: str) -> str:
    """The shipped pjsip.conf's password for agents 101-103."""
    return f"change-me-{agent}"


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    sequence: int
    payload: bytes
    arrived: float  # time.monotonic()


@dataclass
class RtpRecorder:
    """A UDP socket that keeps every RTP packet it receives, in a thread of its own."""

    port: int
    packets: list[RtpPacket] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((HOST, self.port))
        self._socket.settimeout(0.1)
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._stopped.is_set():
            try:
                data = self._socket.recv(2048)
            except TimeoutError:
                continue
            if len(data) > 12 and data[0] >> 6 == 2:  # an RTP version 2 header and a payload
                packet = RtpPacket(
                    data[1] & 0x7F, int.from_bytes(data[2:4]), data[12:], time.monotonic()
                )
                with self._lock:
                    self.packets.append(packet)

    def received(self, payload_type: int | None = None) -> list[RtpPacket]:
        with self._lock:
            return [p for p in self.packets if payload_type in (None, p.payload_type)]

    def payload(self, payload_type: int) -> bytes:
        """The payloads of one type, joined in arrival order (for G.711: the samples)."""
        return b"".join(p.payload for p in self.received(payload_type))

    def audio_seconds(self) -> float:
        """How much G.711 audio arrived (8000 samples a second, one byte each)."""
        return sum(len(p.payload) for p in self.received() if p.payload_type in (PCMA, PCMU)) / 8000

    def save_wav(self, path: Path) -> Path:
        """The received G.711 audio decoded to 16-bit 8 kHz mono, in arrival order."""
        samples = bytearray()
        for packet in self.received():
            decode = {PCMA: _alaw, PCMU: _ulaw}.get(packet.payload_type)
            if decode is not None:
                for byte in packet.payload:
                    samples += decode(byte).to_bytes(2, "little", signed=True)
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(8000)
            wav.writeframes(bytes(samples))
        return path

    def close(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=2)
        self._socket.close()


_ALAW_SEGMENT_ENDS = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def alaw(samples: Iterable[int]) -> bytes:
    """16-bit linear samples to G.711 A-law, as Asterisk's codec_alaw translates them."""
    return bytes(_alaw_byte(sample) for sample in samples)


def _alaw_byte(sample: int) -> int:
    value, mask = sample >> 3, 0xD5
    if value < 0:
        value, mask = -value - 1, 0x55
    segment = next((i for i, end in enumerate(_ALAW_SEGMENT_ENDS) if value <= end), 8)
    if segment == len(_ALAW_SEGMENT_ENDS):
        return 0x7F ^ mask
    shift = 1 if segment < 2 else segment  # G.711: segments 0 and 1 are linear
    return ((segment << 4) | ((value >> shift) & 0x0F)) ^ mask


def _alaw(byte: int) -> int:
    """G.711 A-law to linear (ITU-T G.711)."""
    byte ^= 0x55
    exponent, mantissa = (byte >> 4) & 0x07, byte & 0x0F
    value = (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
    return value if byte & 0x80 else -value


def _ulaw(byte: int) -> int:
    """G.711 mu-law to linear (ITU-T G.711)."""
    byte = ~byte & 0xFF
    value = (((byte & 0x0F) << 3) + 0x84) << ((byte >> 4) & 0x07)
    return 0x84 - value if byte & 0x80 else value - 0x84


class SipPhone:
    """One agent's phone registering to ``asterisk`` (started with ``sip=True``)."""

    def __init__(
        self,
        asterisk: AsteriskInstance,
        agent: str,
        directory: Path,
        *,
        dtmf: str = "rfc4733",
        press_after_ms: int = 1000,
        answers_options: bool = True,
    ) -> None:
        """``answers_options=False``: a phone that ignores Asterisk's qualify OPTIONS."""
        assert asterisk.sip_port is not None, "start Asterisk with sip=True"
        self.agent = agent
        self.registrar = f"{HOST}:{asterisk.sip_port}"
        self.directory = directory
        self.scenario = SCENARIOS / f"agent-{dtmf}.xml"
        assert self.scenario.exists(), self.scenario
        self.press_after_ms = press_after_ms
        self.answers_options = answers_options
        self.contact_port = free_udp_port()
        self.recorder = RtpRecorder(free_udp_port())
        self._calls: subprocess.Popen[bytes] | None = None
        self._registrations = 0

    def start(self) -> None:
        """Start answering at the contact (before registering: Asterisk qualifies the new
        contact at once)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        media_port = free_udp_port()  # SIPp binds it (and +2) although the recorder listens
        command = [
            *self._sipp(self.scenario, "calls"),
            *("-p", str(self.contact_port), "-mi", HOST, "-mp", str(media_port)),
            *(["-aa"] if self.answers_options else []),
            *("-key", "rtp_port", str(self.recorder.port)),
            *("-key", "press_after_ms", str(self.press_after_ms)),
        ]
        with (self.directory / "calls.out").open("wb") as out:
            self._calls = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.directory,
            )
        for _ in range(50):  # SIPp has bound the contact port: OPTIONS and INVITEs reach it
            if self._calls.poll() is not None or _bound(self.contact_port):
                break
            time.sleep(0.05)
        if self._calls.poll() is not None or not _bound(self.contact_port):
            raise AssertionError(f"SIPp for agent {self.agent} is not listening:\n{self.logs()}")

    def register(self, expires_s: int = 300) -> None:
        """One REGISTER transaction (digest challenge answered); ``expires_s=0`` removes the
        contact. Raises with the logs when Asterisk does not say 200."""
        self._registrations += 1
        name = f"register-{self._registrations}"
        command = [
            *self._sipp(SCENARIOS / "register.xml", name),
            *("-key", "agent", self.agent, "-key", "contact_port", str(self.contact_port)),
            *("-key", "expires", str(expires_s), "-au", self.agent, "-ap", password(self.agent)),
            *("-m", "1", "-timeout", "10", "-timeout_error"),
        ]
        done = subprocess.run(
            command, capture_output=True, timeout=20, check=False, cwd=self.directory
        )
        if done.returncode != 0:
            raise AssertionError(
                f"REGISTER (Expires {expires_s}) of agent {self.agent} failed "
                f"(sipp exit {done.returncode}):\n{self.logs(name)}"
            )

    def unregister(self) -> None:
        self.register(expires_s=0)

    def stop(self) -> None:
        if self._calls is not None and self._calls.poll() is None:
            self._calls.terminate()
            try:
                self._calls.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self._calls.kill()
                self._calls.wait(timeout=3)
        self.recorder.close()

    def logs(self, *names: str) -> str:
        """The tails of the phone's SIPp logs (``calls`` and the named runs)."""
        wanted = ("calls", *names)
        parts = []
        for path in sorted(self.directory.glob("*")):
            if path.name.split(".", 1)[0] in wanted:
                text = path.read_text(encoding="utf-8", errors="replace")
                parts.append(f"--- {path.name}\n{text[-3000:]}")
        return "\n".join(parts) or f"(no logs in {self.directory})"

    def _sipp(self, scenario: Path, name: str) -> list[str]:
        logs = self.directory
        return [
            "sipp",
            *("-sf", str(scenario), "-i", HOST, "-nostdin"),
            *("-trace_msg", "-message_file", str(logs / f"{name}.messages")),
            *("-trace_err", "-error_file", str(logs / f"{name}.errors")),
            self.registrar,
        ]


def _bound(port: int) -> bool:
    """Something holds UDP ``port`` on the loopback address."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return True
        return False


def require_sipp() -> None:
    """SIPp and its captures (Debian sip-tester, installed by scripts/test), and root for
    its raw-socket RTP playback."""
    if shutil.which("sipp") is None:
        unavailable("SIPp", "sipp is not installed (Debian package sip-tester)")
    if not (PCAPS / "dtmf_2833_1.pcap").exists() or not (PCAPS / "g711a.pcap").exists():
        unavailable("SIPp", f"SIPp's captures are missing from {PCAPS}")
    if os.geteuid() != 0:  # scripts/test runs as root
        unavailable("SIPp", "play_pcap_audio sends RTP through a raw socket: run as root")


@contextlib.contextmanager
def running_phone(
    asterisk: AsteriskInstance,
    agent: str,
    directory: Path,
    *,
    dtmf: str = "rfc4733",
    press_after_ms: int = 1000,
    answers_options: bool = True,
) -> Iterator[SipPhone]:
    """A registered phone for ``agent``; unregistered (so the endpoint does not keep a dead
    contact for the next test) and killed afterwards, whatever happened."""
    require_sipp()
    phone = SipPhone(
        asterisk,
        agent,
        directory,
        dtmf=dtmf,
        press_after_ms=press_after_ms,
        answers_options=answers_options,
    )
    try:
        phone.start()
        phone.register()
        yield phone
    finally:
        with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
            phone.unregister()
        phone.stop()
