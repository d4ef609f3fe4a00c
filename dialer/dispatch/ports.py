"""The dialer's ports: small protocols with a real adapter and an in-memory fake each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NamedTuple, Protocol

from campaigns.calls import CallReport, CallResult, OriginateRequest
from campaigns.lifecycle import OrderState
from campaigns.orders import Order
from campaigns.outcomes import Outcome

ReportSink = Callable[[CallReport], None]


class StoreConflict(Exception):
    """A write would break an invariant (a second live attempt for an order or number)."""


class Telephony(Protocol):
    """Places agent-first calls. ``originate`` returns at once; the end of the call is
    reported later, exactly once per request, to the sink given at construction."""

    def originate(self, request: OriginateRequest) -> None: ...


class QueueEntry(NamedTuple):
    """An order in the dialer: the CRM's data, its validated number and its state."""

    order: Order
    e164: str | None
    identity: str
    state: OrderState


class AttemptRecord(NamedTuple):
    """One agent-first call. ``id`` is also the Asterisk ChannelId."""

    id: str
    order_id: str
    e164: str
    agent: str
    number: int
    started_at: datetime
    customer_attempt: bool | None = None
    ended_at: datetime | None = None
    result: CallResult | None = None
    detail: str = ""
    recording: str | None = None
    answered_at: datetime | None = None  # when the customer answered (talk time starts)


class OrderStore(Protocol):
    """Orders, attempts and outcomes. Every ``insert``/``save`` is one transaction: the
    order's state, the attempt and the outcomes (with their outbox rows) land together."""

    def insert(self, entry: QueueEntry, outcomes: Sequence[Outcome] = ()) -> bool:
        """Add a new order; False (and nothing written) if its id is already known."""
        ...

    def get(self, order_id: str) -> QueueEntry | None: ...

    def claim_due(self, now: datetime, limit: int) -> list[QueueEntry]:
        """Queued orders due at ``now``, best priority then earliest due first, claimed so
        no other claimer gets them until they are saved (or their lease expires)."""
        ...

    def save(
        self,
        entry: QueueEntry,
        *,
        attempt: AttemptRecord | None = None,
        outcomes: Sequence[Outcome] = (),
    ) -> None: ...

    def next_due_at(self) -> datetime | None:
        """The earliest due time among queued, unclaimed orders."""
        ...

    def open_order_with_identity(self, identity: str) -> str | None:
        """The id of the oldest not-done order with this phone+name+product identity."""
        ...

    def earlier_order_with_identity(
        self, identity: str, handled_since: datetime | None
    ) -> str | None:
        """The id of the oldest order with this identity (by creation, then id) that is
        not done, or, when ``handled_since`` is given, was created at or after it and is
        done as handled (campaigns.duplicates.counts_as_handled)."""
        ...

    def live_attempts(self) -> list[AttemptRecord]:
        """Attempts with no end yet (for recovery after a restart)."""
        ...


class Journal(Protocol):
    """What the dispatcher did, as data: the simulator prints it, the service logs it."""

    def dial(self, entry: QueueEntry, attempt: AttemptRecord, at: datetime) -> None: ...

    def result(self, entry: QueueEntry, attempt: AttemptRecord) -> None: ...

    def outcome(self, outcome: Outcome) -> None: ...
