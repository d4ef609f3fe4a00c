"""The outbox's port: where outcomes wait for the CRM, as the outbox worker reads and marks them.

Rows of one order are delivered in ``id`` order (``id`` never reused). The SQL adapter is
``dialer.storage.outbox.SqlOutboxStore``; ``dialer.delivery.memory.MemoryOutboxStore`` is the
fake. Both pass ``tests/contract/test_outbox_store.py``. Outcomes are enqueued by the order
store, in the same transaction as the outcome (``SqlOrderStore.save``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    """An undelivered live row, as the worker tries it."""

    id: int
    order_id: str
    key: str
    payload: str
    tries: int
    created_at: datetime
    tried: bool  # an earlier try (maybe before a replay) may have reached the CRM


@dataclass(frozen=True, slots=True)
class DeadDelivery:
    """A dead outbox row as ``outbox dead`` lists it."""

    id: int
    order_id: str
    idempotency_key: str
    tries: int
    created_at: datetime
    last_error: str | None
    held_back: int
    payload_json: str


class OutboxStore(Protocol):
    """Outcomes waiting for the CRM."""

    def due_heads(self, now: datetime, limit: int) -> list[PendingDelivery]:
        """The first undelivered row of each order, when it is live and due at ``now``;
        in ``id`` order, at most ``limit``."""
        ...

    def mark_delivered(self, row_id: int, now: datetime, tries: int) -> None: ...

    def mark_failed(self, row_id: int, tries: int, error: str, next_try_at: datetime) -> None:
        """A try failed: the row waits until ``next_try_at``."""
        ...

    def mark_dead(self, row_id: int, tries: int, error: str) -> None:
        """The row is not tried again until it is replayed."""
        ...

    def due_now(self, now: datetime) -> int:
        """Every live undelivered row due later is due at ``now`` (tries kept); how many."""
        ...

    def next_due_at(self) -> datetime | None:
        """When the earliest undelivered live row is due."""
        ...

    def dead_rows(self) -> list[DeadDelivery]:
        """Dead rows, oldest first, each with how many later rows of its order it holds back."""
        ...

    def replay(self, now: datetime, ids: Sequence[int] | None = None) -> list[int]:
        """Dead rows (``ids``, or all when None) are due at ``now`` with a fresh try count;
        returns the ids replayed. Ids that are not dead are left alone."""
        ...
