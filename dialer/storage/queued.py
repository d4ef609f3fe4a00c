"""What the campaign editor's preview reads: one campaign's queued orders (zones, due time)."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from campaigns.preview import QueuedOrder
from dialer.storage.engine import translates_outages
from dialer.storage.models import OrderRow
from dialer.storage.orders import CLAIMED


@translates_outages
class SqlQueuedOrders:
    """Read-only: the queued orders of any campaign, a claimed one counting as queued."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def of_campaign(self, campaign: str) -> list[QueuedOrder]:
        query = (
            select(OrderRow.id, OrderRow.zones, OrderRow.next_due_at)
            .where(OrderRow.campaign == campaign, OrderRow.phase.in_(("queued", CLAIMED)))
            .order_by(OrderRow.next_due_at, OrderRow.id)
        )
        with Session(self._engine) as session:
            rows = session.execute(query).all()
        return [
            QueuedOrder(
                order_id,
                tuple(z for z in zones.split(",") if z),
                None if due is None else due if due.tzinfo else due.replace(tzinfo=UTC),
            )
            for order_id, zones, due in rows
        ]
