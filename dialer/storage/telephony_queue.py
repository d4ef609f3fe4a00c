"""The ``telephony_outbox`` table: RetailCRM call events and uploads waiting to be sent
(issue 17 §2). Each node sends the rows it wrote (the calls it made), oldest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from dialer.storage.engine import retry_locked, translates_outages
from dialer.storage.models import OrderRow, TelephonyRow
from dialer.storage.outbox import replay_dead


@dataclass(frozen=True, slots=True)
class TelephonyItem:
    id: int
    attempt_id: str
    kind: str
    payload: str
    tries: int
    created_at: datetime


@translates_outages
class SqlTelephonyQueue:
    """Rows of ``node``: added in the feed's hooks, sent by ``dialer.app.retailcrm_telephony``."""

    def __init__(self, engine: Engine, node: str) -> None:
        self._engine, self._node = engine, node

    def add(self, attempt_id: str, kind: str, payload: str, now: datetime) -> None:
        def work() -> None:
            with Session(self._engine) as session, session.begin():
                session.add(TelephonyRow(node=self._node, attempt_id=attempt_id, kind=kind,
                                         payload_json=payload, next_try_at=now,
                                         created_at=now))  # fmt: skip

        retry_locked(work)

    def due(self, now: datetime, limit: int = 100) -> list[TelephonyItem]:
        query = (
            select(TelephonyRow)
            .where(
                TelephonyRow.node == self._node,
                TelephonyRow.delivered_at.is_(None),
                TelephonyRow.dead.is_(False),
                TelephonyRow.next_try_at <= now,
            )
            .order_by(TelephonyRow.id)
            .limit(limit)
        )
        with Session(self._engine) as session:
            return [
                TelephonyItem(r.id, r.attempt_id, r.kind, r.payload_json, r.tries, r.created_at)
                for r in session.scalars(query)
            ]

    def next_due_at(self) -> datetime | None:
        query = select(func.min(TelephonyRow.next_try_at)).where(
            TelephonyRow.node == self._node,
            TelephonyRow.delivered_at.is_(None),
            TelephonyRow.dead.is_(False),
        )
        with Session(self._engine) as session:
            return session.scalar(query)

    def delivered(self, row_id: int, now: datetime, tries: int) -> None:
        self._update(row_id, delivered_at=now, tries=tries, next_try_at=None)

    def failed(self, row_id: int, tries: int, error: str, next_try_at: datetime) -> None:
        self._update(row_id, tries=tries, last_error=error[:1000], next_try_at=next_try_at)

    def dead(self, row_id: int, tries: int, error: str) -> None:
        self._update(row_id, tries=tries, last_error=error[:1000], dead=True, next_try_at=None)

    def rows(self) -> list[TelephonyRow]:
        """Every row of this node, oldest first (for tests and inspection)."""
        with Session(self._engine) as session:
            query = select(TelephonyRow).where(TelephonyRow.node == self._node)
            return list(session.scalars(query.order_by(TelephonyRow.id)))

    def _update(self, row_id: int, **values: object) -> None:
        def work() -> None:
            with Session(self._engine) as session, session.begin():
                session.execute(
                    update(TelephonyRow).where(TelephonyRow.id == row_id).values(values)
                )

        retry_locked(work)


def orders_by_e164(engine: Engine, campaign: str, e164: str) -> list[tuple[str, str]]:
    """The campaign's orders for the number ``e164``, oldest first, as (id, phase)."""
    query = (
        select(OrderRow.id, OrderRow.phase)
        .where(OrderRow.campaign == campaign, OrderRow.e164 == e164)
        .order_by(OrderRow.created_at, OrderRow.id)
    )
    with Session(engine) as session:
        return [(row.id, row.phase) for row in session.execute(query)]


def unsent_rows(engine: Engine) -> list[TelephonyRow]:
    """Every node's rows not delivered (waiting or dead), oldest first."""
    query = select(TelephonyRow).where(TelephonyRow.delivered_at.is_(None))
    with Session(engine) as session:
        return list(session.scalars(query.order_by(TelephonyRow.id)))


def replay_uploads(engine: Engine, now: datetime, ids: list[int] | None) -> list[int]:
    """Dead upload rows (``ids``, or all when None) are due at ``now`` with a fresh try
    count; returns the ids replayed. Events are never replayed: a late card helps nobody."""
    return replay_dead(engine, TelephonyRow, now, ids, TelephonyRow.kind == "upload")
