"""Outcome and outbox rows written straight through the models, as SqlOrderStore writes them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dialer.storage.models import Campaign, OrderRow, OutboxRow, OutcomeRow


@dataclass(frozen=True)
class OutcomeFields:
    """One outcome as the outbox carries it (defaults: a first unanswered call)."""

    kind: str = "no_answer"
    status: str = "Недозвон"
    problem: str | None = "Не отвечает"
    comment: str = "10.03 - не отвечает-1"
    attempt_no: int = 1
    call_made: bool = True
    callback_at: datetime | None = None

    def payload_json(self, order_id: str, at: datetime) -> str:
        """The outbox payload as SqlOrderStore writes it."""
        callback_at = None if self.callback_at is None else self.callback_at.isoformat()
        payload = {
            "order_id": order_id, "kind": self.kind, "at": at.isoformat(),
            "attempt_no": self.attempt_no, "call_made": self.call_made,
            "problem": self.problem, "comment": self.comment, "attempt_id": None,
            "callback_at": callback_at, "crm_status": self.status,
            "call": "совершался" if self.call_made else "не совершался",
        }  # fmt: skip
        return json.dumps(payload, ensure_ascii=False)


def add_outcome(engine: Engine, order_id: str, at: datetime, **fields: Any) -> int:
    """Adds the order (once), one outcome (``fields``: those of OutcomeFields) and its outbox
    row; returns the outbox row id."""
    fields_ = OutcomeFields(**fields)
    with Session(engine) as session, session.begin():
        if session.get(Campaign, "default") is None:
            session.add(Campaign(name="default", created_at=at, updated_at=at))
        if session.get(OrderRow, order_id) is None:
            session.add(
                OrderRow(
                    id=order_id, campaign="default", phone_raw="+79161234567", name="Иван",
                    product="Мака", created_at=at, crm_status="Ожидает подтверждения",
                    crm_state="Новый", updated_at=at,
                )
            )  # fmt: skip
        session.flush()
        outcome = OutcomeRow(
            order_id=order_id, kind=fields_.kind, crm_status=fields_.status,
            problem=fields_.problem, call_made=fields_.call_made,
            callback_at=fields_.callback_at, comment=fields_.comment, created_at=at,
        )  # fmt: skip
        session.add(outcome)
        session.flush()
        row = OutboxRow(
            outcome_id=outcome.id,
            order_id=order_id,
            idempotency_key=f"{order_id}:{outcome.id}",
            payload_json=fields_.payload_json(order_id, at),
            next_try_at=at,
            created_at=at,
        )
        session.add(row)
        session.flush()
        return row.id


def outbox(engine: Engine) -> list[OutboxRow]:
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))
