"""One telephony contract, run against the simulator's ``SimTelephony`` and the real
``AmiTelephony`` on a local Asterisk (issue 14): the same callee behaviour gives the same
report, an unsafe dial string is refused the same way before anything is dialled, one attempt
id is one live call, and ``close`` may be called twice.

Callees: on Asterisk the dialplan doubles (config/asterisk/README.md: agent 1001 presses 1;
customers ending in 1 answer, 2 ring out, 3 are busy); in the simulator a ``SimCallee`` told
to behave the same way.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Protocol

import pytest
from asterisk_fixtures import Reports

from campaigns.calls import CallReport, CallResult, OriginateRequest
from campaigns.settings import CampaignSettings
from dialer.ami.dial_gate import InvalidRequest
from dialer.ami.telephony import AmiSettings, AmiTelephony
from dialer.sim.phones import SimCallee, SimTelephony, VirtualClock

ANSWERS, RINGS_OUT, BUSY = "answers", "rings out", "busy"
DOUBLES = {ANSWERS: "79990000021", RINGS_OUT: "79990000002", BUSY: "79990000003"}
SIM_CALLEES = {
    ANSWERS: SimCallee(answer_on_attempt=1),
    RINGS_OUT: SimCallee(answer_on_attempt=None),
    BUSY: SimCallee(answer_on_attempt=None, unanswered=CallResult.BUSY),
}


class Harness(Protocol):
    telephony: Any  # originate, pending_attempts, close: the contract under test

    def request(self, behaviour: str) -> OriginateRequest: ...

    async def report(self, attempt_id: str) -> CallReport: ...

    def reports(self) -> list[CallReport]: ...


def _request(order_id: str, number: str) -> OriginateRequest:
    return OriginateRequest(
        attempt_id=str(uuid.uuid4()),
        order_id=order_id,
        agent="1001",
        customer_number=number,
        announce_digits="1042",
        ring_timeout_s=3,
        accept_timeout_s=3,
    )


class SimHarness:
    def __init__(self) -> None:
        self._clock = VirtualClock(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
        self._callees: dict[str, SimCallee] = {}
        self._received: list[CallReport] = []
        self._orders = itertools.count(1)
        self.telephony = SimTelephony(self._clock, self._callees, CampaignSettings())
        self.telephony.report_sink = self._received.append
        self.telephony.disposition_sink = lambda order_id, disposition: None

    def request(self, behaviour: str) -> OriginateRequest:
        order_id = f"C-{next(self._orders)}"
        self._callees[order_id] = SIM_CALLEES[behaviour]
        return _request(order_id, DOUBLES[behaviour])

    async def report(self, attempt_id: str) -> CallReport:
        while not any(r.attempt_id == attempt_id for r in self._received):
            due = self._clock.next_at()
            assert due is not None, f"no report for {attempt_id} and nothing left to happen"
            self._clock.now = due
            self._clock.run_due()
        return next(r for r in self._received if r.attempt_id == attempt_id)

    def reports(self) -> list[CallReport]:
        return list(self._received)


class AmiHarness:
    def __init__(self, telephony: AmiTelephony, received: Reports) -> None:
        self.telephony = telephony
        self._received = received

    def request(self, behaviour: str) -> OriginateRequest:
        return _request("A-1042", DOUBLES[behaviour])

    async def report(self, attempt_id: str) -> CallReport:
        return await self._received.wait(attempt_id, timeout_s=30)

    def reports(self) -> list[CallReport]:
        return list(self._received.received)


@pytest.fixture(params=["sim", pytest.param("ami", marks=pytest.mark.asterisk)])
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    if request.param == "sim":
        sim = SimHarness()
        yield sim
        await sim.telephony.close()
        return
    settings: AmiSettings = request.getfixturevalue("ami_settings")
    received = Reports()
    adapter = AmiTelephony(settings, received.sink, clock=lambda: datetime.now(UTC))
    await adapter.start()
    await adapter.wait_ready()
    try:
        yield AmiHarness(adapter, received)
    finally:
        await adapter.close()


async def test_an_answered_customer_is_reported_answered_once(harness: Harness) -> None:
    req = harness.request(ANSWERS)
    harness.telephony.originate(req)
    report = await harness.report(req.attempt_id)
    assert report.result is CallResult.ANSWERED, report.detail
    assert report.answered_at is not None
    assert report.answered_at < report.ended_at
    assert [r.attempt_id for r in harness.reports()] == [req.attempt_id]
    assert harness.telephony.pending_attempts() == frozenset()


@pytest.mark.parametrize(
    ("behaviour", "expected"), [(RINGS_OUT, CallResult.NO_ANSWER), (BUSY, CallResult.BUSY)]
)
async def test_an_unanswered_customer_is_reported_with_its_result_and_no_answer_time(
    harness: Harness, behaviour: str, expected: CallResult
) -> None:
    req = harness.request(behaviour)
    harness.telephony.originate(req)
    report = await harness.report(req.attempt_id)
    assert report.result is expected, report.detail
    assert report.answered_at is None
    assert report.recording is None
    assert [r.attempt_id for r in harness.reports()] == [req.attempt_id]


@pytest.mark.parametrize(
    ("field", "value", "refusal"),
    [
        ("customer_number", "79990000021&Local/1@x", "customer number: not dialable"),
        ("announce_digits", "1042,1", "order digits: not dialable"),
        ("agent", "1001&Local/2@x", "agent refused by the dial-string gate"),
        ("attempt_id", "abc,def", "attempt id refused by the dial-string gate"),
        ("customer_channel_template", "Local/{number}@x&Local/9@y", "dial template refused"),
        ("ring_timeout_s", 0, "ring_timeout_s must be 1..600 seconds"),
    ],
)
async def test_an_unsafe_request_is_refused_before_anything_is_dialled(
    harness: Harness, field: str, value: object, refusal: str
) -> None:
    req = harness.request(ANSWERS)
    object.__setattr__(req, field, value)  # past the request's own check: the adapter gates too
    with pytest.raises(InvalidRequest, match=refusal):
        harness.telephony.originate(req)
    await asyncio.sleep(0.2)
    assert harness.reports() == []
    assert harness.telephony.pending_attempts() == frozenset()


async def test_one_attempt_id_is_one_call(harness: Harness) -> None:
    req = harness.request(RINGS_OUT)
    harness.telephony.originate(req)
    with pytest.raises(InvalidRequest, match="already in progress"):
        harness.telephony.originate(req)
    await harness.report(req.attempt_id)
    assert [r.attempt_id for r in harness.reports()] == [req.attempt_id]


async def test_close_may_be_called_twice(harness: Harness) -> None:
    req = harness.request(BUSY)
    harness.telephony.originate(req)
    await harness.report(req.attempt_id)
    await harness.telephony.close()
    await harness.telephony.close()
