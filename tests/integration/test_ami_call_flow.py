"""The agent-first call flow against a real Asterisk, through the real AMI adapter.

Numbers select the callee doubles' behaviour (config/asterisk/README.md): agents 1001 press 1,
1002 press 2, 1003 never answer, 1004 stay silent, 1006 ring 2 s then press 1; customers end
in 1 answer (the digit before: seconds on the line), 2 ring out, 3 busy, 4 congestion,
5 unallocated (cause 1), 6 invalid format (cause 28).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from ami_proxy import AmiFaultProxy
from asterisk_fixtures import AsteriskInstance, Reports

from campaigns.calls import CallReport, CallResult, OriginateRequest
from dialer.ami.telephony import AmiSettings, AmiTelephony, InvalidRequest

pytestmark = pytest.mark.asterisk


def request(agent: str, number: str, **changes: object) -> OriginateRequest:
    base = OriginateRequest(
        attempt_id=str(uuid.uuid4()),
        order_id="A-1042",
        agent=agent,
        customer_number=number,
        announce_digits="1042",
        ring_timeout_s=3,
        accept_timeout_s=3,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def call(telephony: AmiTelephony, reports: Reports, req: OriginateRequest) -> CallReport:
    telephony.originate(req)
    return await reports.wait(req.attempt_id, timeout_s=30)


def originates_seen(asterisk: AsteriskInstance, attempt_id: str) -> int:
    """Asterisk's own evidence of Originates for one attempt: the runs of the dialer's context
    plus the refusals of a second channel with the same ChannelId."""
    log = asterisk.full_log()
    ran = log.count(f"app_verbose.c: dialer attempt {attempt_id} agent answered")
    refused = log.count(f"Channel Unique ID '{attempt_id}' already in use")
    return ran + refused


async def test_confirmed_call_is_answered_and_recorded(
    telephony: AmiTelephony, reports: Reports, asterisk: AsteriskInstance
) -> None:
    report = await call(telephony, reports, request("1001", "79990000021"))

    assert report.result is CallResult.ANSWERED
    assert report.answered_at is not None
    assert report.answered_at < report.ended_at
    assert report.recording is not None
    recording = asterisk.host_path(report.recording)
    for _ in range(20):  # MixMonitor closes the file just after the hang-up
        if recording.exists() and recording.stat().st_size > 44:
            break
        await asyncio.sleep(0.1)
    assert recording.stat().st_size > 44  # more than a WAV header


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        pytest.param("79990000002", CallResult.NO_ANSWER, id="customer-rings-out"),
        pytest.param("79990000003", CallResult.BUSY, id="customer-busy"),
        pytest.param("79990000004", CallResult.CONGESTION, id="congestion"),
        pytest.param("79990000005", CallResult.INVALID_NUMBER, id="unallocated-cause-1"),
        pytest.param("79990000006", CallResult.INVALID_NUMBER, id="invalid-format-cause-28"),
    ],
)
async def test_customer_outcomes_after_the_agent_accepts(
    telephony: AmiTelephony, reports: Reports, number: str, expected: CallResult
) -> None:
    report = await call(telephony, reports, request("1001", number))

    assert report.result is expected, report.detail
    assert report.answered_at is None
    assert report.recording is None


@pytest.mark.parametrize(
    "agent",
    [
        pytest.param("1002", id="agent-presses-2"),
        pytest.param("1003", id="agent-never-answers"),
        pytest.param("1004", id="agent-stays-silent"),
    ],
)
async def test_agent_who_does_not_press_1_is_agent_missed_and_the_customer_is_not_called(
    telephony: AmiTelephony, reports: Reports, asterisk: AsteriskInstance, agent: str
) -> None:
    req = request(agent, "79990000021")
    report = await call(telephony, reports, req)

    assert report.result is CallResult.AGENT_MISSED, report.detail
    assert f'Dial("Local/{agent}' not in asterisk.full_log()


async def test_link_cut_while_the_originate_is_pending_does_not_dial_twice(
    ami_settings: AmiSettings, reports: Reports, asterisk: AsteriskInstance
) -> None:
    async with _behind_proxy(ami_settings, reports, asterisk) as (telephony, proxy):
        proxy.cut_after_originate()  # the Originate reaches Asterisk, then the link closes
        req = request("1006", "79990000021")  # agent rings 2 s before answering
        telephony.originate(req)

        report = await reports.wait(req.attempt_id, timeout_s=30)
        await asyncio.sleep(1.0)  # room for a wrongly re-sent Originate to show up

    assert proxy.counts().cuts == 1
    assert proxy.counts().forwarded == (req.attempt_id,)  # sent once, never again
    assert report.result is CallResult.ANSWERED, report.detail
    assert originates_seen(asterisk, req.attempt_id) == 1
    assert reports.about(req.attempt_id) == [report]


async def test_an_originate_right_after_the_link_dropped_waits_for_the_reconnect(
    telephony: AmiTelephony, reports: Reports, asterisk: AsteriskInstance
) -> None:
    telephony.drop_link()
    await asyncio.sleep(0)  # the transport has reported the loss; the supervisor has not run
    req = request("1001", "79990000003")

    report = await call(telephony, reports, req)

    assert report.result is CallResult.BUSY, report.detail  # not lost on the dead link
    assert originates_seen(asterisk, req.attempt_id) == 1


async def test_call_that_ends_while_disconnected_is_reported_after_resync(
    ami_settings: AmiSettings, reports: Reports, asterisk: AsteriskInstance
) -> None:
    async with _link_dropped_while_talking(ami_settings, reports) as req:
        report = await reports.wait(req.attempt_id, timeout_s=30)

    assert report.result is CallResult.ANSWERED, report.detail
    assert "ended while AMI was down" in report.detail
    assert report.recording is not None
    assert originates_seen(asterisk, req.attempt_id) == 1
    assert reports.about(req.attempt_id) == [report]


async def test_call_lost_with_its_record_while_disconnected_is_reported_as_outcome_lost(
    ami_settings: AmiSettings, reports: Reports, asterisk: AsteriskInstance
) -> None:
    """As after an Asterisk crash: the agent had answered (OriginateResponse reason 4 was
    heard), then the link went down, the call ended and no record of it survived."""
    async with _link_dropped_while_talking(ami_settings, reports) as req:
        await asyncio.sleep(2.5)
        family = f"dialer-{_now():%Y%m%d}"
        assert "removed" in asterisk.cli(f"database del {family} {req.attempt_id}")

        report = await reports.wait(req.attempt_id, timeout_s=30)

    assert report.result is CallResult.FAILED
    assert "outcome lost" in report.detail, report.detail
    assert reports.about(req.attempt_id) == [report]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"customer_number": "7999000002'1"}, id="quote-in-number"),
        pytest.param({"customer_number": "79990000021,t"}, id="comma-in-number"),
        pytest.param({"customer_number": "79990000021&Local/1@x"}, id="ampersand-in-number"),
        pytest.param({"announce_digits": "1042,1"}, id="comma-in-order-digits"),
        pytest.param({"agent": "1001&Local/2@x"}, id="ampersand-in-agent"),
        pytest.param({"attempt_id": "abc,def"}, id="comma-in-attempt-id"),
    ],
)
async def test_injection_is_refused_by_the_gate_before_reaching_asterisk(
    telephony: AmiTelephony, reports: Reports, asterisk: AsteriskInstance, changes: dict[str, str]
) -> None:
    req = request("1001", "79990000021")
    for name, value in changes.items():  # bypass the request's own check: the adapter gates too
        object.__setattr__(req, name, value)
    log_before = asterisk.full_log()

    with pytest.raises(InvalidRequest):
        telephony.originate(req)
    await asyncio.sleep(0.5)

    assert asterisk.full_log().count("agent answered") == log_before.count("agent answered")
    assert reports.received == []
    assert telephony.pending_attempts() == frozenset()


def test_the_request_itself_refuses_unsafe_numbers() -> None:
    for bad in ("7999'1", "7999,1", "7999&1"):
        with pytest.raises(ValueError, match="not dialable"):
            request("1001", bad)


def _now() -> datetime:
    return datetime.now(UTC)


@contextlib.asynccontextmanager
async def _behind_proxy(
    ami_settings: AmiSettings, reports: Reports, asterisk: AsteriskInstance
) -> AsyncIterator[tuple[AmiTelephony, AmiFaultProxy]]:
    """A ready telephony whose AMI link goes through the fault proxy."""
    proxy = AmiFaultProxy(asterisk.ami_port).start()
    telephony = AmiTelephony(
        dataclasses.replace(ami_settings, port=proxy.port), reports.sink, clock=_now
    )
    await telephony.start()
    try:
        await telephony.wait_ready()
        yield telephony, proxy
    finally:
        await telephony.close()
        proxy.close()


@contextlib.asynccontextmanager
async def _link_dropped_while_talking(
    ami_settings: AmiSettings, reports: Reports
) -> AsyncIterator[OriginateRequest]:
    """A call whose customer is talking when the link drops; the link comes back only
    after 5–10 s, after the call has ended (the customer hangs up after 2 s)."""
    slow = dataclasses.replace(ami_settings, reconnect_min_s=10.0, reconnect_max_s=10.0)
    telephony = AmiTelephony(slow, reports.sink, clock=_now)
    await telephony.start()
    await telephony.wait_ready()
    try:
        req = request("1001", "79990000021")
        telephony.originate(req)
        await asyncio.sleep(2.5)  # agent accepted at ~1 s, customer talking
        telephony.drop_link()
        yield req
    finally:
        await telephony.close()


async def test_a_silent_link_is_detected_by_the_ping_and_reconnected(
    ami_settings: AmiSettings, reports: Reports, asterisk: AsteriskInstance
) -> None:
    async with _behind_proxy(ami_settings, reports, asterisk) as (telephony, proxy):
        assert proxy.silent() == 1
        loop = asyncio.get_running_loop()
        frozen_at = loop.time()
        while telephony.ready:
            await asyncio.sleep(0.1)
        detected_after = loop.time() - frozen_at
        await telephony.wait_ready(timeout_s=10)

        assert detected_after < 20  # the promise; 1 s pings + 1 s timeout here
        report = await call(telephony, reports, request("1001", "79990000003"))
        assert report.result is CallResult.BUSY


async def test_a_link_lost_during_the_resync_is_noticed_at_once_not_at_the_action_timeout(
    ami_settings: AmiSettings, reports: Reports
) -> None:
    proxy = AmiFaultProxy(ami_settings.port).start()
    telephony = AmiTelephony(
        dataclasses.replace(ami_settings, port=proxy.port), reports.sink, clock=_now
    )
    await telephony.start()
    try:
        await telephony.wait_ready()
        proxy.cut_after("CoreShowChannels")  # the reconnect's resync is cut
        telephony.drop_link()
        await asyncio.sleep(0)

        await telephony.wait_ready(timeout_s=5)  # the action timeout is 10 s
        report = await call(telephony, reports, request("1001", "79990000003"))
    finally:
        await telephony.close()
        proxy.close()

    assert proxy.counts().cuts == 1
    assert report.result is CallResult.BUSY
