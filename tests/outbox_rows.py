"""Outcome and outbox rows written straight through the models, as SqlOrderStore writes them."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dialer.storage.models import Campaign, OrderRow, OutboxRow, OutcomeRow


def add_outcome(
    engine: Engine,
    order_id: str,
    at: datetime,
    *,
    kind: str = "no_answer",
    status: str = "Недозвон",
    problem: str | None = "Не отвечает",
    comment: str = "10.03 - не отвечает-1",
    attempt_no: int = 1,
    call_made: bool = True,
    callback_at: datetime | None = None,
) -> int:
    """Adds the order (once), one outcome and its outbox row; returns the outbox row id."""
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
            order_id=order_id, kind=kind, crm_status=status, problem=problem,
            call_made=call_made, callback_at=callback_at, comment=comment, created_at=at,
        )  # fmt: skip
        session.add(outcome)
        session.flush()
        row = OutboxRow(
            outcome_id=outcome.id,
            order_id=order_id,
            idempotency_key=f"{order_id}:{outcome.id}",
            payload_json=payload_json(
                order_id,
                at,
                kind=kind,
                status=status,
                problem=problem,
                comment=comment,
                attempt_no=attempt_no,
                call_made=call_made,
                callback_at=callback_at,
            ),
            next_try_at=at,
            created_at=at,
        )
        session.add(row)
        session.flush()
        return row.id


def outbox(engine: Engine) -> list[OutboxRow]:
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def payload_json(
    order_id: str,
    at: datetime,
    *,
    kind: str = "no_answer",
    status: str = "Недозвон",
    problem: str | None = "Не отвечает",
    comment: str = "10.03 - не отвечает-1",
    attempt_no: int = 1,
    call_made: bool = True,
    callback_at: datetime | None = None,
) -> str:
    """An outbox payload as SqlOrderStore writes it."""
    payload = {
        "order_id": order_id, "kind": kind, "at": at.isoformat(), "attempt_no": attempt_no,
        "call_made": call_made, "problem": problem, "comment": comment, "attempt_id": None,
        "callback_at": None if callback_at is None else callback_at.isoformat(),
        "crm_status": status, "call": "совершался" if call_made else "не совершался",
    }  # fmt: skip
    return json.dumps(payload, ensure_ascii=False)
