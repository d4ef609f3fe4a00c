"""Customers behind a real SIP carrier: every result a carrier can cause, proven over SIP.

The dialer's own AMI adapter originates to the agent double ``Local/1001@dialer-test-agents``
(answers, presses 1) and dials the customer as ``PJSIP/{number}@trunk`` through the shipped
pjsip.conf; the trunk's far end is SIPp (tests/integration/sipp_carrier.py) answering with
RTP, refusing with one SIP response, or ringing until Asterisk gives up. Each test checks the
result the adapter reports and the raw facts the dialplan sent in its DialerResult UserEvent
(DIALSTATUS and the Q.850 hang-up cause Asterisk derived from the SIP response).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asterisk_factory
import pytest
import sipp_carrier
from asterisk_fixtures import REPO, AsteriskInstance, Reports, ami_settings_for

from campaigns.calls import CallReport, CallResult, OriginateRequest
from dialer.ami.telephony import AmiTelephony

pytestmark = pytest.mark.asterisk

AGENT = "1001"  # answers, presses 1 after 1 s
CUSTOMER = "79990001234"  # any number: the carrier's behaviour is chosen per test
RING_TIMEOUT_S = 2


@pytest.fixture(scope="module")
def sip_asterisk() -> Iterator[AsteriskInstance]:
    """An instance of its own with PJSIP from the shipped pjsip.conf, trunk to 127.0.0.2."""
    with asterisk_factory.running("pytest-carrier", sip=True) as instance:
        yield instance


@pytest.fixture
async def trunk_telephony(
    sip_asterisk: AsteriskInstance, reports: Reports
) -> AsyncIterator[AmiTelephony]:
    async with dialling_through_the_trunk(sip_asterisk, reports) as adapter:
        yield adapter


@contextlib.asynccontextmanager
async def dialling_through_the_trunk(
    asterisk: AsteriskInstance, reports: Reports
) -> AsyncIterator[AmiTelephony]:
    """The real adapter, dialling customers through the trunk as a deployment does."""
    settings = ami_settings_for(asterisk, customer_channel="PJSIP/{number}@trunk")
    adapter = AmiTelephony(settings, reports.sink, clock=lambda: datetime.now(UTC))
    await adapter.start()
    await adapter.wait_ready()
    try:
        yield adapter
    finally:
        await adapter.close()


class DialerResults:
    """The dialplan's UserEvents (``DialerResult``, ``DialerAccepted``), heard on a second AMI
    login."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._seen: dict[tuple[str, str], dict[str, str]] = {}

    @classmethod
    async def listen(cls, asterisk: AsteriskInstance) -> DialerResults:
        reader, writer = await asyncio.open_connection("127.0.0.1", asterisk.ami_port)
        await reader.readline()  # banner
        login = f"Action: Login\r\nUsername: {asterisk.username}\r\nSecret: {asterisk.secret}"
        writer.write(f"{login}\r\nEvents: user\r\n\r\n".encode())
        await writer.drain()
        listener = cls(reader, writer)
        reply = await asyncio.wait_for(listener._message(), 10)
        assert reply.get("Response") == "Success", reply
        return listener

    async def of(
        self, attempt_id: str, name: str = "DialerResult", timeout_s: float = 10.0
    ) -> dict[str, str]:
        key = (name, attempt_id)
        async with asyncio.timeout(timeout_s):
            while key not in self._seen:
                message = await self._message()
                if "UserEvent" in message:
                    self._seen[message["UserEvent"], message.get("AttemptId", "")] = message
        return self._seen[key]

    async def _message(self) -> dict[str, str]:
        message: dict[str, str] = {}
        while True:
            line = (await self._reader.readline()).decode("utf-8", errors="replace").rstrip("\r\n")
            if not line and message:
                return message
            key, _, value = line.partition(": ")
            if key:
                message.setdefault(key, value)

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()


@pytest.fixture
async def dialer_results(sip_asterisk: AsteriskInstance) -> AsyncIterator[DialerResults]:
    listener = await DialerResults.listen(sip_asterisk)
    try:
        yield listener
    finally:
        await listener.close()


def request() -> OriginateRequest:
    return OriginateRequest(
        attempt_id=str(uuid.uuid4()),
        order_id="A-1042",
        agent=AGENT,
        customer_number=CUSTOMER,
        announce_digits="1042",
        ring_timeout_s=RING_TIMEOUT_S,
        accept_timeout_s=3,
    )


