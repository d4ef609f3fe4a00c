"""Agents on real SIP phones: the dialer's own flow (the AMI adapter) calls agents that register
with digest auth to endpoints made from the shipped pjsip.conf (101-103, ``PJSIP/{agent}``).

The phones are SIPp scenarios (tests/sip/agents/) with a recorder for the RTP they receive
(tests/integration/sip_agent.py). Customers are the Local doubles of extensions-test.conf
(the number's last digit 1 answers, the digit before it is how many seconds it stays).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import re
import uuid
import wave
from array import array
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import asterisk_factory
import pytest
from asterisk_fixtures import AsteriskInstance, Reports, ami_settings_for
from sip_agent import PCMA, SipPhone, alaw, running_phone
from test_kazakh_announcement import VOICE_RMS, kazakh_sounds, played, voiced_seconds

from campaigns.calls import CallReport, CallResult, OriginateRequest
from dialer.ami.results import DeviceStatus
from dialer.ami.telephony import AmiTelephony
from dialer.app.agent_events import AgentEvents
from dialer.dispatch.agents import DEVICE_UNAVAILABLE, AgentPool, AgentState

pytestmark = pytest.mark.asterisk

AGENT_TEMPLATE = "PJSIP/{agent}"
ANSWERS_3S = "79990000031"
ANSWERS_4S = "79990000041"


@pytest.fixture(scope="module")
def sip_asterisk() -> Iterator[AsteriskInstance]:
    """An instance of its own with PJSIP from the shipped pjsip.conf."""
    with asterisk_factory.running("sip-agents", sip=True) as instance:
        yield instance


@pytest.fixture
async def sip_telephony(
    sip_asterisk: AsteriskInstance, reports: Reports
) -> AsyncIterator[AmiTelephony]:
    """The real adapter dialling agents as ``PJSIP/{agent}``, not yet started (a test may
    watch devices first); started and resynced by ``connect``."""
    settings = ami_settings_for(sip_asterisk, agent_ring_timeout_s=5, agent_channel=AGENT_TEMPLATE)
    adapter = AmiTelephony(settings, reports.sink, clock=lambda: datetime.now(UTC))
    try:
        yield adapter
    finally:
        await adapter.close()


async def connect(telephony: AmiTelephony) -> AmiTelephony:
    await telephony.start()
    await telephony.wait_ready()
    return telephony


def request(agent: str, number: str, **changes: object) -> OriginateRequest:
    fields: dict[str, object] = {
        "attempt_id": str(uuid.uuid4()),
        "order_id": "A-1042",
        "agent": agent,
        "customer_number": number,
        "announce_digits": "1042",
        "ring_timeout_s": 3,
        "accept_timeout_s": 4,
        **changes,
    }
    return OriginateRequest(**fields)  # type: ignore[arg-type]


async def call(telephony: AmiTelephony, reports: Reports, req: OriginateRequest) -> CallReport:
    telephony.originate(req)
    return await reports.wait(req.attempt_id, timeout_s=30)


def explain(report: CallReport, phone: SipPhone) -> str:
    return f"{report.result}: {report.detail}\n{phone.logs()}"


async def test_sip_agent_pressing_1_as_rfc4733_events_is_connected_to_the_customer(
    sip_asterisk: AsteriskInstance,
    sip_telephony: AmiTelephony,
    reports: Reports,
    tmp_path: Path,
) -> None:
    with running_phone(sip_asterisk, "101", tmp_path) as phone:
        report = await call(await connect(sip_telephony), reports, request("101", ANSWERS_3S))

    assert report.result is CallResult.ANSWERED, explain(report, phone)
    assert "digit=1" in report.detail, report.detail
    heard = voiced_seconds(phone.recorder.save_wav(tmp_path / "heard.wav"))
    print(f"phone received {phone.recorder.audio_seconds():.2f} s of A-law, {heard:.2f} s voiced")
    assert heard >= 0.3, phone.logs()  # the start of the announcement, before it pressed 1


async def test_sip_agent_pressing_1_as_sip_info_is_connected_on_the_shipped_rfc4733_endpoint(
    sip_asterisk: AsteriskInstance,
    sip_telephony: AmiTelephony,
    reports: Reports,
    tmp_path: Path,
) -> None:
    """res_pjsip_dtmf_info takes an INFO digit whatever the endpoint's dtmf_mode."""
    endpoint = sip_asterisk.cli("pjsip show endpoint 102")
    assert re.search(r"^\s*dtmf_mode\s*:\s*rfc4733\s*$", endpoint, re.MULTILINE), endpoint
    with running_phone(sip_asterisk, "102", tmp_path, dtmf="info") as phone:
        report = await call(await connect(sip_telephony), reports, request("102", ANSWERS_3S))

    assert report.result is CallResult.ANSWERED, explain(report, phone)
    assert "digit=1" in report.detail, report.detail
    sent = (tmp_path / "calls.messages").read_text(encoding="utf-8")
    assert "Content-Type: application/dtmf-relay" in sent  # the phone's one way of pressing


