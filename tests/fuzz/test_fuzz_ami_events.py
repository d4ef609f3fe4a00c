"""AMI messages with odd or missing fields, as bytes through panoramisk's real parser and the
adapter's real event dispatch: no handler raises, and every live attempt still ends with
exactly one report."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from local_services import free_port

from campaigns.calls import CallReport, OriginateRequest
from dialer.ami.link import _Utf8Protocol
from dialer.ami.results import (
    facts_from_channel_variables,
    facts_from_db_value,
    facts_from_result_event,
    originate_reason,
)
from dialer.ami.telephony import AmiSettings, AmiTelephony

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
ATTEMPTS = ("0a1b2c3d-0000-4000-8000-000000000001", "0a1b2c3d-0000-4000-8000-000000000002")
EVENTS = ["OriginateResponse", "Newchannel", "UserEvent", "DialEnd", "Hangup",
          "ChannelTalkingStart", "DeviceStateChange", "Shutdownish", ""]  # fmt: skip
KEYS = ["Event", "Uniqueid", "Linkedid", "ActionID", "AttemptId", "Reason", "Channel",
        "UserEvent", "Stage", "DialStatus", "HangupCause", "AnsweredTimeMs", "Recording",
        "Digit", "ChanVariable", "Device", "State", "Response", "Message", "Cause",
        "SipCode"]  # fmt: skip
VARIABLES = ["DIALER_ATTEMPT", "DIALER_STAGE", "DIALER_DIALSTATUS", "DIALER_CAUSE",
             "DIALER_ANSWERED_MS", "DIALER_RECORDING", "DIALER_SIP_CODE"]  # fmt: skip
ODD = ["", "²", "١٢", "-1", "9" * 5000, "x" * 20_000, "Успех", "\x00", "4 ", " 4", "=", "a=b=c",
       "DialerResult", "DialerAccepted", "DialerAgentAnswered", "ANSWER", "agent_missed",
       *ATTEMPTS, f"dialer-{ATTEMPTS[0]}", "PJSIP/1001", "NOT_INUSE", "UNAVAILABLE"]  # fmt: skip

line_text = st.text(
    alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=40
)
values = st.one_of(st.sampled_from(ODD), line_text)
chan_vars = st.tuples(st.sampled_from(VARIABLES), values).map(lambda p: f"{p[0]}={p[1]}")
header_lines = st.one_of(
    st.tuples(st.sampled_from(KEYS), values).map(lambda p: f"{p[0]}: {p[1]}"),
    chan_vars.map(lambda v: f"ChanVariable: {v}"),
    st.tuples(line_text, values).map(lambda p: f"{p[0]}: {p[1]}"),
    line_text,  # a line with no ": " at all
)
messages = st.tuples(st.sampled_from(EVENTS), st.lists(header_lines, max_size=8)).map(
    lambda m: "\r\n".join([f"Event: {m[0]}", *m[1]]).encode("utf-8", "surrogatepass")
)
junk = st.lists(st.one_of(messages, st.binary(max_size=60)), max_size=12)


def closing_trace(attempt: str, chan_garbage: list[str]) -> bytes:
    """The agent leg answered (Reason 4), then hung up with odd channel variables."""
    answered = f"Event: OriginateResponse\r\nActionID: dialer-{attempt}\r\nReason: 4"
    hangup = [f"Event: Hangup\r\nUniqueid: {attempt}\r\nLinkedid: {attempt}"]
    hangup += [f"ChanVariable: {v}" for v in chan_garbage]
    return (answered + "\r\n\r\n" + "\r\n".join(hangup) + "\r\n\r\n").encode()


class _Transport(asyncio.Transport):
    def write(self, data: Any) -> None:
        del data


def request(attempt: str) -> OriginateRequest:
    return OriginateRequest(attempt, "A-1", "1001", "79990000021", "1042", 20, 5)


async def _feed(stream: bytes, cuts: list[int]) -> tuple[list[CallReport], AmiTelephony]:
    reports: list[CallReport] = []
    ami = AmiSettings(port=free_port(), secret="s3cret", reconnect_min_s=5.0)  # noqa: S106
    telephony = AmiTelephony(ami, reports.append, clock=lambda: NOW)
    for attempt in ATTEMPTS:
        telephony.adopt(request(attempt), NOW)
    await telephony.start()
    protocol = _Utf8Protocol()
    protocol.connection_made(_Transport())
    protocol.factory = telephony._link  # the real Manager.dispatch and registered handlers
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        protocol.data_received(stream[start:end])
    await telephony.close()
    return reports, telephony


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    before=junk,
    garbage=st.lists(chan_vars, max_size=6),
    after=junk,
    data=st.data(),
)
def test_odd_ami_messages_never_raise_and_every_attempt_reports_once(
    before: list[bytes],
    garbage: list[str],
    after: list[bytes],
    data: st.DataObject,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.clear()
    stream = b"Asterisk Call Manager/9.0.0\r\n"
    stream += b"".join(m + b"\r\n\r\n" for m in before)
    stream += b"".join(closing_trace(a, garbage) for a in ATTEMPTS)
    stream += b"".join(m + b"\r\n\r\n" for m in after)
    cuts = sorted(data.draw(st.lists(st.integers(1, len(stream) - 1), max_size=6, unique=True)))
    with caplog.at_level(logging.ERROR):
        reports, telephony = asyncio.run(_feed(stream, cuts))
    failures = [r for r in caplog.records if r.name == "dialer.ami_"]
    assert failures == [], failures[0].exc_text if failures else ""
    assert sorted(r.attempt_id for r in reports) == sorted(ATTEMPTS)
    assert telephony.pending_attempts() == frozenset()


def test_regression_a_message_with_two_event_headers_does_not_cost_the_rest_of_the_read(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Found by the fuzz test: panoramisk raised AttributeError on a repeated ``Event``
    header (TypeError on a repeated ``ActionID``) inside data_received, which dropped the
    rest of the read (here: both attempts' hang-ups) and, on a real transport, the link."""
    odd = b"Event: Hangup\r\nEvent: Newchannel\r\nUniqueid: x\r\n\r\n"
    odd += b"Event: OriginateResponse\r\nActionID: \r\nActionID: -1\r\n\r\n"
    stream = odd + b"".join(closing_trace(a, []) for a in ATTEMPTS)
    with caplog.at_level(logging.ERROR):
        reports, _ = asyncio.run(_feed(stream, []))
    assert sorted(r.attempt_id for r in reports) == sorted(ATTEMPTS)
    assert [r for r in caplog.records if r.name == "dialer.ami_"] == []


@pytest.mark.parametrize("value", ["²", "١٢", "9" * 5000, "³⁴"])
def test_regression_unicode_or_huge_digit_runs_are_not_facts(value: str) -> None:
    """Found by the fuzz test: ``str.isdigit`` let ``²`` (and 5000-digit runs) reach
    ``int()``; the Hangup handler raised, so an answered attempt was never reported."""
    variables = {"ChanVariable": [f"DIALER_CAUSE={value}", f"DIALER_ANSWERED_MS={value}"]}
    assert facts_from_channel_variables(variables).hangup_cause is None
    event = {"HangupCause": value, "AnsweredTimeMs": value}
    assert facts_from_result_event(event).answered_ms is None
    assert originate_reason({"Reason": value}) is None
    assert facts_from_db_value(f"1:answered:ANSWER:{value}:{value}:/r.wav").hangup_cause is None


@settings(max_examples=300, deadline=None)
@given(value=st.text(max_size=200))
def test_the_astdb_record_parser_takes_any_text(value: str) -> None:
    facts = facts_from_db_value(value)
    assert facts.hangup_cause is None or 0 <= facts.hangup_cause < 10**18
