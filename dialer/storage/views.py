"""Read models for ops: order search and history, day statistics, outcome export, metrics."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, aliased

from campaigns.lifecycle import Phase
from campaigns.tabs import QueuedOrder, tab_counts
from dialer.storage.models import (
    AgentRow,
    AttemptRow,
    OrderRow,
    OutboxRow,
    OutcomeRow,
    TelephonyRow,
)

_T = TypeVar("_T")

EXPORT_COLUMNS = (
    "outcome_id",
    "order_id",
    "created_at",
    "kind",
    "crm_status",
    "problem",
    "call_made",
    "callback_at",
    "comment",
    "attempt_id",
    "agent",
    "delivered_at",
)


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """What /metrics reports from the database."""

    calls_by_result: dict[str, int]
    orders_by_phase: dict[str, int]
    agents_by_state: dict[str, int]
    outbox_pending: int
    outbox_dead: int
    outbox_oldest_at: datetime | None
    # RetailCRM telephony rows not sent, by (kind, dead) (issue 17 §2)
    telephony_unsent: dict[tuple[str, bool], int] = field(default_factory=dict)


class OrderViews:
    """Read-only queries over one campaign's orders, attempts and outcomes."""

    def __init__(self, engine: Engine, campaign: str) -> None:
        self._engine = engine
        self._campaign = campaign

    def search(
        self, *, e164: str | None = None, order_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        query = select(OrderRow).where(OrderRow.campaign == self._campaign)
        if e164 is not None:
            query = query.where(OrderRow.e164 == e164)
        if order_id is not None:
            query = query.where(OrderRow.id == order_id)
        query = query.order_by(OrderRow.created_at.desc(), OrderRow.id).limit(limit)
        with Session(self._engine) as session:
            return [_order(row) for row in session.scalars(query)]

    def detail(self, order_id: str) -> dict[str, Any] | None:
        def shape(
            row: OrderRow, attempts: Iterable[AttemptRow], outcomes: Iterable[OutcomeRow]
        ) -> dict[str, Any]:
            return {
                **_order(row),
                "attempts": [_attempt(a) for a in attempts],
                "outcomes": [_outcome(o) for o in outcomes],
            }

        return order_history(self._engine, self._campaign, order_id, shape)

    def day_stats(self, day: date, zone: str) -> dict[str, Any]:
        """Attempts by result, local hour and agent, and outcomes by kind, on ``day``
        in ``zone`` (the campaign's default zone)."""
        tz = ZoneInfo(zone)
        start = datetime.combine(day, time(0), tz).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)
        attempts, outcomes = self._day_rows(start, end)
        by_result = Counter(result or "live" for _, result, _ in attempts)
        by_hour = Counter(f"{_aware(at).astimezone(tz).hour:02d}" for at, _, _ in attempts)
        by_agent = Counter(agent for _, _, agent in attempts)
        by_hour_result: dict[str, Counter[str]] = {}
        for at, result, _ in attempts:
            hour = f"{_aware(at).astimezone(tz).hour:02d}"
            by_hour_result.setdefault(hour, Counter())[result or "live"] += 1
        return {
            "date": day.isoformat(),
            "zone": zone,
            "calls": len(attempts),
            "calls_by_result": dict(sorted(by_result.items())),
            "calls_by_hour": dict(sorted(by_hour.items())),
            "calls_by_agent": dict(sorted(by_agent.items())),
            "calls_by_hour_result": {
                hour: dict(sorted(n.items())) for hour, n in sorted(by_hour_result.items())
            },
            "outcomes_by_kind": {kind: int(n) for kind, n in sorted(outcomes)},
        }

    def _day_rows(
        self, start: datetime, end: datetime
    ) -> tuple[list[tuple[datetime, str | None, str]], list[tuple[str, int]]]:
        """The campaign's attempts (start, result, agent) and outcome counts by kind in
        [start, end)."""
        with Session(self._engine) as session:
            attempts = session.execute(
                select(AttemptRow.started_at, AttemptRow.result, AttemptRow.agent)
                .join(OrderRow, OrderRow.id == AttemptRow.order_id)
                .where(
                    OrderRow.campaign == self._campaign,
                    AttemptRow.started_at >= start,
                    AttemptRow.started_at < end,
                )
            )
            outcomes = session.execute(
                select(OutcomeRow.kind, func.count())
                .join(OrderRow, OrderRow.id == OutcomeRow.order_id)
                .where(
                    OrderRow.campaign == self._campaign,
                    OutcomeRow.created_at >= start,
                    OutcomeRow.created_at < end,
                )
                .group_by(OutcomeRow.kind)
            )
            return (
                [(at, result, agent) for at, result, agent in attempts],
                [(kind, int(n)) for kind, n in outcomes],
            )

    def queue_tabs(self, now: datetime, default_zone: str) -> dict[str, int]:
        """Unfinished orders counted by seed 001's tabs (``campaigns.tabs``) at ``now``."""
        query = select(
            OrderRow.customer_attempts, OrderRow.callback_at, OrderRow.created_at, OrderRow.zones
        ).where(OrderRow.campaign == self._campaign, OrderRow.phase != "done")
        with Session(self._engine) as session:
            rows = session.execute(query).all()
        return tab_counts(
            (
                QueuedOrder(
                    customer_attempts=attempts,
                    callback_requested=callback is not None,
                    created_at=_aware(created),
                    zone=zones.split(",")[0] or default_zone,
                )
                for attempts, callback, created, zones in rows
            ),
            now,
        )

    def live_calls(self) -> list[dict[str, Any]]:
        """Attempts under way (oldest first) with their order's name, product and phone."""
        query = (
            select(AttemptRow, OrderRow.name, OrderRow.product)
            .join(OrderRow, OrderRow.id == AttemptRow.order_id)
            .where(OrderRow.campaign == self._campaign, AttemptRow.ended_at.is_(None))
            .order_by(AttemptRow.started_at, AttemptRow.id)
        )
        with Session(self._engine) as session:
            return [
                {
                    **_attempt(attempt),
                    "order_id": attempt.order_id,
                    "campaign": self._campaign,
                    "answered_at": _iso(attempt.answered_at),
                    "name": name,
                    "product": product,
                }
                for attempt, name, product in session.execute(query)
            ]

    def awaiting_result(self, now: datetime, overdue_after_s: int) -> list[dict[str, Any]]:
        """Answered calls still waiting for their result (oldest first): the order, the
        agent who talked, when the call ended, how long it has waited, and ``overdue`` once
        that is over ``overdue_after_s`` (the dashboard's «нет результата»)."""
        latest = aliased(AttemptRow)
        last = (
            select(latest.id)
            .where(latest.order_id == OrderRow.id)
            .order_by(latest.started_at.desc(), latest.id.desc())
            .limit(1)
            .correlate(OrderRow)
            .scalar_subquery()
        )
        query = (
            select(OrderRow.id, OrderRow.name, OrderRow.product, AttemptRow)
            .join(AttemptRow, AttemptRow.id == last)
            .where(
                OrderRow.campaign == self._campaign,
                OrderRow.phase == Phase.AWAITING_DISPOSITION.value,
            )
        )
        with Session(self._engine) as session:
            rows = [
                _awaiting(
                    order_id,
                    name,
                    product,
                    attempt,
                    now=now,
                    overdue_s=overdue_after_s,
                    campaign=self._campaign,
                )
                for order_id, name, product, attempt in session.execute(query)
            ]
        return sorted(rows, key=lambda row: (-row["waiting_s"], row["order_id"]))

    def owned_callbacks(self, agent: str) -> list[dict[str, Any]]:
        """The agent's own callbacks still to make («Мои перезвоны»), soonest first."""
        query = (
            select(OrderRow)
            .where(
                OrderRow.campaign == self._campaign,
                OrderRow.callback_owner == agent,
                OrderRow.phase.in_((Phase.QUEUED.value, "claimed")),
            )
            .order_by(OrderRow.next_due_at, OrderRow.id)
        )
        with Session(self._engine) as session:
            return [
                {key: value for key, value in _order(row).items() if key in _CALLBACK_KEYS}
                for row in session.scalars(query)
            ]

    def outcomes_csv(self, start: datetime, end: datetime) -> str:
        """Outcomes created in [start, end), oldest first, as CSV with a header line."""
        query = (
            select(OutcomeRow, AttemptRow.agent, OutboxRow.delivered_at)
            .join(OrderRow, OrderRow.id == OutcomeRow.order_id)
            .outerjoin(AttemptRow, AttemptRow.id == OutcomeRow.attempt_id)
            .outerjoin(OutboxRow, OutboxRow.outcome_id == OutcomeRow.id)
            .where(
                OrderRow.campaign == self._campaign,
                OutcomeRow.created_at >= start,
                OutcomeRow.created_at < end,
            )
            .order_by(OutcomeRow.created_at, OutcomeRow.id)
        )
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(EXPORT_COLUMNS)
        with Session(self._engine) as session:
            for outcome, agent, delivered in session.execute(query):
                row = _outcome(outcome)
                writer.writerow(
                    [
                        row["id"],
                        row["order_id"],
                        row["created_at"],
                        row["kind"],
                        row["crm_status"],
                        row["problem"] or "",
                        "yes" if row["call_made"] else "no",
                        row["callback_at"] or "",
                        row["comment"],
                        row["attempt_id"] or "",
                        agent or "",
                        _iso(delivered) or "",
                    ]
                )
        return out.getvalue()

    def metrics(self) -> MetricsSnapshot:
        with Session(self._engine) as session:
            calls = session.execute(
                select(AttemptRow.result, func.count())
                .join(OrderRow, OrderRow.id == AttemptRow.order_id)
                .where(OrderRow.campaign == self._campaign, AttemptRow.result.is_not(None))
                .group_by(AttemptRow.result)
            ).all()
            phases = session.execute(
                select(OrderRow.phase, func.count())
                .where(OrderRow.campaign == self._campaign)
                .group_by(OrderRow.phase)
            ).all()
            agents = session.execute(
                select(AgentRow.state, func.count())
                .where(AgentRow.campaign == self._campaign)
                .group_by(AgentRow.state)
            ).all()
            pending = OutboxRow.delivered_at.is_(None)
            waiting = session.execute(
                select(OutboxRow.dead, func.count(), func.min(OutboxRow.created_at))
                .where(pending)
                .group_by(OutboxRow.dead)
            ).all()
            telephony = session.execute(
                select(TelephonyRow.kind, TelephonyRow.dead, func.count())
                .where(TelephonyRow.delivered_at.is_(None))
                .group_by(TelephonyRow.kind, TelephonyRow.dead)
            ).all()
        live = [w for w in waiting if not w[0]]
        dead = [w for w in waiting if w[0]]
        oldest = [_aware(w[2]) for w in waiting if w[2] is not None]
        return MetricsSnapshot(
            calls_by_result={str(r): int(n) for r, n in calls},
            orders_by_phase={str(p): int(n) for p, n in phases},
            agents_by_state={str(s): int(n) for s, n in agents},
            outbox_pending=int(live[0][1]) if live else 0,
            outbox_dead=int(dead[0][1]) if dead else 0,
            outbox_oldest_at=min(oldest) if oldest else None,
            telephony_unsent={(str(k), bool(d)): int(n) for k, d, n in telephony},
        )


