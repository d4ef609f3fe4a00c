"""Listen, whisper and barge against a real Asterisk (issue 19): the dialer's least-privilege
AMI user originates to the supervisor's phone (the double ``xxx8``: answers and stays) a
channel running ChanSpy on the live call's agent channel, and Asterisk shows it."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
from asterisk_fixtures import RawAmi, Reports

from campaigns.calls import CallResult, OriginateRequest
from dialer.ami.telephony import AmiTelephony, InvalidRequest
from dialer.app.supervision import SPY_OPTIONS, Mode

pytestmark = pytest.mark.asterisk
SUPERVISOR_PHONE = "9008"  # extensions-test.conf: xxx8 answers and stays on the line


async def live_call(telephony: AmiTelephony) -> str:
    """A call whose agent (1001) accepted and whose customer answered and stays 10 s."""
    answered: asyncio.Queue[str] = asyncio.Queue()
    telephony.watch_answers(answered.put_nowait)
    attempt_id = str(uuid.uuid4())
    telephony.originate(OriginateRequest(attempt_id, "A-1", "1001", "79990000001", "1042", 5, 5))
    while await asyncio.wait_for(answered.get(), 30) != attempt_id:
        pass
    return attempt_id


@pytest.mark.parametrize("mode", list(Mode))
async def test_each_mode_puts_a_chanspy_channel_on_the_live_call(
    telephony: AmiTelephony,
    reports: Reports,
    ami_lines: RawAmi,
    mode: Mode,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "dialer.ami_")
    attempt_id = await live_call(telephony)
    spied = telephony.spy(attempt_id, SUPERVISOR_PHONE, SPY_OPTIONS[mode], None)

    channel = await ami_lines.spy_channel(spied + ",")
    said = f"supervisor call to {SUPERVISOR_PHONE} for call {attempt_id}: Success 4"
    for _ in range(50):  # the OriginateResponse of the supervisor's call: answered (4)
        if said in caplog.text:
            break
        await asyncio.sleep(0.1)
    assert said in caplog.text

    assert channel["ApplicationData"] == f"{spied},{SPY_OPTIONS[mode]}"
    assert channel["Channel"].startswith(f"Local/{SUPERVISOR_PHONE}@dialer-test-agents-")
    listed = {c["Channel"]: c for c in await ami_lines.channels()}
    assert listed[spied]["Linkedid"] == attempt_id  # the spied channel is that call's agent leg
    assert channel["Linkedid"] != attempt_id  # the spy call is no leg of the attempt
    report = await reports.wait(attempt_id, timeout_s=30)
    assert report.result is CallResult.ANSWERED  # the spy did not disturb the call's report
    assert reports.about(attempt_id) == [report]
    for _ in range(50):  # ChanSpy's E option: the spy hangs up when the call ends
        if not any(c.get("Application") == "ChanSpy" for c in await ami_lines.channels()):
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError("the ChanSpy channel outlived the call")


async def test_a_call_whose_agent_has_not_answered_cannot_be_spied_on(
    telephony: AmiTelephony, reports: Reports
) -> None:
    attempt_id = str(uuid.uuid4())
    telephony.originate(OriginateRequest(attempt_id, "A-2", "1003", "79990000001", "1042", 5, 5))
    with pytest.raises(InvalidRequest, match="no answered agent channel"):
        telephony.spy(attempt_id, SUPERVISOR_PHONE, "qE", None)
    with pytest.raises(InvalidRequest, match="no answered agent channel"):
        telephony.spy(str(uuid.uuid4()), SUPERVISOR_PHONE, "qE", None)
    await reports.wait(attempt_id, timeout_s=30)


@pytest.mark.parametrize(
    ("extension", "options"),
    [("9008,1", "qE"), ("9008@other", "qE"), ("", "qE"), ("9008", "qBE,x"), ("9008", "qX")],
)
async def test_the_gate_refuses_anything_but_digits_and_the_three_modes(
    telephony: AmiTelephony, reports: Reports, extension: str, options: str
) -> None:
    attempt_id = await live_call(telephony)
    with pytest.raises(InvalidRequest, match="refused by the dial-string gate"):
        telephony.spy(attempt_id, extension, options, None)
    await reports.wait(attempt_id, timeout_s=30)
