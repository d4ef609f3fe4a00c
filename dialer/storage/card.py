"""The order card read model (issue 15): what the agent sees of one order, as JSON data.

It follows the manual's order screen (seed 001): number and date, the customer's local
time now («Время клиента») with the zones and where they came from, name, phone, the extra
phone, items and total, address, delivery date, the customer's comment, the link to the
order in the CRM, the attempt history and the outcomes as written to the CRM.

Where the zones came from is worked out again with the admission's own resolver
(``campaigns.timezones.resolve_order_timezone``, as ``phone-info`` reports ``tz_source``)
from the stored order. The zones shown are the stored ones the dialer dials by; if the
resolver now finds other zones (the numbering table changed since admission), the source
says ``"admission"``: the zones are those fixed when the order came in.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from campaigns.phones import check_phone
from campaigns.timezones import NumberingLookup, resolve_order_timezone
from crm_adapter.card_fields import item_json
from dialer.storage.card_columns import card_fields
from dialer.storage.models import AttemptRow, OrderRow, OutcomeRow
from dialer.storage.orders import order_of_row
from dialer.storage.views import order_history


def order_link(template: str, order_id: str) -> str:
    """``template`` with ``{id}`` replaced by the id percent-encoded as UTF-8
    (``НФ-00123`` → ``%D0%9D%D0%A4-00123``)."""
    return template.replace("{id}", urllib.parse.quote(order_id, safe=""))


class OrderCards:
    """The card of one order of ``campaign``; ``order_url`` is ``[crm] order_url``."""

    def __init__(
        self,
        engine: Engine,
        campaign: str,
        *,
        numbering: NumberingLookup | None = None,
        order_url: str | None = None,
    ) -> None:
        self._engine = engine
        self._campaign = campaign
        self._numbering = numbering
        self._order_url = order_url

    def card(self, order_id: str, now: datetime, *, default_tz: str) -> dict[str, Any] | None:
        """The card at ``now``; None for an order this campaign does not hold."""

        def shape(
            row: OrderRow, attempts: Iterable[AttemptRow], outcomes: Iterable[OutcomeRow]
        ) -> dict[str, Any]:
            return {
                **self._order_part(row, now, default_tz),
                "attempts": [_attempt(a) for a in attempts],
                "outcomes": [_outcome(o) for o in outcomes],
            }

        return order_history(self._engine, self._campaign, order_id, shape)

    def _order_part(self, row: OrderRow, now: datetime, default_tz: str) -> dict[str, Any]:
        card = card_fields(row)
        link = None if self._order_url is None else order_link(self._order_url, row.id)
        return {
            "id": row.id,
            "created_at": _iso(row.created_at),
            "customer_time": self._customer_time(row, now, default_tz),
            "name": row.name,
            "phone": row.e164 or row.phone_raw,
            "extra_phone": card["extra_phone"],
            "product": row.product,
            "items": [item_json(item) for item in card["items"]],
            "total": None if card["total"] is None else str(card["total"]),
            "address": card["address"],
            "region": row.region,
            "city": row.city,
            "delivery_date": None if row.delivery_date is None else row.delivery_date.isoformat(),
            "comment": card["comment"],
            "crm_url": link,
        }

    def _customer_time(self, row: OrderRow, now: datetime, default_tz: str) -> dict[str, Any]:
        """«Время клиента»: the local time now in each candidate zone, westernmost first."""
        order = order_of_row(row)
        found = resolve_order_timezone(
            order, check_phone(order.phone), at=now, default_tz=default_tz,
            numbering=self._numbering,
        )  # fmt: skip
        stored = tuple(z for z in row.zones.split(",") if z)
        zones = stored or found.zones
        source = found.source if set(found.zones) == set(zones) else "admission"
        local = [
            {"zone": zone, "local_time": now.astimezone(ZoneInfo(zone)).isoformat()}
            for zone in zones
        ]
        return {"now": local[0]["local_time"], "zones": local, "source": source}


def _attempt(row: AttemptRow) -> dict[str, Any]:
    return {
        "started_at": _iso(row.started_at),
        "result": row.result,
        "agent": row.agent,
        "customer_attempt": row.customer_attempt,
        "recording": row.recording,
    }


def _outcome(row: OutcomeRow) -> dict[str, Any]:
    return {
        "created_at": _iso(row.created_at),
        "kind": row.kind,
        "crm_status": row.crm_status,
        "problem": row.problem,
        "comment": row.comment,
    }


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).isoformat()
