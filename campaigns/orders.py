"""The order as the dialer sees it: what a CRM supplies, already parsed and typed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class OrderItem:
    """One line of the order's goods, as the agent reads it out (seed 001, «Товары»).

    ``quantity`` and ``price`` are ``Decimal``, not float: a price of 743.10 must read back
    as 743.10, and CRMs sell by weight (RetailCRM's ``quantity`` is fractional). ``price``
    is the price of one unit in the CRM's currency; None when the CRM does not say.
    """

    name: str
    quantity: Decimal = Decimal(1)
    price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Order:
    """One CRM order waiting for confirmation.

    ``created_at`` is timezone-aware UTC. ``phone`` is the CRM's raw text; only the
    validated E.164 form derived from it may ever reach telephony.

    The fields after ``prepaid`` are the order card (issue 15): what the agent sees, never
    what the dialer decides or dials with. Every one is optional, so a CRM that supplies
    none of them still works: ``items`` empty, the others None. ``total`` is the CRM's own
    sum (not recomputed from the items: discounts and delivery are the CRM's business).
    ``delivery_date`` is a calendar date, no time zone. ``extra_phone`` is raw text shown
    to the agent and is never dialled; ``comment`` is the customer's, kept as written.

    ``callback_at`` is the CRM's callback date-time field (aware UTC), when the CRM keeps
    one: an agent who works in the CRM's card sets it, and with ``disposition_source`` =
    "crm" the dialer reads it as that agent's «перезвонить» (issue 15 §3).
    """

    id: str
    phone: str
    name: str
    product: str
    created_at: datetime
    status: str = "Ожидает подтверждения"
    state: str = "Новый"
    source: str | None = None
    region: str | None = None
    city: str | None = None
    tz: str | None = None
    country: str | None = None
    prepaid: bool = False
    items: tuple[OrderItem, ...] = ()
    total: Decimal | None = None
    address: str | None = None
    delivery_date: date | None = None
    extra_phone: str | None = None
    comment: str | None = None
    callback_at: datetime | None = None
