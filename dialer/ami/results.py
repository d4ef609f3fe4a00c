"""The one table from telephony facts (Originate reason, DIALSTATUS, hang-up cause) to CallResult.

Pure: no I/O, no library types. The AMI adapter turns AMI messages (as plain header mappings)
into ``CallFacts`` with the parsers below and asks ``classify`` how the attempt ended. The
same goes for device states (``DeviceStateChange``): ``device_change`` and ``DeviceTemplate``
turn them into an agent id and whether the agent's device can take a call.

Precedence (first match wins):
1. Originate reason other than 4: the agent leg never answered (the Originate rings the agent).
2. Dialplan stage ``agent_missed`` / ``announce``: the agent did not accept.
3. DIALSTATUS ANSWER: the customer answered.
4. Hang-up cause 1 or 28: the number does not exist, whatever DIALSTATUS says (a cause-1
   hang-up shows CHANUNAVAIL or NOANSWER depending on where you look); cause 21: the customer
   rejected the call. Asterisk's Dial() reports CHANUNAVAIL for all three (measured with a
   SIP carrier answering 404, 484 and 603: tests/integration/test_sip_carrier.py), so here
   the cause says more than DIALSTATUS.
6. DIALSTATUS, then the hang-up cause alone (when only a Hangup event was seen).
7. Nothing known: FAILED.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from campaigns.calls import CallResult

Headers = Mapping[str, "str | list[str]"]


class Fact(enum.Enum):
    """Where a fact comes from."""

    ORIGINATE_REASON = "OriginateResponse Reason (agent leg)"
    STAGE = "dialplan stage (agent leg)"
    DIAL_STATUS = "DIALSTATUS (customer leg)"
    HANGUP_CAUSE = "hang-up cause (customer leg)"
    SIP_RESPONSE = "SIP response of the carrier (customer leg)"


@dataclass(frozen=True, slots=True)
class Row:
    fact: Fact
    value: str
    result: CallResult
    why: str


R = CallResult
TABLE: tuple[Row, ...] = (
    # The Originate goes to the agent: every failure of that leg is the agent's.
    Row(Fact.ORIGINATE_REASON, "0", R.FAILED, "failure (no such channel, ChannelId in use)"),
    Row(Fact.ORIGINATE_REASON, "1", R.AGENT_MISSED, "agent leg hung up before answering"),
    Row(Fact.ORIGINATE_REASON, "2", R.AGENT_MISSED, "agent leg still ringing at the timeout"),
    Row(Fact.ORIGINATE_REASON, "3", R.AGENT_MISSED, "agent did not answer or is unreachable"),
    Row(Fact.ORIGINATE_REASON, "5", R.AGENT_MISSED, "agent busy"),
    Row(Fact.ORIGINATE_REASON, "8", R.AGENT_MISSED, "agent leg congested (endpoint down)"),
    Row(Fact.STAGE, "agent_missed", R.AGENT_MISSED, "agent pressed another digit or nothing"),
    Row(Fact.STAGE, "announce", R.AGENT_MISSED, "agent hung up during the announcement"),
    Row(Fact.SIP_RESPONSE, "403", R.CONGESTION, "carrier refused the call (SIP 403 Forbidden)"),
    Row(Fact.DIAL_STATUS, "ANSWER", R.ANSWERED, "customer answered"),
    Row(Fact.DIAL_STATUS, "NOANSWER", R.NO_ANSWER, "customer rang out"),
    Row(Fact.DIAL_STATUS, "BUSY", R.BUSY, "customer busy"),
    Row(Fact.DIAL_STATUS, "CONGESTION", R.CONGESTION, "network congestion"),
    Row(Fact.DIAL_STATUS, "CHANUNAVAIL", R.CONGESTION, "trunk/channel unavailable"),
    Row(Fact.DIAL_STATUS, "CANCEL", R.AGENT_MISSED, "agent hung up while the customer rang"),
    Row(Fact.DIAL_STATUS, "DONTCALL", R.BUSY, "customer refused (privacy), like a rejection"),
    Row(Fact.DIAL_STATUS, "TORTURE", R.BUSY, "customer refused (privacy), like a rejection"),
    Row(Fact.DIAL_STATUS, "INVALIDARGS", R.FAILED, "bad dial string: configuration error"),
    Row(Fact.HANGUP_CAUSE, "1", R.INVALID_NUMBER, "unallocated number"),
    Row(Fact.HANGUP_CAUSE, "28", R.INVALID_NUMBER, "invalid number format"),
    Row(Fact.HANGUP_CAUSE, "16", R.NO_ANSWER, "normal clearing before any answer"),
    Row(Fact.HANGUP_CAUSE, "17", R.BUSY, "user busy"),
    Row(Fact.HANGUP_CAUSE, "18", R.NO_ANSWER, "no user responding"),
    Row(Fact.HANGUP_CAUSE, "19", R.NO_ANSWER, "no answer"),
    Row(Fact.HANGUP_CAUSE, "20", R.NO_ANSWER, "subscriber absent (phone off)"),
    Row(Fact.HANGUP_CAUSE, "21", R.BUSY, "call rejected (SIP 603): counted as busy (сброс)"),
    Row(Fact.HANGUP_CAUSE, "27", R.NO_ANSWER, "destination out of order"),
    Row(Fact.HANGUP_CAUSE, "34", R.CONGESTION, "no circuit available"),
    Row(Fact.HANGUP_CAUSE, "38", R.CONGESTION, "network out of order"),
    Row(Fact.HANGUP_CAUSE, "41", R.CONGESTION, "temporary failure"),
    Row(Fact.HANGUP_CAUSE, "42", R.CONGESTION, "switching equipment congestion"),
    Row(Fact.HANGUP_CAUSE, "44", R.CONGESTION, "requested channel not available"),
    Row(Fact.HANGUP_CAUSE, "47", R.CONGESTION, "resource unavailable"),
)
del R

_LOOKUP: Mapping[tuple[Fact, str], Row] = MappingProxyType({(r.fact, r.value): r for r in TABLE})
# SIP responses that decide before the cause (rule 4 above).
_SIP_BEFORE_CAUSE = frozenset({403})
# Causes that decide before DIALSTATUS (rule 5 above): Asterisk lumps them into CHANUNAVAIL.
_CAUSES_BEFORE_STATUS = frozenset({1, 21, 28})
ANSWERED_REASON = 4


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What is known about one attempt; None means not seen."""

    originate_reason: int | None = None
    stage: str | None = None
    dial_status: str | None = None
    hangup_cause: int | None = None
    answered_ms: int | None = None
    recording: str | None = None
    digit: str | None = None
    sip_code: int | None = None  # the far end's final SIP response on the customer leg

    def merged(self, newer: CallFacts) -> CallFacts:
        """These facts updated with every fact ``newer`` knows."""
        changes = {
            name: getattr(newer, name)
            for name in self.__slots__
            if getattr(newer, name) is not None
        }
        return replace(self, **changes)

    @property
    def known(self) -> bool:
        return self.originate_reason is not None or self.stage is not None