@dataclass(frozen=True)
class CarrierCall:
    """One call through the trunk, as the dialer, the dialplan, Asterisk and SIPp saw it."""

    report: CallReport  # what the dialer's adapter reported
    event: dict[str, str]  # the dialplan's DialerResult UserEvent
    codec: str  # the trunk channel's codec ('' when it never carried media)
    rtp_packets: int  # RTP packets Asterisk received from the carrier (most seen)
    sipp_exit: int  # 0: the SIP dialogue went exactly as the scenario says
    sipp_log: str  # SIPp's message trace, errors and screen

    @property
    def facts(self) -> tuple[str, str, str]:
        return self.event["Stage"], self.event["DialStatus"], self.event["HangupCause"]


class Trunk:
    """Calls the agent double, which presses 1, and the customer through the SIPp carrier."""

    def __init__(
        self,
        telephony: AmiTelephony,
        reports: Reports,
        results: DialerResults,
        asterisk: AsteriskInstance,
        workdir: Path,
    ) -> None:
        self._telephony = telephony
        self._reports = reports
        self._results = results
        self._asterisk = asterisk
        self._workdir = workdir

    async def call(
        self, behaviour: sipp_carrier.Behaviour, *, agent_hangs_up_after_s: float | None = None
    ) -> CarrierCall:
        """One call; ``agent_hangs_up_after_s``: the agent leg is hung up that long after the
        agent accepted (while the customer's phone rings)."""
        with sipp_carrier.carrier(self._asterisk, behaviour, self._workdir) as sipp:
            req = request()
            self._telephony.originate(req)
            if agent_hangs_up_after_s is not None:
                await self._hang_up_agent(req.attempt_id, agent_hangs_up_after_s)
            rtp = RtpWatch(self._asterisk)
            watching = asyncio.create_task(rtp.run())
            try:
                report = await self._reports.wait(req.attempt_id, timeout_s=30)
            finally:
                watching.cancel()
            event = await self._results.of(req.attempt_id)
            exit_status = await asyncio.to_thread(sipp.wait)
            return CarrierCall(report, event, rtp.codec, rtp.packets, exit_status, sipp.logs())

    async def _hang_up_agent(self, attempt_id: str, after_s: float) -> None:
        accepted = await self._results.of(attempt_id, "DialerAccepted")
        await asyncio.sleep(after_s)
        command = f"channel request hangup {accepted['Channel']}"
        await asyncio.to_thread(self._asterisk.cli, command)


@pytest.fixture
async def trunk(
    trunk_telephony: AmiTelephony,
    reports: Reports,
    dialer_results: DialerResults,
    sip_asterisk: AsteriskInstance,
    tmp_path: Path,
) -> Trunk:
    return Trunk(trunk_telephony, reports, dialer_results, sip_asterisk, tmp_path)


class RtpWatch:
    """Polls ``pjsip show channelstats`` while the call lives: the trunk channel's codec and
    the most RTP packets it had received."""

    _STATS = re.compile(r"trunk-\S+\s+\d\d:\d\d:\d\d\s+(\S+)\s+(\d+)\s")

    def __init__(self, asterisk: AsteriskInstance) -> None:
        self._asterisk = asterisk
        self.codec = ""
        self.packets = 0

    async def run(self) -> None:
        while True:
            stats = await asyncio.to_thread(self._asterisk.cli, "pjsip show channelstats")
            found = self._STATS.search(stats)
            if found is not None:
                self.codec = found.group(1)
                self.packets = max(self.packets, int(found.group(2)))
            await asyncio.sleep(0.2)


@dataclass(frozen=True)
class Refusal:
    """A final SIP response from the carrier and what Asterisk 22 made of it (measured)."""

    status: int
    reason: str
    dial_status: str  # ${DIALSTATUS} after Dial()
    cause: int  # ${HANGUPCAUSE}: the Q.850 cause chan_pjsip derived from the response
    result: CallResult  # what the dialer reports (dialer/ami/results.py)


