"""A real SIP carrier for the tests: SIPp as a UAS behind the trunk, one scenario per behaviour.

The scenarios are in tests/sip/carrier: ``answer.xml`` (200 OK with SDP, then G.711 A-law RTP,
then the customer's BYE), ``reject.xml`` (one final response) and ``ring.xml`` (180 Ringing
until Asterisk sends CANCEL). SIPp reads response codes and pcap paths when it loads a
scenario, so those are ``@TOKENS@`` filled in here into a copy in the test's directory. SIPp
runs in the background on the instance's carrier address (127.0.0.2:``carrier_port``),
handles one call (``-m 1``) and exits; its message trace and error log stay in the test's
temporary directory for the failure message, and the process is always killed at the end.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from asterisk_fixtures import REPO, AsteriskInstance
from local_services import free_udp_port, unavailable

SCENARIOS = REPO / "tests" / "sip" / "carrier"
CARRIER_HOST = "127.0.0.2"
# Debian's sip-tester ships a few seconds of G.711 A-law RTP (payload type 8) as a pcap.
SIPP_AUDIO = Path("/usr/share/sip-tester/g711a.pcap")


@dataclass(frozen=True, slots=True)
class Behaviour:
    """What the carrier does with the next call: a scenario file and its ``@TOKENS@``."""

    scenario: str
    tokens: tuple[tuple[str, str], ...] = ()

    def render(self, workdir: Path) -> Path:
        """The scenario with its tokens filled in, written to ``workdir``."""
        text = (SCENARIOS / self.scenario).read_text(encoding="utf-8")
        for name, value in self.tokens:
            text = text.replace(f"@{name}@", value)
        if re.search(r"@[A-Z_]+@", text):
            raise ValueError(f"{self.scenario}: a token is left unfilled: {self.tokens}")
        rendered = workdir / self.scenario
        rendered.write_text(text, encoding="utf-8")
        return rendered


def answers(talk_ms: int) -> Behaviour:
    """200 OK with SDP, RTP towards Asterisk, BYE after ``talk_ms`` (the pcap holds 236
    packets, 4.7 s: a longer call is silent after that)."""
    return Behaviour("answer.xml", (("AUDIO", str(SIPP_AUDIO)), ("TALK_MS", str(talk_ms))))


def rejects(status: int, reason: str) -> Behaviour:
    """One final response, e.g. ``rejects(486, "Busy Here")``."""
    return Behaviour("reject.xml", (("STATUS", str(status)), ("REASON", reason)))


def rings() -> Behaviour:
    """180 Ringing until Asterisk cancels (its Dial timeout)."""
    return Behaviour("ring.xml")


class SippCarrier:
    """One SIPp process playing the carrier for one call."""

    def __init__(self, process: subprocess.Popen[bytes], workdir: Path) -> None:
        self.process = process
        self.workdir = workdir

    def wait(self, timeout_s: float = 15.0) -> int:
        """SIPp's exit status once its one call is over: 0 when the call went exactly as the
        scenario says (every expected message, nothing unexpected)."""
        return self.process.wait(timeout=timeout_s)

    def logs(self) -> str:
        """The SIP messages SIPp saw and sent, its errors and its screen: for failure messages."""
        parts = []
        for name in ("messages.log", "errors.log", "screen.log"):
            path = self.workdir / name
            if path.exists():
                text = path.read_text(encoding="utf-8", errors="replace")
                parts.append(f"---- SIPp {name} ----\n{text[-6000:]}")
        return "\n".join(parts) or "(SIPp wrote no logs)"


def sipp_binary() -> str:
    found = shutil.which("sipp")
    if found is None:
        unavailable("SIPp", "sipp is not installed (Debian package sip-tester; scripts/test)")
    if not SIPP_AUDIO.exists():
        unavailable("SIPp", f"{SIPP_AUDIO} is missing (it comes with Debian's sip-tester)")
    return found


@contextlib.contextmanager
def carrier(
    asterisk: AsteriskInstance, behaviour: Behaviour, workdir: Path
) -> Iterator[SippCarrier]:
    """SIPp on the instance's carrier address, ready for the next call; killed at the end."""
    if asterisk.carrier_port is None:
        raise ValueError("the Asterisk instance was started without sip=True")
    binary = sipp_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    command = [
        binary,
        *("-sf", str(behaviour.render(workdir))),
        *("-i", CARRIER_HOST, "-p", str(asterisk.carrier_port)),
        *("-mi", CARRIER_HOST, "-mp", str(free_udp_port(CARRIER_HOST))),
        *("-m", "1", "-nostdin", "-timeout", "90", "-timeout_error"),
        *("-trace_msg", "-message_file", str(workdir / "messages.log")),
        *("-trace_err", "-error_file", str(workdir / "errors.log")),
    ]
    with (workdir / "screen.log").open("wb") as screen:
        process = subprocess.Popen(
            command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=screen, stderr=screen
        )
    sipp = SippCarrier(process, workdir)
    try:
        _wait_bound(sipp, asterisk.carrier_port)
        yield sipp
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _wait_bound(sipp: SippCarrier, port: int, timeout_s: float = 10.0) -> None:
    """Until SIPp holds its SIP port (our own bind there fails), or fail with its logs."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if sipp.process.poll() is not None:
            raise AssertionError(f"SIPp exited at start ({sipp.process.returncode})\n{sipp.logs()}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind((CARRIER_HOST, port))
            except OSError:
                return
        time.sleep(0.05)
    raise AssertionError(f"SIPp did not bind {CARRIER_HOST}:{port}\n{sipp.logs()}")
