"""The reports' reads (issue 19): the history of one range as ``campaigns.reports`` facts.

Only the columns the figures need are read, through the range indexes of migration 0010
(``attempts.started_at``, ``outcomes.created_at``, ``orders.created_at``,
``agent_states(agent_id, at)``). The same statements run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, func, select
from sqlalchemy.orm import Session

from campaigns.reports import (
    NOT_DIALLED,
    AttemptFact,
    History,
    OrderFact,
    OutcomeFact,
    ReportRange,
    StateFact,
)
from dialer.storage.engine import translates_outages
from dialer.storage.models import AgentRow, AgentStateRow, AttemptRow, OrderRow, OutcomeRow
from dialer.storage.types import UTCDateTime


@translates_outages
class SqlReportReads:
    """Reads the history a report needs: ``campaign`` and ``agent`` narrow it when given."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def history(
        self, span: ReportRange, *, campaign: str | None = None, agent: str | None = None
    ) -> History:
        start, end = span.start, span.end
        with Session(self._engine) as session:
            return History(
                attempts=_attempts(session, start, end, campaign, agent),
                outcomes=_outcomes(session, start, end, campaign, agent),
                orders=_orders(session, start, end, campaign),
                states=_states(session, start, end, campaign, agent),
            )

    def agents(self, campaign: str | None = None) -> list[str]:
        """The agents' ids (of ``campaign``), for the report's selector."""
        query = select(AgentRow.id).order_by(AgentRow.id)
        if campaign is not None:
            query = query.where(AgentRow.campaign == campaign)
        with Session(self._engine) as session:
            return list(session.scalars(query))


def _attempts(
    session: Session, start: datetime, end: datetime, campaign: str | None, agent: str | None
) -> list[AttemptFact]:
    a = AttemptRow
    query: Any = select(a.agent, a.started_at, a.result, a.answered_at, a.ended_at).where(
        a.started_at >= start, a.started_at < end
    )
    if campaign is not None:
        query = query.join(OrderRow, OrderRow.id == a.order_id).where(OrderRow.campaign == campaign)
    if agent is not None:
        query = query.where(a.agent == agent)
    return [AttemptFact(*row) for row in session.execute(query)]


def _outcomes(
    session: Session, start: datetime, end: datetime, campaign: str | None, agent: str | None
) -> list[OutcomeFact]:
    o = OutcomeRow
    query: Any = select(o.kind, o.created_at).where(o.created_at >= start, o.created_at < end)
    if campaign is not None:
        query = query.join(OrderRow, OrderRow.id == o.order_id).where(OrderRow.campaign == campaign)
    if agent is not None:  # the outcomes of this agent's calls
        query = query.join(AttemptRow, AttemptRow.id == o.attempt_id).where(
            AttemptRow.agent == agent
        )
    return [OutcomeFact(*row) for row in session.execute(query)]


def _orders(
    session: Session, start: datetime, end: datetime, campaign: str | None
) -> list[OrderFact]:
    earliest = func.min(AttemptRow.started_at, type_=UTCDateTime()).label("first")
    first = (
        select(AttemptRow.order_id, earliest)
        .where(AttemptRow.started_at >= start, AttemptRow.result.is_not(None))
        .where(AttemptRow.result.not_in(sorted(NOT_DIALLED)))
        .group_by(AttemptRow.order_id)
        .subquery()
    )
    query: Any = (
        select(OrderRow.created_at, first.c.first)
        .outerjoin(first, first.c.order_id == OrderRow.id)
        .where(OrderRow.created_at >= start, OrderRow.created_at < end)
    )
    if campaign is not None:
        query = query.where(OrderRow.campaign == campaign)
    rows = session.execute(query)
    return [OrderFact(created, first_at) for created, first_at in rows]


def _states(
    session: Session, start: datetime, end: datetime, campaign: str | None, agent: str | None
) -> list[StateFact]:
    s = AgentStateRow
    latest = func.max(s.at, type_=UTCDateTime()).label("at")
    before = select(s.agent_id, latest).where(s.at < start).group_by(s.agent_id).subquery()
    in_force = select(s.agent_id, s.state, s.at).join(
        before, and_(before.c.agent_id == s.agent_id, before.c.at == s.at)
    )
    inside = select(s.agent_id, s.state, s.at).where(s.at >= start, s.at < end)
    facts = []
    for query in (in_force, inside):
        narrowed = query
        if agent is not None:
            narrowed = narrowed.where(s.agent_id == agent)
        if campaign is not None:
            narrowed = narrowed.where(
                s.agent_id.in_(select(AgentRow.id).where(AgentRow.campaign == campaign))
            )
        facts += [StateFact(*row) for row in session.execute(narrowed)]
    return facts
