"""One order at a time, for the service's housekeeping and for ops beside a running service:
the campaign an order is in, the orders a server left awaiting a disposition (and since when
their calls ended), the queue by
phase, and requeueing a queued order."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from campaigns.lifecycle import Phase
from dialer.storage.engine import retry_locked
from dialer.storage.models import AttemptRow, OrderRow


def campaign_of(engine: Engine, order_id: str) -> str | None:
    """The campaign ``order_id`` belongs to; None for an unknown order."""
    with Session(engine) as session:
        row = session.get(OrderRow, order_id)
        return None if row is None else row.campaign


def awaiting_disposition(engine: Engine, campaign: str, server: str) -> list[str]:
    """Orders of ``campaign`` awaiting a disposition whose last attempt was on ``server``."""
    last_server = (
        select(AttemptRow.server)
        .where(AttemptRow.order_id == OrderRow.id)
        .order_by(AttemptRow.started_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    with Session(engine) as session:
        query = select(OrderRow.id).where(
            OrderRow.campaign == campaign,
            OrderRow.phase == Phase.AWAITING_DISPOSITION.value,
            last_server == server,
        )
        return list(session.scalars(query))


def awaiting_since(engine: Engine, campaign: str) -> dict[str, datetime]:
    """Orders of ``campaign`` awaiting their result, each with when its last call ended
    (issue 15 §3: the CRM is followed from then on)."""
    ended = (
        select(func.coalesce(AttemptRow.ended_at, AttemptRow.started_at))
        .where(AttemptRow.order_id == OrderRow.id)
        .order_by(AttemptRow.started_at.desc(), AttemptRow.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = select(OrderRow.id, ended).where(
        OrderRow.campaign == campaign, OrderRow.phase == Phase.AWAITING_DISPOSITION.value
    )
    with Session(engine) as session:
        return {
            order_id: at if at.tzinfo is not None else at.replace(tzinfo=UTC)
            for order_id, at in session.execute(query)
            if at is not None
        }


def phase_counts(engine: Engine, campaign: str) -> list[tuple[str, str | None, int]]:
    """How many orders of ``campaign`` are in each (phase, outcome)."""
    with Session(engine) as session:
        rows = session.execute(
            select(OrderRow.phase, OrderRow.outcome, func.count())
            .where(OrderRow.campaign == campaign)
            .group_by(OrderRow.phase, OrderRow.outcome)
        ).all()
    return [(phase, outcome, int(n)) for phase, outcome, n in rows]


def requeue_if_queued(engine: Engine, order_id: str, now: datetime) -> tuple[str, str] | None:
    """A queued order becomes due at ``now`` in one guarded write (the row locked); any other
    phase is left alone. Returns the order's (campaign, phase) as found; None when unknown."""

    def work() -> tuple[str, str] | None:
        with Session(engine) as session, session.begin():
            row = session.get(OrderRow, order_id, with_for_update=True)
            if row is None:
                return None
            if row.phase == Phase.QUEUED.value:
                row.next_due_at = now
                row.version = (row.version or 0) + 1
                row.updated_at = now
            return row.campaign, row.phase

    return retry_locked(work)
