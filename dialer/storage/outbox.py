"""The outbox table behind the ``OutboxStore`` port, and the dead-row listing and replay."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Engine, func, select, update
from sqlalchemy.orm import Session

from dialer.delivery.ports import DeadDelivery, PendingDelivery
from dialer.storage.engine import retry_locked, translates_outages
from dialer.storage.models import OutboxRow, TelephonyRow


@translates_outages
class SqlOutboxStore:
    """``OutboxStore`` on the ``outbox`` table; rows are added by ``SqlOrderStore``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def due_heads(self, now: datetime, limit: int) -> list[PendingDelivery]:
        heads = (
            select(OutboxRow.order_id, func.min(OutboxRow.id).label("head"))
            .where(OutboxRow.delivered_at.is_(None))
            .group_by(OutboxRow.order_id)
            .subquery()
        )
        query = (
            select(OutboxRow)
            .join(heads, OutboxRow.id == heads.c.head)
            .where(OutboxRow.dead.is_(False), OutboxRow.next_try_at <= now)
            .order_by(OutboxRow.id)
            .limit(limit)
        )
        with Session(self._engine) as session:
            return [_pending(row) for row in session.scalars(query)]

    def mark_delivered(self, row_id: int, now: datetime, tries: int) -> None:
        self._update(row_id, delivered_at=now, tries=tries, next_try_at=None)

    def mark_failed(self, row_id: int, tries: int, error: str, next_try_at: datetime) -> None:
        self._update(row_id, tries=tries, last_error=error, next_try_at=next_try_at)

    def mark_dead(self, row_id: int, tries: int, error: str) -> None:
        self._update(row_id, tries=tries, last_error=error, dead=True, next_try_at=None)

    def due_now(self, now: datetime) -> int:
        def work() -> int:
            with Session(self._engine) as session, session.begin():
                moved = session.execute(
                    update(OutboxRow)
                    .where(
                        OutboxRow.delivered_at.is_(None),
                        OutboxRow.dead.is_(False),
                        OutboxRow.next_try_at > now,
                    )
                    .values(next_try_at=now)
                )
                return int(getattr(moved, "rowcount", 0) or 0)

        return retry_locked(work)

    def next_due_at(self) -> datetime | None:
        with Session(self._engine) as session:
            query = select(func.min(OutboxRow.next_try_at)).where(
                OutboxRow.delivered_at.is_(None), OutboxRow.dead.is_(False)
            )
            return session.scalar(query)

    def dead_rows(self) -> list[DeadDelivery]:
        return dead_deliveries(self._engine)

    def replay(self, now: datetime, ids: Sequence[int] | None = None) -> list[int]:
        return replay(self._engine, now, ids)

    def _update(self, row_id: int, **values: object) -> None:
        def work() -> None:
            with Session(self._engine) as session, session.begin():
                session.execute(update(OutboxRow).where(OutboxRow.id == row_id).values(values))

        retry_locked(work)


def _pending(row: OutboxRow) -> PendingDelivery:
    tried = row.tries > 0 or row.last_error is not None
    return PendingDelivery(
        row.id, row.order_id, row.idempotency_key, row.payload_json, row.tries,
        row.created_at, tried,
    )  # fmt: skip


def dead_deliveries(engine: Engine) -> list[DeadDelivery]:
    """Dead rows, oldest first, each with how many later rows of its order it holds back."""
    with Session(engine) as session:
        dead = list(session.scalars(select(OutboxRow).where(OutboxRow.dead).order_by(OutboxRow.id)))
        return [_dead(session, row) for row in dead]


def _dead(session: Session, row: OutboxRow) -> DeadDelivery:
    held = session.scalar(
        select(func.count()).where(
            OutboxRow.order_id == row.order_id,
            OutboxRow.id > row.id,
            OutboxRow.delivered_at.is_(None),
        )
    )
    return DeadDelivery(
        id=row.id,
        order_id=row.order_id,
        idempotency_key=row.idempotency_key,
        tries=row.tries,
        created_at=row.created_at,
        last_error=row.last_error,
        held_back=int(held or 0),
        payload_json=row.payload_json,
    )


def replay(engine: Engine, now: datetime, ids: Sequence[int] | None = None) -> list[int]:
    """Makes dead rows (``ids``, or all when None) due at ``now`` with a fresh try count;
    returns the ids replayed. Ids that are not dead are left alone."""
    return replay_dead(engine, OutboxRow, now, ids)


def replay_dead(
    engine: Engine,
    table: type[OutboxRow] | type[TelephonyRow],
    now: datetime,
    ids: Sequence[int] | None,
    *conditions: ColumnElement[bool],
) -> list[int]:
    """The replay of any delivery queue's table (``id``, ``dead``, ``tries``,
    ``next_try_at``): dead rows (``ids``, or all when None; also matching ``conditions``)
    are due at ``now`` with a fresh try count, in one transaction; returns their ids."""

    def work() -> list[int]:
        with Session(engine) as session, session.begin():
            query = select(table.id).where(table.dead, *conditions)
            if ids is not None:
                query = query.where(table.id.in_(ids))
            chosen = list(session.scalars(query.order_by(table.id)))
            if chosen:
                session.execute(
                    update(table)
                    .where(table.id.in_(chosen))
                    .values(dead=False, tries=0, next_try_at=now)
                )
            return chosen

    return retry_locked(work)
