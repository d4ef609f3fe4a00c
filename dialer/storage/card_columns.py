"""The order card's columns of ``orders`` (issue 15): ``Order`` fields to row values and back.

A row from before migration 0004 has NULLs and loads as an order without a card.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from campaigns.orders import Order, OrderItem
from crm_adapter.card_fields import item_json
from dialer.storage.models import OrderRow


def card_values(order: Order) -> dict[str, Any]:
    """The ``OrderRow`` keyword arguments holding ``order``'s card."""
    items = [item_json(item) for item in order.items]
    return {
        "items_json": json.dumps(items, ensure_ascii=False) if items else None,
        "total": None if order.total is None else str(order.total),
        "address": order.address,
        "delivery_date": order.delivery_date,
        "extra_phone": order.extra_phone,
        "customer_comment": order.comment,
    }


def card_fields(row: OrderRow) -> dict[str, Any]:
    """The ``Order`` keyword arguments read back from ``row`` (defaults for NULLs)."""
    return {
        "items": items_of_row(row.items_json),
        "total": None if row.total is None else Decimal(row.total),
        "address": row.address,
        "delivery_date": row.delivery_date,
        "extra_phone": row.extra_phone,
        "comment": row.customer_comment,
    }


def items_of_row(text: str | None) -> tuple[OrderItem, ...]:
    """The items as stored by ``card_values`` (written by the dialer, so trusted)."""
    if not text:
        return ()
    return tuple(
        OrderItem(
            name=entry["name"],
            quantity=Decimal(entry["quantity"]),
            price=None if entry.get("price") is None else Decimal(entry["price"]),
        )
        for entry in json.loads(text)
    )