def order_history(
    engine: Engine,
    campaign: str,
    order_id: str,
    shape: Callable[[OrderRow, Iterable[AttemptRow], Iterable[OutcomeRow]], _T],
) -> _T | None:
    """``shape`` of the order with its attempts (oldest first) and outcomes, read in one
    session; None for an order ``campaign`` does not hold."""
    with Session(engine) as session:
        row = session.get(OrderRow, order_id)
        if row is None or row.campaign != campaign:
            return None
        attempts = session.scalars(
            select(AttemptRow)
            .where(AttemptRow.order_id == order_id)
            .order_by(AttemptRow.started_at, AttemptRow.id)
        )
        outcomes = session.scalars(
            select(OutcomeRow).where(OutcomeRow.order_id == order_id).order_by(OutcomeRow.id)
        )
        return shape(row, attempts, outcomes)


_CALLBACK_KEYS = ("id", "name", "product", "e164", "zones", "callback_at", "next_due_at")


def _order(row: OrderRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "campaign": row.campaign,
        "phone": row.phone_raw,
        "e164": row.e164,
        "name": row.name,
        "product": row.product,
        "created_at": _iso(row.created_at),
        "crm_status": row.crm_status,
        "crm_state": row.crm_state,
        "region": row.region,
        "city": row.city,
        "zones": [z for z in row.zones.split(",") if z],
        "horizon_start": (row.horizon_start or row.created_at.date()).isoformat(),
        "phase": "queued" if row.phase == "claimed" else row.phase,
        "priority": row.priority,
        "next_due_at": _iso(row.next_due_at),
        "customer_attempts": row.customer_attempts,
        "callback_at": _iso(row.callback_at),
        "callback_owner": row.callback_owner,
        "live_attempt": row.live_attempt,
        "outcome": row.outcome,
        "updated_at": _iso(row.updated_at),
    }


