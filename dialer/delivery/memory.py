"""An in-memory ``OutboxStore``: the fake that passes the same contract as the SQL outbox."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from dialer.delivery.ports import DeadDelivery, PendingDelivery


@dataclass(slots=True)
class _Row:
    id: int
    order_id: str
    key: str
    payload: str
    created_at: datetime
    next_try_at: datetime | None
    tries: int = 0
    delivered_at: datetime | None = None
    dead: bool = False
    last_error: str | None = None


class MemoryOutboxStore:
    """Outbox rows in a list, in ``id`` order."""

    def __init__(self) -> None:
        self._rows: list[_Row] = []

    def add(self, order_id: str, payload: str, at: datetime) -> int:
        """Enqueue one outcome of ``order_id``, due at ``at``; returns its row id."""
        row_id = len(self._rows) + 1
        self._rows.append(_Row(row_id, order_id, f"{order_id}:{row_id}", payload, at, at))
        return row_id

    def due_heads(self, now: datetime, limit: int) -> list[PendingDelivery]:
        heads: dict[str, _Row] = {}
        for row in self._rows:
            if row.delivered_at is None:
                heads.setdefault(row.order_id, row)
        due = [r for r in heads.values() if _live(r) and r.next_try_at and r.next_try_at <= now]
        return [_pending(row) for row in sorted(due, key=lambda r: r.id)[:limit]]

    def mark_delivered(self, row_id: int, now: datetime, tries: int) -> None:
        self._set(row_id, delivered_at=now, tries=tries, next_try_at=None)

    def mark_failed(self, row_id: int, tries: int, error: str, next_try_at: datetime) -> None:
        self._set(row_id, tries=tries, last_error=error, next_try_at=next_try_at)

    def mark_dead(self, row_id: int, tries: int, error: str) -> None:
        self._set(row_id, tries=tries, last_error=error, dead=True, next_try_at=None)

    def due_now(self, now: datetime) -> int:
        waiting = [r for r in self._rows if _live(r) and r.next_try_at and r.next_try_at > now]
        for row in waiting:
            row.next_try_at = now
        return len(waiting)

    def next_due_at(self) -> datetime | None:
        return min((r.next_try_at for r in self._rows if _live(r) and r.next_try_at), default=None)

    def dead_rows(self) -> list[DeadDelivery]:
        return [self._dead(row) for row in self._rows if row.dead]

    def replay(self, now: datetime, ids: Sequence[int] | None = None) -> list[int]:
        chosen = [r for r in self._rows if r.dead and (ids is None or r.id in ids)]
        for row in chosen:
            row.dead, row.tries, row.next_try_at = False, 0, now
        return [row.id for row in chosen]

    def _set(self, row_id: int, **values: object) -> None:
        index = row_id - 1
        self._rows[index] = dataclasses.replace(self._rows[index], **values)  # type: ignore[arg-type]

    def _dead(self, row: _Row) -> DeadDelivery:
        held = sum(
            1 for r in self._rows if r.order_id == row.order_id and r.id > row.id
            and r.delivered_at is None
        )  # fmt: skip
        return DeadDelivery(
            row.id, row.order_id, row.key, row.tries, row.created_at, row.last_error, held,
            row.payload,
        )  # fmt: skip


def _live(row: _Row) -> bool:
    return row.delivered_at is None and not row.dead


def _pending(row: _Row) -> PendingDelivery:
    tried = row.tries > 0 or row.last_error is not None
    return PendingDelivery(
        row.id, row.order_id, row.key, row.payload, row.tries, row.created_at, tried
    )
