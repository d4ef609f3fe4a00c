"""The telephony-facts table row by row, and the AMI adapter's parsing of recorded messages."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from campaigns.calls import CallReport, CallResult, OriginateRequest
from dialer.ami.link import _Utf8Protocol
from dialer.ami.results import (
    TABLE,
    CallFacts,
    Fact,
    Row,
    channel_variables,
    classify,
    facts_from_channel_variables,
    facts_from_db_value,
    facts_from_result_event,
    originate_reason,
)
from dialer.ami.telephony import (
    AmiConfigError,
    AmiSettings,
    AmiTelephony,
    InvalidRequest,
    reconnect_delay,
)
from dialer.ami.tracker import _Attempt

ATTEMPT = "2f6e73db-ea7a-4b50-8a9e-7247c09ae12c"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def facts_for(row: Row) -> CallFacts:
    """The facts that exercise exactly one row: the agent accepted unless the row is about
    the agent leg."""
    if row.fact is Fact.ORIGINATE_REASON:
        return CallFacts(originate_reason=int(row.value))
    if row.fact is Fact.STAGE:
        return CallFacts(originate_reason=4, stage=row.value)
    if row.fact is Fact.DIAL_STATUS:
        return CallFacts(originate_reason=4, stage="customer", dial_status=row.value)
    if row.fact is Fact.SIP_RESPONSE:
        return CallFacts(originate_reason=4, stage="customer", sip_code=int(row.value))
    return CallFacts(originate_reason=4, stage="customer", hangup_cause=int(row.value))


@pytest.mark.parametrize("row", TABLE, ids=[f"{r.fact.name}={r.value}" for r in TABLE])
def test_each_telephony_fact_maps_to_its_call_result(row: Row) -> None:
    result, why = classify(facts_for(row))
    assert result is row.result
    assert row.why in why


def test_every_call_result_is_reachable_from_the_table() -> None:
    assert {row.result for row in TABLE} == set(CallResult)


def test_the_table_has_one_row_per_fact() -> None:
    keys = [(row.fact, row.value) for row in TABLE]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        pytest.param(
            CallFacts(
                originate_reason=4, stage="customer", dial_status="CHANUNAVAIL", hangup_cause=1
            ),
            CallResult.INVALID_NUMBER,
            id="cause-1-beats-chanunavail",
        ),
        pytest.param(
            CallFacts(
                originate_reason=4, stage="customer", dial_status="NOANSWER", hangup_cause=28
            ),
            CallResult.INVALID_NUMBER,
            id="cause-28-beats-noanswer",
        ),
        pytest.param(
            CallFacts(
                originate_reason=4, stage="customer", dial_status="CHANUNAVAIL", hangup_cause=21
            ),
            CallResult.BUSY,
            id="cause-21-rejected-beats-chanunavail",
        ),
        pytest.param(
            CallFacts(
                originate_reason=4,
                stage="customer",
                dial_status="CHANUNAVAIL",
                hangup_cause=21,
                sip_code=403,
            ),
            CallResult.CONGESTION,
            id="sip-403-carrier-refusal-beats-cause-21",
        ),
        pytest.param(
            CallFacts(
                originate_reason=4,
                stage="customer",
                dial_status="CHANUNAVAIL",
                hangup_cause=21,
                sip_code=603,
            ),
            CallResult.BUSY,
            id="sip-603-stays-a-rejection",
        ),
        pytest.param(
            CallFacts(originate_reason=4, stage="customer", dial_status="ANSWER", hangup_cause=16),
            CallResult.ANSWERED,
            id="answer-beats-normal-clearing",
        ),
        pytest.param(
            CallFacts(originate_reason=3, dial_status="ANSWER"),
            CallResult.AGENT_MISSED,
            id="agent-leg-failure-comes-first",
        ),
        pytest.param(
            CallFacts(originate_reason=4, stage="agent_missed", hangup_cause=1),
            CallResult.AGENT_MISSED,
            id="agent-missed-beats-customer-facts",
        ),
        pytest.param(CallFacts(originate_reason=99), CallResult.FAILED, id="unknown-reason"),
        pytest.param(CallFacts(), CallResult.FAILED, id="nothing-known"),
        pytest.param(
            CallFacts(originate_reason=4, stage="customer"),
            CallResult.FAILED,
            id="customer-stage-without-status",
        ),
    ],
)
def test_precedence_between_facts(facts: CallFacts, expected: CallResult) -> None:
    assert classify(facts)[0] is expected


# What Asterisk 22.10 reported for each answer of a real SIP carrier (SIPp behind the shipped
# [trunk]; tests/integration/test_sip_carrier.py makes these calls): SIP response, DIALSTATUS,
# HANGUPCAUSE, and the result the dialer owes the business rules for it.
SIP_CARRIER_FACTS = [
    pytest.param("ANSWER", None, None, CallResult.ANSWERED, id="200-ok"),
    pytest.param("NOANSWER", 0, None, CallResult.NO_ANSWER, id="180-until-the-ring-timeout"),
    pytest.param("CANCEL", None, None, CallResult.AGENT_MISSED, id="180-and-the-agent-hangs-up"),
    pytest.param("BUSY", 17, 486, CallResult.BUSY, id="486-busy-here"),
    pytest.param("CHANUNAVAIL", 1, 404, CallResult.INVALID_NUMBER, id="404-not-found"),
    pytest.param("NOANSWER", 19, 480, CallResult.NO_ANSWER, id="480-temporarily-unavailable"),
    pytest.param("CHANUNAVAIL", 28, 484, CallResult.INVALID_NUMBER, id="484-address-incomplete"),
    pytest.param("CONGESTION", 34, 503, CallResult.CONGESTION, id="503-service-unavailable"),
    pytest.param("CHANUNAVAIL", 21, 603, CallResult.BUSY, id="603-decline-is-a-rejection"),
    pytest.param(
        "CHANUNAVAIL", 21, 403, CallResult.CONGESTION, id="403-forbidden-is-the-carrier-refusing"
    ),
    pytest.param("CHANUNAVAIL", 18, 408, CallResult.CONGESTION, id="408-request-timeout"),
    pytest.param("CHANUNAVAIL", 22, 410, CallResult.CONGESTION, id="410-gone"),
    pytest.param("CHANUNAVAIL", 38, 500, CallResult.CONGESTION, id="500-server-error"),
    pytest.param("CHANUNAVAIL", 27, 502, CallResult.CONGESTION, id="502-bad-gateway"),
    pytest.param("BUSY", 17, 600, CallResult.BUSY, id="600-busy-everywhere"),
    pytest.param("CHANUNAVAIL", 1, 604, CallResult.INVALID_NUMBER, id="604-does-not-exist"),
    pytest.param("CHANUNAVAIL", 3, None, CallResult.CONGESTION, id="dead-carrier-qualified-trunk"),
]


@pytest.mark.parametrize(("dial_status", "cause", "sip_code", "expected"), SIP_CARRIER_FACTS)
def test_facts_a_sip_carrier_gives_map_to_the_business_result(
    dial_status: str, cause: int | None, sip_code: int | None, expected: CallResult
) -> None:
    facts = CallFacts(
        originate_reason=4,
        stage="customer",
        dial_status=dial_status,
        hangup_cause=cause,
        sip_code=sip_code,
    )
    assert classify(facts)[0] is expected


# ---- recorded AMI messages (Asterisk 22.10, captured from the dev instance) -------------

CHANVARS = [
    f"DIALER_ATTEMPT={ATTEMPT}",
    "DIALER_STAGE=customer",
    "DIALER_DIALSTATUS=ANSWER",
    "DIALER_CAUSE=",
    "DIALER_ANSWERED_MS=3224",
    f"DIALER_RECORDING=/instances/smoke/spool/monitor/dialer/{ATTEMPT}.wav",
    "DIALER_SIP_CODE=",
]
RESULT_EVENT: dict[str, Any] = {
    "Event": "UserEvent",
    "Channel": "Local/1001@dialer-test-agents-00000000;1",
    "Uniqueid": ATTEMPT,
    "Linkedid": ATTEMPT,
    "ChanVariable": CHANVARS,
    "UserEvent": "DialerResult",
    "AttemptId": ATTEMPT,
    "Stage": "customer",
    "DialStatus": "CHANUNAVAIL",
    "HangupCause": "1",
    "AnsweredTimeMs": "",
    "Recording": "",
    "Digit": "1",
    "ReadStatus": "OK",
    "SipCode": "404",
}
HANGUP_EVENT: dict[str, Any] = {
    "Event": "Hangup",
    "Channel": "Local/1001@dialer-test-agents-00000000;1",
    "Uniqueid": ATTEMPT,
    "Linkedid": ATTEMPT,
    "ChanVariable": CHANVARS,
    "Cause": "16",
}
ORIGINATE_RESPONSE: dict[str, Any] = {
    "Event": "OriginateResponse",
    "ActionID": f"dialer-{ATTEMPT}",
    "Response": "Failure",
    "Channel": "Local/1003@dialer-test-agents",
    "Reason": "3",
    "Uniqueid": ATTEMPT,
    "ChanVariable(Local/1003@dialer-test-agents-00000000;1)": [f"DIALER_ATTEMPT={ATTEMPT}"],
}


def test_the_result_user_event_carries_dialstatus_and_cause() -> None:
    facts = facts_from_result_event(RESULT_EVENT)
    assert facts == CallFacts(
        stage="customer", dial_status="CHANUNAVAIL", hangup_cause=1, digit="1", sip_code=404
    )
    assert classify(facts)[0] is CallResult.INVALID_NUMBER


def test_channel_variables_on_the_hangup_carry_the_outcome() -> None:
    facts = facts_from_channel_variables(HANGUP_EVENT)
    assert facts.dial_status == "ANSWER"
    assert facts.answered_ms == 3224
    assert facts.recording is not None
    assert facts.recording.endswith(f"{ATTEMPT}.wav")


def test_channel_variables_are_read_from_the_originate_response_form_too() -> None:
    assert channel_variables(ORIGINATE_RESPONSE) == {"DIALER_ATTEMPT": ATTEMPT}
    assert originate_reason(ORIGINATE_RESPONSE) == 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1795376372:customer:ANSWER::3224:/x/y.wav", CallResult.ANSWERED),
        ("1795376348:announce::::", CallResult.AGENT_MISSED),
        ("1795376348:customer:BUSY:17::", CallResult.BUSY),
        ("garbage", CallResult.FAILED),
    ],
)
def test_the_astdb_record_recovers_an_outcome(value: str, expected: CallResult) -> None:
    assert classify(facts_from_db_value(value).merged(CallFacts(originate_reason=4)))[0] is expected


# ---- the adapter, fed recorded events (no Asterisk) -------------------------------------


def settings(**changes: Any) -> AmiSettings:
    return AmiSettings(secret="s3cret", **changes)  # noqa: S106 - a test secret


def request(**changes: Any) -> OriginateRequest:
    values: dict[str, Any] = {
        "attempt_id": ATTEMPT,
        "order_id": "A-1",
        "agent": "1001",
        "customer_number": "79990000021",
        "announce_digits": "1042",
        "ring_timeout_s": 20,
        "accept_timeout_s": 5,
    }
    values.update(changes)
    return OriginateRequest(**values)


class Adapter:
    """AmiTelephony with one attempt in flight and its reports collected."""

    def __init__(self) -> None:
        self.reports: list[CallReport] = []
        self.telephony = AmiTelephony(settings(), self.reports.append, clock=lambda: NOW)
        attempt = _Attempt(request(), started_at=NOW, sent=True)
        self.telephony._attempts[ATTEMPT] = attempt

    def replay(self, *events: dict[str, Any]) -> None:
        handlers = {
            "OriginateResponse": self.telephony._on_originate_response,
            "UserEvent": self.telephony._on_user_event,
            "DialEnd": self.telephony._on_dial_end,
            "Hangup": self.telephony._on_hangup,
        }
        for event in events:
            handlers[event["Event"]](event)


def test_a_trace_ending_in_the_agent_hangup_is_reported_once() -> None:
    adapter = Adapter()
    answered = {"Event": "OriginateResponse", **ORIGINATE_RESPONSE, "Reason": "4"}
    dial_end = {"Event": "DialEnd", "Uniqueid": ATTEMPT, "Linkedid": ATTEMPT}
    adapter.replay(answered, {**dial_end, "DialStatus": "ANSWER"}, HANGUP_EVENT, HANGUP_EVENT)

    [report] = adapter.reports
    assert report.result is CallResult.ANSWERED
    assert report.answered_at == NOW
    assert report.recording == f"/instances/smoke/spool/monitor/dialer/{ATTEMPT}.wav"


def test_a_hangup_before_the_originate_response_waits_for_the_reason() -> None:
    adapter = Adapter()
    bare_hangup = {**HANGUP_EVENT, "ChanVariable": [f"DIALER_ATTEMPT={ATTEMPT}"]}
    adapter.replay(bare_hangup)
    assert adapter.reports == []

    adapter.replay(ORIGINATE_RESPONSE)
    [report] = adapter.reports
    assert report.result is CallResult.AGENT_MISSED
    assert report.recording is None


def test_answered_time_comes_from_asterisk_when_the_answer_was_not_seen() -> None:
    adapter = Adapter()
    adapter.replay({**ORIGINATE_RESPONSE, "Reason": "4"}, HANGUP_EVENT)
    [report] = adapter.reports
    assert report.answered_at == NOW - timedelta(milliseconds=3224)


def test_events_of_other_calls_are_ignored() -> None:
    adapter = Adapter()
    other = "0000aaaa-0000-0000-0000-000000000000"
    adapter.replay({**HANGUP_EVENT, "Uniqueid": other, "Linkedid": other})
    assert adapter.reports == []


async def test_the_originate_action_is_async_with_our_ids_and_gated_variables() -> None:
    telephony = AmiTelephony(
        settings(customer_channel="Local/{number}@c/n"), lambda _: None, clock=lambda: NOW
    )
    action = telephony._originate_action(request())
    assert action["Async"] == "true"
    assert action["ActionID"] == f"dialer-{ATTEMPT}"
    assert action["ChannelId"] == ATTEMPT
    assert action["Channel"] == "PJSIP/1001"
    assert "DIALER_CUSTOMER_DIAL=Local/79990000021@c/n" in action["Variable"]
    assert f"__DIALER_ATTEMPT={ATTEMPT}" in action["Variable"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("attempt_id", "ABC;Set(x=1)"),
        ("attempt_id", "abc,def"),
        ("agent", "1001&PJSIP/2"),
        ("customer_number", "7999'1"),
        ("announce_digits", "12,3"),
    ],
)
async def test_the_gate_refuses_request_values_that_could_inject(field: str, value: str) -> None:
    telephony = AmiTelephony(settings(), lambda _: None, clock=lambda: NOW)
    req = request()
    object.__setattr__(req, field, value)  # past the request's own check
    with pytest.raises(InvalidRequest):
        telephony.originate(req)
    assert telephony.pending_attempts() == frozenset()


# ---- settings, backoff, decoding --------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"secret": ""},
        {"customer_channel": "PJSIP/trunk"},
        {"customer_channel": "PJSIP/{number}@trunk,t"},
        {"agent_channel": "PJSIP/{agent}&Local/x"},
        {"ping_interval_s": 15.0, "ping_timeout_s": 10.0},
    ],
)
def test_unsafe_or_unworkable_settings_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(AmiConfigError):
        AmiSettings(**{"secret": "x", **changes})


def test_settings_come_from_the_environment_and_a_secret_file(tmp_path: Any) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-file\n", encoding="utf-8")
    loaded = AmiSettings.from_env(
        {
            "CALLBACK_DIALER_AMI_PORT": "5039",
            "CALLBACK_DIALER_AMI_USER": "dialer2",
            "CALLBACK_DIALER_AMI_SECRET_FILE": str(secret),
        }
    )
    assert (loaded.port, loaded.username, loaded.secret) == (5039, "dialer2", "from-file")
    assert "from-file" not in repr(loaded)


def test_reconnect_backoff_grows_is_capped_and_jittered() -> None:
    config = settings(reconnect_min_s=0.5, reconnect_max_s=30.0)
    rand = random.Random(7)
    delays = [reconnect_delay(n, config, rand) for n in range(1, 12)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(30.0, 0.5 * 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert max(delays) <= 30.0


class _Factory:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def dispatch(self, message: Any) -> None:
        self.events.append(dict(message))


async def test_cyrillic_split_across_two_reads_survives_the_parser() -> None:
    protocol = _Utf8Protocol()
    protocol.connection_made(_NullTransport())
    factory = _Factory()
    protocol.factory = factory
    protocol.encoding = "utf8"
    raw = "Event: UserEvent\r\nUserEvent: Note\r\nText: Заказ №1042\r\n\r\n".encode()
    cut = raw.index("З".encode()) + 1  # inside the two bytes of "З"
    protocol.data_received(raw[:cut])
    protocol.data_received(raw[cut:])
    assert factory.events[0]["Text"] == "Заказ №1042"


class _NullTransport(asyncio.Transport):
    def write(self, data: Any) -> None:
        pass
