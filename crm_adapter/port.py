"""The CRM port: fetch waiting orders, re-read one order's status, write one outcome.

Two optional abilities an adapter may have (checked with ``isinstance``): reading what
changed since a cursor instead of listing every waiting order (``IncrementalIntake``), and
reading many orders' statuses in one request (``BatchStatusReads``); ``read_statuses``
reads a batch through either.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from campaigns.orders import Order
from campaigns.settings import CampaignSettings
from crm_adapter.errors import InvalidOutcomeError, OrderNotFoundError

MAX_PAGE_SIZE = 100
_COMMENT_DATE = re.compile(r"^\s*\d{2}\.\d{2}\s*-\s*")


@dataclass(frozen=True, slots=True)
class IntakeFilter:
    """Which CRM orders wait for confirmation (business-rules §2), and the page size."""

    statuses: tuple[str, ...]
    states: tuple[str, ...]
    excluded_sources: tuple[str, ...] = ()
    page_size: int = MAX_PAGE_SIZE

    def __post_init__(self) -> None:
        if not self.statuses:
            raise ValueError("an intake filter needs at least one status")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}, not {self.page_size}")

    @classmethod
    def for_campaign(
        cls, settings: CampaignSettings, page_size: int = MAX_PAGE_SIZE
    ) -> IntakeFilter:
        return cls(
            statuses=settings.intake_statuses,
            states=settings.intake_states,
            excluded_sources=settings.excluded_sources,
            page_size=page_size,
        )

    def admits(self, order: Order) -> bool:
        """The same filter applied on our side (a CRM may ignore part of it)."""
        if order.status not in self.statuses:
            return False
        if self.states and order.state not in self.states:
            return False
        return order.source is None or order.source not in self.excluded_sources


@dataclass(frozen=True, slots=True)
class CrmOrderStatus:
    """An order's status as the CRM has it now, read right before a dial and, with
    ``disposition_source`` "crm", after an answered call. ``callback_at`` is the CRM's
    callback date-time field (aware UTC) when the adapter maps one."""

    order_id: str
    status: str
    state: str | None = None
    prepaid: bool = False
    source: str | None = None
    callback_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OutcomeDelivery:
    """One outcome as the CRM receives it: the outbox payload plus its idempotency key.

    ``status`` and ``problem`` are already the CRM's values (the configured mapping was
    applied when the outcome was stored). ``retry`` is true when an earlier try may have
    reached the CRM, so an adapter may check its delivered marker first.
    """

    key: str
    order_id: str
    kind: str
    status: str
    problem: str | None
    call_made: bool
    callback_at: datetime | None
    comment: str
    attempt_no: int
    at: datetime
    retry: bool = False

    @classmethod
    def from_payload(cls, key: str, payload_json: str, *, retry: bool = False) -> OutcomeDelivery:
        """Reads an outbox row's ``payload_json`` (as ``SqlOrderStore`` writes it)."""
        try:
            data = json.loads(payload_json)
            callback = data.get("callback_at")
            return cls(
                key=key,
                order_id=str(data["order_id"]),
                kind=str(data["kind"]),
                status=str(data["crm_status"]),
                problem=data.get("problem"),
                call_made=bool(data["call_made"]),
                callback_at=None if callback is None else datetime.fromisoformat(callback),
                comment=str(data.get("comment") or ""),
                attempt_no=int(data.get("attempt_no") or 0),
                at=datetime.fromisoformat(data["at"]),
                retry=retry,
            )
        except (ValueError, KeyError, TypeError) as exc:  # our own row: no retry mends it
            raise InvalidOutcomeError(f"outbox payload of {key!r} is malformed: {exc!r}") from exc

    def as_json(self) -> dict[str, Any]:
        """The outcome as the HTTP JSON adapter posts it (docs/crm.md)."""
        return {
            "event_id": self.key,
            "order_id": self.order_id,
            "outcome": self.kind,
            "status": self.status,
            "problem": self.problem,
            "call": "совершался" if self.call_made else "не совершался",
            "call_made": self.call_made,
            "callback_at": None if self.callback_at is None else self.callback_at.isoformat(),
            "comment": self.comment,
            "attempt_no": self.attempt_no,
            "at": self.at.isoformat(),
        }


def validate_delivery(delivery: OutcomeDelivery) -> None:
    """Refuses what no CRM may receive: a refusal without a problem and a reason (002)."""
    if delivery.kind != "refused":
        return
    if not delivery.problem:
        raise InvalidOutcomeError(f"refusal of order {delivery.order_id}: problem is required")
    if not _COMMENT_DATE.sub("", delivery.comment).strip():
        raise InvalidOutcomeError(
            f"refusal of order {delivery.order_id}: comment must give the reason"
        )


class CrmAdapter(Protocol):
    """One CRM. Every method raises only ``crm_adapter.errors.CrmError`` subclasses."""

    def fetch_waiting(self, intake: IntakeFilter) -> Iterator[Order]:
        """The orders waiting for confirmation, oldest first, fetched page by page."""
        ...

    def read_status(self, order_id: str) -> CrmOrderStatus:
        """The order's current status; ``OrderNotFoundError`` when the CRM lost it."""
        ...

    def write_outcome(self, delivery: OutcomeDelivery) -> bool:
        """Applies the outcome; False when the CRM already had this idempotency key."""
        ...

    def close(self) -> None:
        """Releases connections; the adapter is not used afterwards."""
        ...


@dataclass(frozen=True, slots=True)
class IntakeChanges:
    """What one incremental poll found: every order created or changed by someone else
    since the cursor, as it is now (waiting or not: a status change must reach the
    pre-dial re-check like a push), and the cursor to keep once they were admitted
    (None: keep the one there is)."""

    orders: tuple[Order, ...]
    cursor: str | None
    full: bool = False  # a full listing of the waiting orders (first start, fallback)
    gone: tuple[str, ...] = ()  # orders the CRM deleted: they leave the queue undialled


@runtime_checkable
class IncrementalIntake(Protocol):
    """An adapter that reads changes since a cursor (RetailCRM's ``orders/history``)."""

    @property
    def poll_interval_s(self) -> float:
        """How often to poll: changes are cheap to ask for."""
        ...

    def fetch_changes(self, intake: IntakeFilter, cursor: str | None) -> IntakeChanges | None:
        """The changes since ``cursor`` (None: none kept yet); None when nothing is due."""
        ...


@runtime_checkable
class BatchStatusReads(Protocol):
    """An adapter that reads many orders' statuses in few requests."""

    def read_statuses(self, order_ids: Sequence[str]) -> Mapping[str, CrmOrderStatus]:
        """The statuses of the orders the CRM has; an order it lost is absent."""
        ...


def read_statuses(crm: CrmAdapter, order_ids: Sequence[str]) -> dict[str, CrmOrderStatus]:
    """Many orders' statuses: the adapter's batch read, or one ``read_status`` each (an
    order the CRM lost is absent from the answer; any other error is raised)."""
    if isinstance(crm, BatchStatusReads):
        return dict(crm.read_statuses(order_ids))
    found: dict[str, CrmOrderStatus] = {}
    for order_id in order_ids:
        try:
            found[order_id] = crm.read_status(order_id)
        except OrderNotFoundError:
            continue
    return found