def lookup(fact: Fact, value: str) -> Row | None:
    return _LOOKUP.get((fact, value))


def classify(facts: CallFacts) -> tuple[CallResult, str]:
    """How the attempt ended, and why, in the order given in the module docstring."""
    row = _decisive_row(facts)
    if row is None:
        return CallResult.FAILED, f"no decisive telephony fact ({_describe(facts)})"
    return row.result, f"{row.why} ({_describe(facts)})"


def _decisive_row(facts: CallFacts) -> Row | None:
    reason = facts.originate_reason
    if reason is not None and reason != ANSWERED_REASON:
        return lookup(Fact.ORIGINATE_REASON, str(reason)) or lookup(Fact.ORIGINATE_REASON, "0")
    stage_row = lookup(Fact.STAGE, facts.stage or "")
    if stage_row is not None:
        return stage_row
    if facts.dial_status == "ANSWER":
        return lookup(Fact.DIAL_STATUS, "ANSWER")
    early_row = _before_status_row(facts)
    if early_row is not None:
        return early_row
    status_row = lookup(Fact.DIAL_STATUS, facts.dial_status or "")
    if status_row is not None:
        return status_row
    return lookup(Fact.HANGUP_CAUSE, str(facts.hangup_cause))


def _before_status_row(facts: CallFacts) -> Row | None:
    """Rules 4 and 5: the facts that decide before DIALSTATUS."""
    if facts.sip_code in _SIP_BEFORE_CAUSE:
        return lookup(Fact.SIP_RESPONSE, str(facts.sip_code))
    if facts.hangup_cause in _CAUSES_BEFORE_STATUS:
        return lookup(Fact.HANGUP_CAUSE, str(facts.hangup_cause))
    return None


def _describe(facts: CallFacts) -> str:
    parts = (
        ("reason", facts.originate_reason),
        ("stage", facts.stage),
        ("dialstatus", facts.dial_status),
        ("cause", facts.hangup_cause),
        ("sip", facts.sip_code),
        ("digit", facts.digit),
    )
    return " ".join(f"{name}={value}" for name, value in parts if value is not None) or "-"


# ---- parsers: AMI headers (plain mappings) -> facts -------------------------------------


def header(headers: Headers, name: str) -> str:
    """A single header value ('' when absent; the first when repeated)."""
    value = headers.get(name, "")
    if isinstance(value, list):
        return value[0] if value else ""
    return value


def channel_variables(headers: Headers) -> dict[str, str]:
    """The ``channelvars`` of the event's own channel (``ChanVariable`` headers)."""
    found: dict[str, str] = {}
    for key, value in headers.items():
        if key != "ChanVariable" and not key.startswith("ChanVariable("):
            continue
        for item in value if isinstance(value, list) else [value]:
            name, _, text = item.partition("=")
            found[name] = text
    return found


