"""Voice accept against a real Asterisk: speech on the agent leg (TALK_DETECT) accepts the call.

Agents (config/asterisk/README.md): 1005 answers and talks (plays a sound), 1004 answers and
stays silent. Customer 79990000011 answers and hangs up after 1 s. Voice accept detects
sound energy, not speech and not the word "Да".
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from asterisk_fixtures import AsteriskInstance, Reports

from campaigns.calls import CallReport, CallResult, OriginateRequest
from dialer.ami.telephony import AmiSettings, AmiTelephony

pytestmark = pytest.mark.asterisk

TALKING_AGENT = "1005"
SILENT_AGENT = "1004"
ANSWERING_CUSTOMER = "79990000011"  # answers, stays 1 s


def request(agent: str) -> OriginateRequest:
    return OriginateRequest(
        attempt_id=str(uuid.uuid4()),
        order_id="A-1042",
        agent=agent,
        customer_number=ANSWERING_CUSTOMER,
        announce_digits="1042",
        ring_timeout_s=3,
        accept_timeout_s=2,
    )


@pytest.fixture
async def voice_telephony(
    ami_settings: AmiSettings, reports: Reports
) -> AsyncIterator[AmiTelephony]:
    """The real adapter with voice accept on."""
    settings = dataclasses.replace(ami_settings, voice_accept=True)
    adapter = AmiTelephony(settings, reports.sink, clock=lambda: datetime.now(UTC))
    await adapter.start()
    await adapter.wait_ready()
    try:
        yield adapter
    finally:
        await adapter.close()


async def call(
    telephony: AmiTelephony, reports: Reports, req: OriginateRequest
) -> tuple[CallReport, list[str]]:
    accepted: list[str] = []
    telephony.watch_accepts(lambda attempt_id, _agent: accepted.append(attempt_id))
    telephony.originate(req)
    report = await reports.wait(req.attempt_id, timeout_s=20)
    return report, accepted


def call_log(asterisk: AsteriskInstance, attempt_id: str) -> list[str]:
    """Asterisk's full-log lines of both halves of the attempt's agent Local channel (``;1``
    runs ``dialer-agent``, ``;2`` the agent double), once the log holds the attempt's
    ``DialerResult``: Asterisk's logger thread may write a line after the AMI event that
    ended the call has reached the test (seen once in CI)."""
    marker = f"dialer attempt {attempt_id} agent answered"
    deadline = time.monotonic() + 10
    while True:
        lines = asterisk.full_log().splitlines()
        answered = next((line for line in lines if marker in line), None)
        if answered is not None:
            channel = answered.split('Verbose("', 1)[1].split(";", 1)[0]
            mine = [line for line in lines if f"{channel};" in line]
            if any('"DialerResult,' in line for line in mine):
                return mine
        if time.monotonic() > deadline:
            raise AssertionError(f"no DialerResult of attempt {attempt_id} in Asterisk's log")
        time.sleep(0.1)


def count(log: list[str], fragment: str) -> int:
    return sum(fragment in line for line in log)


TALK_DETECT_ON = '"1?Set(TALK_DETECT(set)=2500,256)"'
TALK_DETECT_OFF = '"0?Set(TALK_DETECT(set)=2500,256)"'
ACCEPTED_BY_DIGIT = '"1?accept,1"'
CUSTOMER_DIAL = f'"Local/{ANSWERING_CUSTOMER}@dialer-test-customers/n,3"'


async def test_talking_agent_is_accepted_and_the_customer_answers(
    voice_telephony: AmiTelephony, reports: Reports, asterisk: AsteriskInstance
) -> None:
    req = request(TALKING_AGENT)
    report, accepted = await call(voice_telephony, reports, req)

    assert report.result is CallResult.ANSWERED, report.detail
    assert report.answered_at is not None
    assert accepted == [req.attempt_id]
    log = call_log(asterisk, req.attempt_id)
    assert count(log, TALK_DETECT_ON) == 1
    assert count(log, ACCEPTED_BY_DIGIT) == 0  # accepted by the Redirect, not by a key
    assert count(log, "Executing [accept@dialer-agent:1]") == 1  # one Redirect
    assert count(log, CUSTOMER_DIAL) == 1


async def test_talking_agent_is_not_accepted_when_voice_accept_is_off(
    telephony: AmiTelephony, reports: Reports, asterisk: AsteriskInstance
) -> None:
    req = request(TALKING_AGENT)
    report, accepted = await call(telephony, reports, req)

    assert report.result is CallResult.AGENT_MISSED, report.detail
    assert accepted == []
    log = call_log(asterisk, req.attempt_id)
    assert count(log, TALK_DETECT_OFF) == 1
    assert count(log, "Playing 'tt-monkeys.gsm'") == 1  # the agent did talk
    assert count(log, "ReadStatus: TIMEOUT") == 1
    assert count(log, CUSTOMER_DIAL) == 0


async def test_silent_agent_is_agent_missed_with_voice_accept_on(
    voice_telephony: AmiTelephony, reports: Reports, asterisk: AsteriskInstance
) -> None:
    req = request(SILENT_AGENT)
    report, accepted = await call(voice_telephony, reports, req)

    assert report.result is CallResult.AGENT_MISSED, report.detail
    assert accepted == []
    log = call_log(asterisk, req.attempt_id)
    assert count(log, TALK_DETECT_ON) == 1
    assert count(log, "Playing 'silence/10.gsm'") >= 1  # silent frames did flow
    assert count(log, "ReadStatus: TIMEOUT") == 1
    assert count(log, CUSTOMER_DIAL) == 0