REFUSALS = [
    Refusal(486, "Busy Here", "BUSY", 17, CallResult.BUSY),
    Refusal(404, "Not Found", "CHANUNAVAIL", 1, CallResult.INVALID_NUMBER),
    Refusal(480, "Temporarily Unavailable", "NOANSWER", 19, CallResult.NO_ANSWER),
    Refusal(484, "Address Incomplete", "CHANUNAVAIL", 28, CallResult.INVALID_NUMBER),
    Refusal(503, "Service Unavailable", "CONGESTION", 34, CallResult.CONGESTION),
    Refusal(603, "Decline", "CHANUNAVAIL", 21, CallResult.BUSY),
    # Beyond the list: what else a carrier says, and where it lands.
    # cause 21 like 603; the SIP code tells the carrier's refusal from the customer's
    Refusal(403, "Forbidden", "CHANUNAVAIL", 21, CallResult.CONGESTION),
    Refusal(408, "Request Timeout", "CHANUNAVAIL", 18, CallResult.CONGESTION),
    Refusal(410, "Gone", "CHANUNAVAIL", 22, CallResult.CONGESTION),
    Refusal(500, "Server Internal Error", "CHANUNAVAIL", 38, CallResult.CONGESTION),
    Refusal(502, "Bad Gateway", "CHANUNAVAIL", 27, CallResult.CONGESTION),
    Refusal(600, "Busy Everywhere", "BUSY", 17, CallResult.BUSY),
    Refusal(604, "Does Not Exist Anywhere", "CHANUNAVAIL", 1, CallResult.INVALID_NUMBER),
]


@pytest.mark.parametrize("refusal", REFUSALS, ids=[str(r.status) for r in REFUSALS])
async def test_a_carrier_refusal_is_classified_by_the_cause_asterisk_derives_from_it(
    trunk: Trunk, refusal: Refusal
) -> None:
    call = await trunk.call(sipp_carrier.rejects(refusal.status, refusal.reason))

    assert call.sipp_exit == 0, call.sipp_log  # INVITE in, the response out, the ACK in
    assert call.facts == ("customer", refusal.dial_status, str(refusal.cause)), call.event
    assert call.event["SipCode"] == str(refusal.status), call.event  # HANGUPCAUSE(...,tech)
    assert call.report.result is refusal.result, call.report.detail
    assert f"SIP/2.0 {refusal.status} {refusal.reason}" in call.sipp_log
    assert call.report.answered_at is None
    assert call.report.recording is None
    assert call.rtp_packets == 0


async def test_a_customer_ringing_until_the_ring_timeout_is_no_answer(trunk: Trunk) -> None:
    call = await trunk.call(sipp_carrier.rings())

    # 180 out; Asterisk's CANCEL at its Dial() timeout; 200 and 487 out; the ACK in
    assert call.sipp_exit == 0, call.sipp_log
    # HANGUPCAUSE 0: Dial() gave up by itself, the far end gave no cause
    assert call.facts == ("customer", "NOANSWER", "0"), call.event
    assert call.report.result is CallResult.NO_ANSWER, call.report.detail
    ringing = _ringing_seconds(call.sipp_log)
    assert RING_TIMEOUT_S - 0.2 <= ringing <= RING_TIMEOUT_S + 1.0, call.sipp_log
    assert call.rtp_packets == 0


async def test_an_agent_hanging_up_while_the_customer_rings_is_agent_missed(
    trunk: Trunk,
) -> None:
    call = await trunk.call(sipp_carrier.rings(), agent_hangs_up_after_s=0.2)

    assert call.sipp_exit == 0, call.sipp_log  # the CANCEL came, 487 went out, ACK came
    assert _ringing_seconds(call.sipp_log) < RING_TIMEOUT_S - 0.5, call.sipp_log
    # the hang-up handler reports: Dial() did not return, so no HANGUPCAUSE was kept
    assert call.facts == ("customer", "CANCEL", ""), call.event
    assert call.report.result is CallResult.AGENT_MISSED, call.report.detail