async def test_sip_agent_who_unregisters_is_paused_as_unavailable_until_registering_again(
    sip_asterisk: AsteriskInstance, sip_telephony: AmiTelephony, tmp_path: Path
) -> None:
    """The dialer's own path: DeviceStateChange of PJSIP/103 -> the adapter's device watch ->
    AgentEvents -> the agent pool."""
    pool = AgentPool(["103"], datetime.now(UTC), wrap_up_s=0, miss_pause_after=2)
    events = AgentEvents(pool, lambda: datetime.now(UTC), changed=lambda: None)
    seen: list[DeviceStatus] = []  # PJSIP/103's states (the template matches 101, 102 too)

    def device(agent: str, status: DeviceStatus) -> None:
        if agent == "103":
            seen.append(status)
        events.device(agent, status)

    sip_telephony.watch_agent_devices(AGENT_TEMPLATE, device)

    async def until(state: AgentState, phone: SipPhone) -> None:
        for _ in range(50):
            if pool.get("103").state is state:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(
            f"agent 103 not {state} but {pool.get('103')}; seen {seen}\n{phone.logs()}"
        )

    with running_phone(sip_asterisk, "103", tmp_path) as phone:
        await connect(sip_telephony)
        await until(AgentState.IDLE, phone)
        assert seen[-1] is DeviceStatus.NOT_INUSE

        phone.unregister()
        await until(AgentState.PAUSED, phone)
        assert pool.get("103").paused_reason == DEVICE_UNAVAILABLE
        assert seen[-1] is DeviceStatus.UNAVAILABLE

        phone.register()
        await until(AgentState.IDLE, phone)
        assert seen[-1] is DeviceStatus.NOT_INUSE
    print("device states seen for PJSIP/103:", [s.value for s in seen])
    changes = [status for status, _ in itertools.groupby(seen)]
    assert changes == [DeviceStatus.NOT_INUSE, DeviceStatus.UNAVAILABLE, DeviceStatus.NOT_INUSE]


async def test_registered_phone_that_ignores_qualify_leaves_its_agent_unavailable(
    sip_asterisk: AsteriskInstance, sip_telephony: AmiTelephony, tmp_path: Path
) -> None:
    """Registered is not enough: the shipped aor qualifies the contact, and a contact that
    does not answer OPTIONS is Unavail, so the device stays UNAVAILABLE."""
    pool = AgentPool(["102"], datetime.now(UTC), wrap_up_s=0, miss_pause_after=2)
    events = AgentEvents(pool, lambda: datetime.now(UTC), changed=lambda: None)
    seen: list[DeviceStatus] = []

    def device(agent: str, status: DeviceStatus) -> None:
        if agent == "102":
            seen.append(status)
        events.device(agent, status)

    sip_telephony.watch_agent_devices(AGENT_TEMPLATE, device)
    with running_phone(sip_asterisk, "102", tmp_path, answers_options=False) as phone:
        await connect(sip_telephony)
        contact = f"102/sip:102@127.0.0.1:{phone.contact_port}"
        for _ in range(80):  # the qualify times out after 3 s
            contacts = sip_asterisk.cli("pjsip show contacts")
            if re.search(rf"{re.escape(contact)}\s+\S+\s+Unavail", contacts):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"{contact} not Unavail:\n{contacts}\n{phone.logs()}")
        await asyncio.sleep(0.5)  # room for a wrong NOT_INUSE to arrive

        agent = pool.get("102")
        print("device states seen for PJSIP/102:", [s.value for s in seen])
        assert (agent.state, agent.paused_reason) == (AgentState.PAUSED, DEVICE_UNAVAILABLE)
        assert DeviceStatus.NOT_INUSE not in seen, seen
        assert "OPTIONS sip:102@" in (tmp_path / "calls.messages").read_text(encoding="utf-8")


def astdb_answered_ms(asterisk: AsteriskInstance, attempt_id: str) -> int:
    """AnsweredTimeMs as the dialplan stored it (``epoch:stage:status:cause:ms:path``)."""
    family = f"dialer-{datetime.now(UTC):%Y%m%d}"
    value = asterisk.cli(f"database get {family} {attempt_id}").split("Value:", 1)[1].strip()
    return int(value.split(":")[4])


