"""The SQL OrderStore: orders, attempts, outcomes and outbox rows in one transaction.

Due orders are selected through the (phase, priority, next_due_at) index and claimed with
a lease (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has one writer), so
several nodes share one queue; an order is inserted with ``ON CONFLICT (id) DO NOTHING``,
so two nodes admitting it at once insert it once. Attempts record the Asterisk ``server``
of the store's node; ``live_attempts`` are that server's only (recovery, the per-server
line cap).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaigns import wording
from campaigns.calls import CallResult
from campaigns.duplicates import NOT_HANDLED
from campaigns.lifecycle import OrderState, Phase, Priority
from campaigns.orders import Order
from campaigns.outcomes import DEFAULT_CRM_MAPPING, CrmFields, Outcome, OutcomeKind, crm_problem
from dialer.dispatch.ports import AttemptRecord, QueueEntry, StoreConflict
from dialer.storage.campaigns import ensure_campaign
from dialer.storage.card_columns import card_fields, card_values
from dialer.storage.engine import retry_locked, translates_outages
from dialer.storage.models import (
    DEFAULT_SERVER,
    AttemptRow,
    OrderRow,
    OutboxRow,
    OutcomeRow,
)
from dialer.storage.types import decode_instants, encode_instants

CLAIMED = "claimed"


@translates_outages
class SqlOrderStore:
    """OrderStore over SQLAlchemy; passes tests/contract/test_order_store.py."""

    def __init__(
        self,
        engine: Engine,
        *,
        campaign: str = "default",
        node: str = "node-1",
        lease: timedelta = timedelta(seconds=60),
        mapping: dict[OutcomeKind, CrmFields] | None = None,
        server: str = DEFAULT_SERVER,
    ) -> None:
        self._engine = engine
        self._server = server
        self._campaign = campaign
        self._node = node
        self._lease = lease
        self._mapping = mapping or DEFAULT_CRM_MAPPING
        self._ensure_campaign()

    def insert(self, entry: QueueEntry, outcomes: Sequence[Outcome] = ()) -> bool:
        def work() -> bool:
            with Session(self._engine) as session, session.begin():
                if not self._insert_if_new(session, entry):
                    return False
                self._add_outcomes(session, outcomes)
                return True

        return retry_locked(work)

    def get(self, order_id: str) -> QueueEntry | None:
        with Session(self._engine) as session:
            row = session.get(OrderRow, order_id)
            return None if row is None else _entry(row)

    def claim_due(self, now: datetime, limit: int) -> list[QueueEntry]:
        return retry_locked(lambda: self._claim(now, limit))

    def save(
        self,
        entry: QueueEntry,
        *,
        attempt: AttemptRecord | None = None,
        outcomes: Sequence[Outcome] = (),
    ) -> None:
        def work() -> None:
            with Session(self._engine) as session, session.begin():
                row = session.get(OrderRow, entry.order.id)
                if row is None:
                    raise KeyError(f"unknown order {entry.order.id!r}")
                _write_state(row, entry.state, _now())
                if attempt is not None:
                    session.merge(_attempt_row(attempt, self._server))
                session.flush()
                self._add_outcomes(session, outcomes)

        try:
            retry_locked(work)
        except IntegrityError as exc:
            raise StoreConflict(
                f"live attempt conflict for order {entry.order.id}: {exc.orig}"
            ) from exc

    def next_due_at(self) -> datetime | None:
        with Session(self._engine) as session:
            query = select(func.min(OrderRow.next_due_at)).where(
                OrderRow.phase == "queued", OrderRow.campaign == self._campaign
            )
            value = session.scalar(query)
            return None if value is None else _aware(value)

    def open_order_with_identity(self, identity: str) -> str | None:
        with Session(self._engine) as session:
            query = (
                select(OrderRow.id)
                .where(OrderRow.identity == identity, OrderRow.phase != "done")
                .order_by(OrderRow.created_at, OrderRow.id)
                .limit(1)
            )
            return session.scalar(query)

    def earlier_order_with_identity(
        self, identity: str, handled_since: datetime | None
    ) -> str | None:
        """Through the identity index: the orders sharing one identity are few."""
        match = OrderRow.phase != "done"
        if handled_since is not None:
            handled = (OrderRow.created_at >= handled_since) & OrderRow.outcome.not_in(
                [kind.value for kind in NOT_HANDLED]
            )
            match = match | handled
        with Session(self._engine) as session:
            query = (
                select(OrderRow.id)
                .where(OrderRow.identity == identity, match)
                .order_by(OrderRow.created_at, OrderRow.id)
                .limit(1)
            )
            return session.scalar(query)

    def live_attempts(self, *, own_campaign: bool = False) -> list[AttemptRecord]:
        """Live attempts on this store's Asterisk server (every campaign's, or this
        store's campaign's only with ``own_campaign``)."""
        with Session(self._engine) as session:
            query = select(AttemptRow).where(
                AttemptRow.ended_at.is_(None), AttemptRow.server == self._server
            )
            if own_campaign:
                query = query.join(OrderRow, OrderRow.id == AttemptRow.order_id).where(
                    OrderRow.campaign == self._campaign
                )
            return [_attempt(r) for r in session.scalars(query)]

    def _claim(self, now: datetime, limit: int) -> list[QueueEntry]:
        with Session(self._engine) as session, session.begin():
            session.execute(
                update(OrderRow)
                .where(OrderRow.phase == CLAIMED, OrderRow.lease_until < now)
                .values(phase="queued", claimed_by=None, lease_until=None)
            )
            claimed: list[OrderRow] = []
            for priority in Priority:
                if len(claimed) >= limit:
                    break
                query = (
                    select(OrderRow)
                    .where(
                        OrderRow.phase == "queued",
                        OrderRow.campaign == self._campaign,  # several in one service
                        OrderRow.priority == int(priority),
                        OrderRow.next_due_at <= now,
                    )
                    .order_by(OrderRow.next_due_at, OrderRow.created_at, OrderRow.id)
                    .limit(limit - len(claimed))
                    .with_for_update(skip_locked=True)
                )
                claimed.extend(session.scalars(query))
            for row in claimed:
                row.phase, row.claimed_by, row.lease_until = CLAIMED, self._node, now + self._lease
            return [_entry(row, phase=Phase.QUEUED) for row in claimed]

    def _insert_if_new(self, session: Session, entry: QueueEntry) -> bool:
        """One ``INSERT … ON CONFLICT (id) DO NOTHING RETURNING id``: of two nodes admitting
        the same order at once, one inserts and the other is told it is known (a look-up
        before the insert let both through, and the second failed on the primary key)."""
        row = self._new_row(entry)
        columns = (column.key for column in inspect(OrderRow).column_attrs)
        values = {key: value for key in columns if (value := getattr(row, key)) is not None}
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(OrderRow)
            .values(values)
            .on_conflict_do_nothing(index_elements=[OrderRow.id])
            .returning(OrderRow.id)
        )
        return session.execute(statement).first() is not None

    def _new_row(self, entry: QueueEntry) -> OrderRow:
        order = entry.order
        row = OrderRow(
            id=order.id,
            campaign=self._campaign,
            phone_raw=order.phone,
            e164=entry.e164,
            name=order.name,
            product=order.product,
            created_at=order.created_at,
            crm_status=order.status,
            crm_state=order.state,
            source=order.source,
            region=order.region,
            city=order.city,
            tz_hint=order.tz,
            country=order.country,
            prepaid=order.prepaid,
            identity=entry.identity,
            version=0,
            **card_values(order),
        )
        _write_state(row, entry.state, _now())
        return row

    def _add_outcomes(self, session: Session, outcomes: Sequence[Outcome]) -> None:
        for outcome in outcomes:
            fields = self._mapping.get(outcome.kind, CrmFields(outcome.kind.value, None))
            row = OutcomeRow(
                order_id=outcome.order_id,
                attempt_id=outcome.attempt_id,
                kind=outcome.kind.value,
                crm_status=fields.status,
                problem=crm_problem(outcome.kind, outcome.problem, fields),
                call_made=outcome.call_made,
                callback_at=outcome.callback_at,
                comment=outcome.comment,
                created_at=outcome.at,
            )
            session.add(row)
            session.flush()
            if not outcome.write_back:
                continue  # the CRM's own result: it has it already (issue 15 §3)
            session.add(
                OutboxRow(
                    outcome_id=row.id,
                    order_id=outcome.order_id,
                    idempotency_key=f"{outcome.order_id}:{row.id}",
                    payload_json=_payload(outcome, fields),
                    next_try_at=outcome.at,
                    created_at=outcome.at,
                )
            )

    def _ensure_campaign(self) -> None:
        def work() -> None:
            with Session(self._engine) as session, session.begin():
                ensure_campaign(session, self._campaign, _now())

        retry_locked(work)


def _write_state(row: OrderRow, state: OrderState, now: datetime) -> None:
    row.zones = ",".join(state.zones)
    row.horizon_start = state.horizon_start
    row.phase = state.phase.value
    row.next_due_at = state.due_at if state.phase is Phase.QUEUED else None
    row.priority = int(state.priority)
    row.customer_attempts = state.customer_attempts
    row.attempt_times = encode_instants(state.attempt_times)
    row.callback_at = state.callback_at
    row.callback_owner = state.callback_owner
    row.agent_misses = state.agent_misses
    row.network_failures = state.network_failures
    row.live_attempt = state.live_attempt
    row.outcome = None if state.outcome is None else state.outcome.value
    row.claimed_by = None
    row.lease_until = None
    row.version = (row.version or 0) + 1
    row.updated_at = now


def entry_of_row(row: OrderRow) -> QueueEntry:
    """The ``QueueEntry`` a row holds (a claimed order reads as queued)."""
    return _entry(row)


def _entry(row: OrderRow, phase: Phase | None = None) -> QueueEntry:
    order = order_of_row(row)
    state = OrderState(
        order_id=row.id,
        zones=tuple(z for z in row.zones.split(",") if z),
        horizon_start=row.horizon_start or row.created_at.date(),
        phase=phase or (Phase.QUEUED if row.phase == CLAIMED else Phase(row.phase)),
        due_at=None if row.next_due_at is None else _aware(row.next_due_at),
        customer_attempts=row.customer_attempts,
        attempt_times=tuple(decode_instants(row.attempt_times)),
        callback_at=None if row.callback_at is None else _aware(row.callback_at),
        agent_misses=row.agent_misses,
        network_failures=row.network_failures,
        live_attempt=row.live_attempt,
        outcome=None if row.outcome is None else OutcomeKind(row.outcome),
        callback_owner=row.callback_owner,
    )
    return QueueEntry(order, row.e164, row.identity, state)


def order_of_row(row: OrderRow) -> Order:
    """The ``Order`` a row holds (the CRM's raw phone, the card's defaults for NULLs)."""
    return Order(
        id=row.id,
        phone=row.phone_raw,
        name=row.name,
        product=row.product,
        created_at=_aware(row.created_at),
        status=row.crm_status,
        state=row.crm_state,
        source=row.source,
        region=row.region,
        city=row.city,
        tz=row.tz_hint,
        country=row.country,
        prepaid=row.prepaid,
        **card_fields(row),
    )


def _attempt_row(a: AttemptRecord, server: str) -> AttemptRow:
    return AttemptRow(
        server=server,
        id=a.id,
        order_id=a.order_id,
        e164=a.e164,
        agent=a.agent,
        number=a.number,
        customer_attempt=bool(a.customer_attempt),
        started_at=a.started_at,
        answered_at=a.answered_at,
        ended_at=a.ended_at,
        result=None if a.result is None else a.result.value,
        detail=a.detail,
        recording=a.recording,
    )


def _attempt(r: AttemptRow) -> AttemptRecord:
    return AttemptRecord(
        id=r.id,
        order_id=r.order_id,
        e164=r.e164,
        agent=r.agent,
        number=r.number or 0,
        started_at=_aware(r.started_at),
        customer_attempt=r.customer_attempt,
        ended_at=None if r.ended_at is None else _aware(r.ended_at),
        result=None if r.result is None else CallResult(r.result),
        detail=r.detail,
        recording=r.recording,
        answered_at=None if r.answered_at is None else _aware(r.answered_at),
    )


def _payload(outcome: Outcome, fields: CrmFields) -> str:
    data = outcome._asdict()
    data["kind"] = outcome.kind.value
    data["at"] = outcome.at.isoformat()
    data["callback_at"] = None if outcome.callback_at is None else outcome.callback_at.isoformat()
    data["crm_status"] = fields.status
    data["problem"] = crm_problem(outcome.kind, outcome.problem, fields)
    data["call"] = wording.call_made(outcome.call_made)
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)
