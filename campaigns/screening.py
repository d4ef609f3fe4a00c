"""Screening before the queue (business-rules §2–§3): which orders are dialled at all."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Verdict(enum.Enum):
    DIAL = "dial"
    INVALID = "invalid"
    SPAM = "spam"
    CONSULT = "consult"
    DO_NOT_CALL = "do_not_call"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class Screening:
    """The verdict on one order, with what the queue needs when it is dialled."""

    verdict: Verdict
    e164: str | None
    zones: tuple[str, ...]
    identity: str
    reason: str | None = None
