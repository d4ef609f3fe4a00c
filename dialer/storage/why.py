"""What «почему не звоним?» reads from the database: one order as stored, its latest outcome,
its place among the due orders, and the campaign's pause, agents and lines."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from campaigns.outcomes import OutcomeKind
from campaigns.why import LastOutcome, StoredOrder
from dialer.dispatch.agents import AgentState
from dialer.storage.engine import translates_outages
from dialer.storage.models import AgentRow, AttemptRow, Campaign, OrderRow, OutcomeRow
from dialer.storage.orders import CLAIMED, entry_of_row


@translates_outages
class SqlWhyReads:
    """Read-only queries for one campaign's «почему не звоним?»."""

    def __init__(self, engine: Engine, campaign: str) -> None:
        self._engine = engine
        self._campaign = campaign

    def order(self, order_id: str) -> tuple[StoredOrder, bool] | None:
        """The order as stored and whether a dispatch round holds it now, or None when this
        campaign has no such order."""
        with Session(self._engine) as session:
            row = session.get(OrderRow, order_id)
            if row is None or row.campaign != self._campaign:
                return None
            last = session.scalars(
                select(OutcomeRow)
                .where(OutcomeRow.order_id == order_id)
                .order_by(OutcomeRow.created_at.desc(), OutcomeRow.id.desc())
                .limit(1)
            ).first()
            entry = entry_of_row(row)
            stored = StoredOrder(entry.order, entry.state, None if last is None else _last(last))
            return stored, row.phase == CLAIMED

    def queue_ahead(self, order_id: str, now: datetime) -> int:
        """Due queued orders the dispatcher claims before ``order_id`` (better priority, then
        earlier due, creation, id: the store's claim order)."""
        with Session(self._engine) as session:
            me = session.get(OrderRow, order_id)
            if me is None or me.next_due_at is None:
                return 0
            mine = (me.next_due_at, me.created_at, me.id)
            later = tuple_(OrderRow.next_due_at, OrderRow.created_at, OrderRow.id) < tuple_(*mine)
            query = select(func.count()).where(
                OrderRow.campaign == self._campaign,
                OrderRow.phase == "queued",
                OrderRow.next_due_at <= now,
                OrderRow.id != order_id,
                or_(
                    OrderRow.priority < me.priority,
                    and_(OrderRow.priority == me.priority, later),
                ),
            )
            return int(session.scalar(query) or 0)

    def campaign_pause(self) -> tuple[bool, str | None]:
        with Session(self._engine) as session:
            row = session.get(Campaign, self._campaign)
            return (False, None) if row is None else (row.state == "paused", row.paused_reason)

    def agents(self) -> tuple[int, int]:
        """(signed in, free): agents of the campaign not logged out, and those idle."""
        query = select(AgentRow.state, func.count()).where(AgentRow.campaign == self._campaign)
        with Session(self._engine) as session:
            rows = session.execute(query.group_by(AgentRow.state)).all()
        counts: dict[str, int] = {state: int(n) for state, n in rows}
        signed_in = sum(n for state, n in counts.items() if state != AgentState.LOGGED_OUT.value)
        return signed_in, counts.get(AgentState.IDLE.value, 0)

    def lines_in_use(self) -> int:
        """Calls of this campaign under way (attempts with no end yet)."""
        query = (
            select(func.count())
            .select_from(AttemptRow)
            .join(OrderRow, OrderRow.id == AttemptRow.order_id)
            .where(OrderRow.campaign == self._campaign, AttemptRow.ended_at.is_(None))
        )
        with Session(self._engine) as session:
            return int(session.scalar(query) or 0)


def _last(row: OutcomeRow) -> LastOutcome:
    at = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return LastOutcome(OutcomeKind(row.kind), at, row.problem, row.comment)
