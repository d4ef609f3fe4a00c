"""What a call attempt asks of telephony and what comes back, free of any library type."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

_DIGITS = re.compile(r"\+?[0-9]{1,20}")


class CallResult(enum.Enum):
    """How one agent-first attempt ended (business-rules §5)."""

    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    CONGESTION = "congestion"
    INVALID_NUMBER = "invalid_number"
    AGENT_MISSED = "agent_missed"
    FAILED = "failed"


def dialable(text: str) -> str:
    """Return ``text`` if it is digits with an optional leading +, else raise ValueError.

    The single gate for anything built from CRM data that reaches a dial string or a
    channel variable.
    """
    if not _DIGITS.fullmatch(text):
        raise ValueError(f"not dialable (digits and a leading + only): {text!r}")
    return text


@dataclass(frozen=True, slots=True)
class OriginateRequest:
    """Ring ``agent`` first, announce the order, on 1 dial ``customer_number`` and bridge.

    The channel templates are the campaign's (``PJSIP/{agent}``, ``PJSIP/{number}@trunk``);
    None leaves the choice to the telephony adapter's defaults. ``language`` "kk" asks for
    the Kazakh announcement.
    """

    attempt_id: str
    order_id: str
    agent: str
    customer_number: str
    announce_digits: str
    ring_timeout_s: int
    accept_timeout_s: int
    language: str = "ru"
    record: bool = True
    agent_channel_template: str | None = None
    customer_channel_template: str | None = None

    def __post_init__(self) -> None:
        dialable(self.customer_number)
        if self.announce_digits:
            dialable(self.announce_digits)


@dataclass(frozen=True, slots=True)
class CallReport:
    """The end of one attempt as telephony saw it."""

    attempt_id: str
    result: CallResult
    ended_at: datetime
    answered_at: datetime | None = None
    recording: str | None = None
    detail: str = ""