def bridged_seconds(asterisk: AsteriskInstance, attempt_id: str) -> float:
    """How long Asterisk kept the attempt's agent leg in the bridge with the customer, from
    the full log's "joined"/"left" lines (millisecond time stamps)."""
    lines = asterisk.full_log().splitlines()
    answered = next(line for line in lines if f"dialer attempt {attempt_id} agent answered" in line)
    channel = answered.split('Verbose("', 1)[1].split('"', 1)[0]  # PJSIP/101-00000000
    stamps = [
        datetime.fromisoformat(line[1:24])
        for line in lines
        if f"Channel {channel} joined " in line or f"Channel {channel} left " in line
    ]
    assert len(stamps) == 2, stamps  # one join, one leave
    return (stamps[1] - stamps[0]).total_seconds()


async def wav_seconds(path: Path) -> float:
    for _ in range(30):  # MixMonitor closes the file just after the hang-up
        if path.exists() and path.stat().st_size > 44:
            break
        await asyncio.sleep(0.1)
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


async def test_recording_of_a_sip_agent_call_is_as_long_as_the_talk(
    sip_asterisk: AsteriskInstance,
    sip_telephony: AmiTelephony,
    reports: Reports,
    tmp_path: Path,
) -> None:
    """MixMonitor (``b``: only while bridged) records the phone's speech for as long as the
    customer is on the line: the dialer's talk time (the customer's DialEnd ANSWER to the end
    of the call) and Asterisk's own (the bridge's join and leave in the full log). The
    dialplan's AnsweredTimeMs is not the talk time: Asterisk counts it from the agent leg's
    answer, so it also holds the announcement (shown in the message, not asserted)."""
    with running_phone(sip_asterisk, "101", tmp_path) as phone:
        req = request("101", ANSWERS_4S)
        report = await call(await connect(sip_telephony), reports, req)

    assert report.result is CallResult.ANSWERED, explain(report, phone)
    assert report.recording is not None and report.answered_at is not None
    recording = sip_asterisk.host_path(report.recording)
    seconds = await wav_seconds(recording)
    talk = (report.ended_at - report.answered_at).total_seconds()
    bridged = bridged_seconds(sip_asterisk, req.attempt_id)
    figures = (
        f"recording {seconds:.3f} s, talk {talk:.3f} s (dialer), bridged {bridged:.3f} s "
        f"(Asterisk), AnsweredTimeMs {astdb_answered_ms(sip_asterisk, req.attempt_id)}"
    )
    print(figures)
    assert 3.5 <= talk <= 5.0, figures  # the customer double stays 4 s
    assert abs(seconds - talk) <= 1.0, figures
    assert abs(seconds - bridged) <= 1.0, figures
    assert voiced_seconds(recording) >= 2.0, figures  # the phone's speech, not silence


def voiced_frames(path: Path) -> list[bytes]:
    """A prompt's voiced 20 ms frames (RMS at least VOICE_RMS), each as A-law bytes."""
    with wave.open(str(path), "rb") as wav:
        samples = array("h", wav.readframes(wav.getnframes()))
    frames = (samples[i : i + 160] for i in range(0, len(samples) - 159, 160))
    loud = (f for f in frames if math.sqrt(sum(x * x for x in f) / 160) >= VOICE_RMS)
    return [alaw(frame) for frame in loud]


async def test_kazakh_announcement_reaches_a_sip_agent_as_audio(
    sip_asterisk: AsteriskInstance,
    sip_telephony: AmiTelephony,
    reports: Reports,
    tmp_path: Path,
) -> None:
    """The phone listens to the whole announcement (presses 1 after 5 s). What it received
    must hold the generated kk digit files themselves: each voiced 20 ms of them, byte for
    byte as A-law (Asterisk translates the .wav's samples one by one), whereas the Russian
    announcement holds none of them."""
    digits = "9072"
    with running_phone(sip_asterisk, "101", tmp_path, press_after_ms=5000) as phone:
        req = request("101", ANSWERS_3S, announce_digits=digits, language="kk", accept_timeout_s=8)
        report = await call(await connect(sip_telephony), reports, req)

    assert report.result is CallResult.ANSWERED, explain(report, phone)
    assert played(sip_asterisk, req.attempt_id)[:4] == [
        f"'digits/{d}.slin' (language 'kk')" for d in digits
    ]
    phone.recorder.save_wav(tmp_path / "heard.wav")  # kept for a listen after a failure
    heard = phone.recorder.payload(PCMA)
    sounds = kazakh_sounds(sip_asterisk) / "digits"
    frames = [frame for d in digits for frame in voiced_frames(sounds / f"{d}.wav")]
    arrived = sum(frame in heard for frame in frames)
    print(f"kk digits: {arrived} of {len(frames)} voiced 20 ms frames arrived at the phone")
    assert len(frames) >= 40  # four spoken digits: at least 0.8 s voiced
    assert arrived >= 0.9 * len(frames), (arrived, len(frames))