_SMALL_INT = re.compile(r"[0-9]{1,18}")


def _int_or_none(text: str) -> int | None:
    """ASCII digits as an int; anything else (``²``, ``١``, a 5000-digit run) is not a fact."""
    return int(text) if _SMALL_INT.fullmatch(text) else None


def _text_or_none(text: str) -> str | None:
    return text or None


def facts_from_result_event(headers: Headers) -> CallFacts:
    """Facts from the dialplan's ``UserEvent(DialerResult, ...)``."""
    return CallFacts(
        stage=_text_or_none(header(headers, "Stage")),
        dial_status=_text_or_none(header(headers, "DialStatus")),
        hangup_cause=_int_or_none(header(headers, "HangupCause")),
        answered_ms=_int_or_none(header(headers, "AnsweredTimeMs")),
        recording=_text_or_none(header(headers, "Recording")),
        digit=_text_or_none(header(headers, "Digit")),
        sip_code=_int_or_none(header(headers, "SipCode")),
    )


def facts_from_channel_variables(headers: Headers) -> CallFacts:
    """Facts from the DIALER_* channel variables of the agent leg.

    Final only on the agent leg's Hangup event (while the call lives the stage moves on).
    """
    found = channel_variables(headers)
    return CallFacts(
        stage=_text_or_none(found.get("DIALER_STAGE", "")),
        dial_status=_text_or_none(found.get("DIALER_DIALSTATUS", "")),
        hangup_cause=_int_or_none(found.get("DIALER_CAUSE", "")),
        answered_ms=_int_or_none(found.get("DIALER_ANSWERED_MS", "")),
        recording=_text_or_none(found.get("DIALER_RECORDING", "")),
        sip_code=_int_or_none(found.get("DIALER_SIP_CODE", "")),
    )


def facts_from_db_value(value: str) -> CallFacts:
    """Facts the dialplan stored in AstDB: ``epoch:stage:dialstatus:cause:answered_ms:path``."""
    parts = value.split(":", 5)
    if len(parts) != 6:  # noqa: PLR2004 - the dialplan's format has six fields
        return CallFacts()
    _, stage, status, cause, answered_ms, recording = parts
    return CallFacts(
        stage=_text_or_none(stage),
        dial_status=_text_or_none(status),
        hangup_cause=_int_or_none(cause),
        answered_ms=_int_or_none(answered_ms),
        recording=_text_or_none(recording),
    )


def originate_reason(headers: Headers) -> int | None:
    """The ``Reason`` of an OriginateResponse event."""
    return _int_or_none(header(headers, "Reason"))


# ---- device states: AMI DeviceStateChange -> agent reachability --------------------------


class DeviceStatus(enum.Enum):
    """Asterisk's device states as AMI spells them."""

    UNKNOWN = "UNKNOWN"
    NOT_INUSE = "NOT_INUSE"
    INUSE = "INUSE"
    BUSY = "BUSY"
    INVALID = "INVALID"
    UNAVAILABLE = "UNAVAILABLE"
    RINGING = "RINGING"
    RINGINUSE = "RINGINUSE"
    ONHOLD = "ONHOLD"

    @property
    def reachable(self) -> bool | None:
        """False: the device cannot ring (unregistered, no such endpoint); True: it can;
        None: Asterisk does not know (no conclusion to draw)."""
        if self is DeviceStatus.UNKNOWN:
            return None
        return self not in (DeviceStatus.UNAVAILABLE, DeviceStatus.INVALID)


@dataclass(frozen=True, slots=True)
class DeviceChange:
    """One device's new state, e.g. ``PJSIP/101`` UNAVAILABLE."""

    device: str
    status: DeviceStatus


def device_change(headers: Headers) -> DeviceChange | None:
    """A ``DeviceStateChange`` event (also an item of a ``DeviceStateList`` reply); None for
    any other message. A state this code does not know counts as UNKNOWN."""
    if header(headers, "Event") != "DeviceStateChange" or not header(headers, "Device"):
        return None
    try:
        status = DeviceStatus(header(headers, "State"))
    except ValueError:
        status = DeviceStatus.UNKNOWN
    return DeviceChange(header(headers, "Device"), status)


_AGENT_ID = "[A-Za-z0-9_.-]{1,64}"


class DeviceTemplate:
    """Finds the agent id in a device name by a template with ``{agent}`` once, e.g. the
    campaign's ``PJSIP/{agent}`` or ``Custom:agent{agent}``."""

    def __init__(self, template: str) -> None:
        before, found, after = template.partition("{agent}")
        if not found or "{agent}" in after:
            raise ValueError(f"device template must contain {{agent}} once: {template!r}")
        self.template = template
        self._pattern = re.compile(f"{re.escape(before)}({_AGENT_ID}){re.escape(after)}")

    def agent(self, device: str) -> str | None:
        match = self._pattern.fullmatch(device)
        return match.group(1) if match else None