def _awaiting(
    order_id: str,
    name: str,
    product: str,
    attempt: AttemptRow,
    *,
    now: datetime,
    overdue_s: int,
    campaign: str,
) -> dict[str, Any]:
    since = _aware(attempt.ended_at or attempt.started_at)
    waiting = max(0, int((now - since).total_seconds()))
    return {
        "order_id": order_id,
        "campaign": campaign,
        "name": name,
        "product": product,
        "agent": attempt.agent,
        "attempt": attempt.id,
        "call_ended_at": _iso(attempt.ended_at),
        "waiting_s": waiting,
        "overdue": waiting > overdue_s,
    }


def _attempt(row: AttemptRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "number": row.number,
        "agent": row.agent,
        "e164": row.e164,
        "customer_attempt": row.customer_attempt,
        "started_at": _iso(row.started_at),
        "ended_at": _iso(row.ended_at),
        "result": row.result,
        "detail": row.detail,
        "recording": row.recording,
    }


def _outcome(row: OutcomeRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "order_id": row.order_id,
        "attempt_id": row.attempt_id,
        "kind": row.kind,
        "crm_status": row.crm_status,
        "problem": row.problem,
        "call_made": row.call_made,
        "callback_at": _iso(row.callback_at),
        "comment": row.comment,
        "created_at": _iso(row.created_at),
    }


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else _aware(value).isoformat()
