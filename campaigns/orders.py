"""The order as the dialer sees it: what a CRM supplies, already parsed and typed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Order:
    """One CRM order waiting for confirmation.

    ``created_at`` is timezone-aware UTC. ``phone`` is the CRM's raw text; only the
    validated E.164 form derived from it may ever reach telephony.
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
