"""What the supervisors' recording routes read: one attempt's recording with its order and
agent, and an agent's attempts of a day (the campaign's orders only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dialer.storage.engine import translates_outages
from dialer.storage.models import AttemptRow, OrderRow

MAX_DAY_ROWS = 2000


@dataclass(frozen=True, slots=True)
class AttemptRecording:
    """An attempt of the campaign: whose it is and what Asterisk reported as its recording."""

    attempt_id: str
    order_id: str
    agent: str
    recording: str | None
    started_at: datetime
    ended_at: datetime | None


@translates_outages
class SqlRecordings:
    """Attempts of ``campaign`` over SQLAlchemy, read only."""

    def __init__(self, engine: Engine, campaign: str) -> None:
        self._engine, self._campaign = engine, campaign

    def attempt(self, attempt_id: str) -> AttemptRecording | None:
        query = (
            select(AttemptRow)
            .join(OrderRow, OrderRow.id == AttemptRow.order_id)
            .where(AttemptRow.id == attempt_id, OrderRow.campaign == self._campaign)
        )
        with Session(self._engine) as session:
            row = session.scalars(query).first()
            if row is None:
                return None
            return AttemptRecording(row.id, row.order_id, row.agent, row.recording,
                                    _aware(row.started_at), _maybe(row.ended_at))  # fmt: skip

    def agent_day(self, agent: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The agent's attempts started in ``[start, end)``, oldest first."""
        query = (
            select(AttemptRow)
            .join(OrderRow, OrderRow.id == AttemptRow.order_id)
            .where(AttemptRow.agent == agent, OrderRow.campaign == self._campaign)
            .where(AttemptRow.started_at >= start, AttemptRow.started_at < end)
            .order_by(AttemptRow.started_at, AttemptRow.id)
            .limit(MAX_DAY_ROWS)
        )
        with Session(self._engine) as session:
            return [_row(row) for row in session.scalars(query)]


def _row(row: AttemptRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "order_id": row.order_id,
        "e164": row.e164,
        "started_at": _aware(row.started_at).isoformat(),
        "ended_at": None if row.ended_at is None else _aware(row.ended_at).isoformat(),
        "result": row.result,
        "detail": row.detail,
        "recording": row.recording,
    }


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _maybe(value: datetime | None) -> datetime | None:
    return None if value is None else _aware(value)
