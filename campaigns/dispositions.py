"""The verdict on an answered call: confirmed, a callback time, refused with a reason,
invalid, nobody on the line (no answer) or a consultation."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class DispositionKind(enum.Enum):
    CONFIRMED = "confirmed"
    CALLBACK = "callback"
    REFUSED = "refused"
    INVALID = "invalid"
    NO_ANSWER = "no_answer"  # «Недозвон» from the agent: the line dropped, nobody spoke
    CONSULT = "consult"  # «Консультация» (seed 004)


_NO_REASON = frozenset({DispositionKind.NO_ANSWER, DispositionKind.CONSULT})


@dataclass(frozen=True, slots=True)
class Disposition:
    """The agent's (or the CRM's) verdict on an answered call."""

    kind: DispositionKind
    reason: str | None = None
    callback_at: datetime | None = None
    comment: str = ""
    owner: str | None = None  # «мой перезвон»: the agent who owns the callback

    def __post_init__(self) -> None:
        if self.owner is not None and self.kind is not DispositionKind.CALLBACK:
            raise ValueError("only a callback has an owner («мой перезвон»)")
        if self.kind is DispositionKind.REFUSED and not (self.reason or "").strip():
            raise ValueError("a refusal needs a reason (seed 002)")
        if self.kind in _NO_REASON and self.reason is not None:
            raise ValueError(f"a {self.kind.value} result takes no reason")
        if self.kind is DispositionKind.CALLBACK and self.callback_at is None:
            raise ValueError("a callback needs callback_at")
        if self.callback_at is not None and self.callback_at.tzinfo is None:
            raise ValueError("callback_at must carry a time zone")
