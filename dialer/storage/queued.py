"""One campaign's queued orders as a settings change sees them: read for the editor's
preview, and brought forward when a wider window is saved (``campaigns.preview``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from campaigns.preview import QueuedOrder
from dialer.storage.engine import retry_locked, translates_outages
from dialer.storage.models import OrderRow
from dialer.storage.orders import CLAIMED
from dialer.storage.types import decode_instants


@translates_outages
class SqlQueuedOrders:
    """The queued orders of any campaign (a claimed one counting as queued when read)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def of_campaign(self, campaign: str) -> list[QueuedOrder]:
        query = (
            select(OrderRow)
            .where(OrderRow.campaign == campaign, OrderRow.phase.in_(("queued", CLAIMED)))
            .order_by(OrderRow.next_due_at, OrderRow.id)
        )
        with Session(self._engine) as session:
            return [_queued(row) for row in session.scalars(query)]

    def bring_forward(
        self,
        campaign: str,
        now: datetime,
        due_of: Callable[[QueuedOrder], datetime | None],
    ) -> int:
        """Each of ``campaign``'s queued orders due after ``now`` (not claimed) for which
        ``due_of`` gives a new due time gets it; returns how many. A row that changed
        meanwhile (claimed, called, saved by a node) is left as it is."""

        def work() -> int:
            moved = 0
            with Session(self._engine) as session, session.begin():
                rows = session.scalars(
                    select(OrderRow).where(
                        OrderRow.campaign == campaign,
                        OrderRow.phase == "queued",
                        OrderRow.next_due_at > now,
                    )
                ).all()
                for row in rows:
                    at = due_of(_queued(row))
                    if at is None:
                        continue
                    done = session.execute(
                        update(OrderRow)
                        .where(
                            OrderRow.id == row.id,
                            OrderRow.version == row.version,
                            OrderRow.phase == "queued",
                        )
                        .values(next_due_at=at, version=row.version + 1, updated_at=now)
                        .execution_options(synchronize_session=False)
                    )
                    moved += done.rowcount  # type: ignore[attr-defined]
            return moved

        return retry_locked(work)


def _queued(row: OrderRow) -> QueuedOrder:
    return QueuedOrder(
        row.id,
        tuple(z for z in row.zones.split(",") if z),
        _aware(row.next_due_at),
        attempt_times=tuple(decode_instants(row.attempt_times)),
        callback=row.callback_at is not None,
        horizon_start=row.horizon_start,
    )


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
