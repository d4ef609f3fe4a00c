"""Test doubles shared across test folders: telephony and journal that only remember."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from campaigns.calls import OriginateRequest
from campaigns.outcomes import Outcome
from dialer.dispatch.ports import AttemptRecord, QueueEntry


@dataclass
class Recorder:
    """Telephony and journal at once: keeps the Originates, dialled order ids and outcomes."""

    originated: list[OriginateRequest] = field(default_factory=list)
    dials: list[str] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    def originate(self, request: OriginateRequest) -> None:
        self.originated.append(request)

    def dial(self, entry: QueueEntry, attempt: AttemptRecord, at: datetime) -> None:
        self.dials.append(entry.order.id)

    def result(self, entry: QueueEntry, attempt: AttemptRecord) -> None:
        pass

    def outcome(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