async def test_a_dead_carrier_behind_a_qualified_trunk_is_congestion_at_once(
    reports: Reports,
) -> None:
    """As shipped, the trunk is qualified (OPTIONS every 60 s; every second here). With nothing
    answering at the carrier's address Asterisk marks the contact unavailable and a call fails
    at once: CHANUNAVAIL, cause 3, a trunk problem. (Unqualified, the same dead carrier gave
    NOANSWER, cause 0, after the whole ring timeout: a customer who did not pick up.)"""
    asterisk = await asyncio.to_thread(asterisk_factory.start, "pytest-carrier-down", sip=True)
    try:
        await _qualify_the_trunk(asterisk)
        async with dialling_through_the_trunk(asterisk, reports) as telephony:
            results = await DialerResults.listen(asterisk)
            try:
                req = request()
                telephony.originate(req)
                report = await reports.wait(req.attempt_id, timeout_s=30)
                event = await results.of(req.attempt_id)
            finally:
                await results.close()
    finally:
        await asyncio.to_thread(asterisk_factory.stop, asterisk)

    assert (event["Stage"], event["DialStatus"], event["HangupCause"]) == (
        "customer",
        "CHANUNAVAIL",
        "3",
    ), event
    assert report.result is CallResult.CONGESTION, report.detail


async def _qualify_the_trunk(asterisk: AsteriskInstance) -> None:
    """The trunk's OPTIONS every second (scripts/asterisk-local turns them off for the
    carrier tests), then wait until Asterisk has found the carrier unavailable."""
    conf = asterisk.directory / "etc" / "pjsip.conf"
    text = conf.read_text(encoding="utf-8")
    qualified = re.sub(r"(?m)^qualify_frequency = 0$", "qualify_frequency = 1", text)
    assert qualified != text, "the rendered trunk is no longer unqualified"
    conf.write_text(qualified, encoding="utf-8")
    await asyncio.to_thread(asterisk.cli, "module reload res_pjsip.so")
    contacts = ""
    for _ in range(50):
        contacts = await asyncio.to_thread(asterisk.cli, "pjsip show contacts")
        if re.search(r"trunk/sip:\S+\s+\S+\s+Unavail", contacts):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"the trunk's contact never became unavailable:\n{contacts}")


TALK_MS = 3000


async def test_an_answering_customer_sends_rtp_and_the_call_is_answered(trunk: Trunk) -> None:
    call = await trunk.call(sipp_carrier.answers(TALK_MS))

    assert call.sipp_exit == 0, call.sipp_log  # 200 OK out, ACK in, BYE out, its 200 in
    assert call.facts == ("customer", "ANSWER", ""), call.event
    assert call.report.result is CallResult.ANSWERED, call.report.detail
    # RTP from the carrier reached Asterisk: G.711 A-law, 50 packets a second
    assert call.codec == "alaw"
    assert call.rtp_packets >= 25 * TALK_MS // 1000, call.rtp_packets  # half, polled
    # From the dialer's answer (DialEnd ANSWER) to the carrier's BYE: the talk time
    assert call.report.answered_at is not None
    talked = (call.report.ended_at - call.report.answered_at).total_seconds()
    assert TALK_MS / 1000 - 0.3 <= talked <= TALK_MS / 1000 + 1.0, talked
    # ANSWEREDTIME_MS is the agent leg's time up: the announcement and the ringing too
    assert TALK_MS <= int(call.event["AnsweredTimeMs"]) <= TALK_MS + 5000, call.event
    assert call.report.recording is not None


def _ringing_seconds(messages: str) -> float:
    """From SIPp's 180 Ringing to Asterisk's CANCEL, by the message log's time stamps."""
    stamps: dict[str, datetime] = {}
    for block in messages.split("-" * 47 + " ")[1:]:
        stamp, _, rest = block.partition("\n")
        for key in ("SIP/2.0 180 Ringing", "CANCEL sip:"):
            if key in rest and key not in stamps:
                stamps[key] = datetime.strptime(stamp.strip(), "%Y-%m-%d %H:%M:%S.%f")  # noqa: DTZ007
    return (stamps["CANCEL sip:"] - stamps["SIP/2.0 180 Ringing"]).total_seconds()


def test_the_readme_table_shows_what_was_measured() -> None:
    """dialer/asterisk_files/README.md "A SIP carrier" lists each refusal above, as measured."""
    readme = (REPO / "dialer" / "asterisk_files" / "README.md").read_text(encoding="utf-8")
    rows = {
        cells[0]: cells[1:]
        for line in readme.split("## A SIP carrier", 1)[1].splitlines()
        if line.startswith("| ") and (cells := [c.strip() for c in line.strip("|").split("|")])
    }
    for refusal in REFUSALS:
        cause, dial_status, result = rows[f"{refusal.status} {refusal.reason}"]
        assert (cause, dial_status) == (str(refusal.cause), refusal.dial_status), refusal
        assert result.startswith(refusal.result.name), refusal
