"""The order's JSON form (HTTP pull, intake push, 1C): reading it into ``Order`` field by field."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import partial
from typing import Any

from campaigns.orders import Order
from crm_adapter.card_fields import (
    NO_ITEMS,
    calendar_date,
    item_json,
    items_of,
    kept,
    optional_number,
)
from crm_adapter.errors import CrmDataError

log = logging.getLogger("crm_adapter.card")
MAX_ID_LENGTH = 100
MAX_TEXT_LENGTH = 1000
REQUIRED = ("id", "phone", "name", "product", "created_at", "status")
OPTIONAL_TEXT = ("state", "source", "region", "city", "tz", "country")
CARD_TEXT = ("address", "extra_phone", "comment")


def parse_order(data: Any, where: str = "order", *, strict_card: bool = True) -> Order:
    """An ``Order`` from one JSON object; CrmDataError names the field (``orders[2].phone``).

    Texts are kept as the CRM sent them (the phone too: screening validates it). With
    ``strict_card`` false (a pull) a malformed card field is logged and left out instead
    (``card_fields.kept``).
    """
    if not isinstance(data, dict):
        raise CrmDataError(f"{where}: expected a JSON object")
    for name in REQUIRED:
        if data.get(name) in (None, ""):
            raise CrmDataError(f"{where}.{name}: required")
    extra = {name: _optional_text(data, name, where) for name in OPTIONAL_TEXT}
    prepaid = data.get("prepaid", False)
    if not isinstance(prepaid, bool):
        raise CrmDataError(f"{where}.prepaid: expected true or false")
    return Order(
        id=_id(data["id"], f"{where}.id"),
        phone=_text(data, "phone", where),
        name=_text(data, "name", where),
        product=_text(data, "product", where),
        created_at=parse_instant(data["created_at"], f"{where}.created_at"),
        status=_text(data, "status", where),
        state=extra["state"] or "",
        source=extra["source"],
        region=extra["region"],
        city=extra["city"],
        tz=extra["tz"],
        country=extra["country"],
        prepaid=prepaid,
        callback_at=callback_field(data, where, strict=strict_card),
        **card_fields(data, where, strict=strict_card),
    )


def card_fields(data: dict[str, Any], where: str, *, strict: bool = True) -> dict[str, Any]:
    """The order card's optional fields (issue 15), as ``Order`` keyword arguments: absent
    or null gives the default; a malformed one is a CrmDataError naming it (``strict``) or
    is logged and left out."""
    texts = {
        name: kept(partial(_optional_text, data, name, where), None, strict=strict)
        for name in CARD_TEXT
    }
    items = partial(items_of, data.get("items"), f"{where}.items", _checked_text)
    total = partial(optional_number, data.get("total"), f"{where}.total")
    day = partial(calendar_date, data.get("delivery_date"), f"{where}.delivery_date")
    return {
        "items": kept(items, NO_ITEMS, strict=strict),
        "total": kept(total, None, strict=strict),
        "delivery_date": kept(day, None, strict=strict),
        **texts,
    }


def parse_instant(value: Any, where: str) -> datetime:
    """ISO 8601 with a UTC offset (``2026-03-10T12:00:00+03:00``), as aware UTC."""
    if not isinstance(value, str):
        raise CrmDataError(f"{where}: expected an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise CrmDataError(f"{where}: {value[:40]!r} is not ISO 8601") from exc
    if parsed.tzinfo is None:
        raise CrmDataError(f"{where}: {value!r} needs a UTC offset, e.g. +03:00")
    return parsed.astimezone(UTC)


def callback_field(data: dict[str, Any], where: str, *, strict: bool) -> datetime | None:
    """The CRM's callback date-time (``callback_at``). In a push (``strict``) a malformed
    one refuses the push naming it; in a pull or a status read it is logged as a warning
    naming it and read as absent (the order is kept; a result the CRM meant stays
    «нет результата» for ops until the CRM sends it right)."""
    try:
        return optional_instant(data, "callback_at", where)
    except CrmDataError as exc:
        if strict:
            raise
        log.warning("CRM callback field left out: %s", exc)
        return None


def optional_instant(data: dict[str, Any], name: str, where: str) -> datetime | None:
    """An optional ISO 8601 field with a UTC offset (the CRM's ``callback_at``): absent,
    null or "" gives None; anything else must parse, or CrmDataError names the field."""
    value = data.get(name)
    if value in (None, ""):
        return None
    return parse_instant(value, f"{where}.{name}")


def order_json(order: Order) -> dict[str, Any]:
    """The inverse of :func:`parse_order` (used by tests and the docs)."""
    return {
        "id": order.id,
        "phone": order.phone,
        "name": order.name,
        "product": order.product,
        "created_at": order.created_at.isoformat(),
        "status": order.status,
        "state": order.state,
        "source": order.source,
        "region": order.region,
        "city": order.city,
        "tz": order.tz,
        "country": order.country,
        "prepaid": order.prepaid,
        "items": [item_json(item) for item in order.items],
        "total": None if order.total is None else str(order.total),
        "address": order.address,
        "delivery_date": None if order.delivery_date is None else order.delivery_date.isoformat(),
        "extra_phone": order.extra_phone,
        "comment": order.comment,
        "callback_at": None if order.callback_at is None else order.callback_at.isoformat(),
    }


def _id(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise CrmDataError(f"{where}: expected a string or an integer")
    text = str(value).strip()
    if not text or len(text) > MAX_ID_LENGTH or not text.isprintable():
        raise CrmDataError(f"{where}: expected 1..{MAX_ID_LENGTH} printable characters")
    return text


def _text(data: dict[str, Any], name: str, where: str) -> str:
    value = data[name]
    if isinstance(value, int) and not isinstance(value, bool) and name in ("phone", "extra_phone"):
        value = str(value)
    return _checked_text(value, f"{where}.{name}")


def _checked_text(value: Any, where: str) -> str:
    """A string of at most MAX_TEXT_LENGTH characters that UTF-8 can carry; kept as sent
    (control characters and markup too: whoever shows it escapes it)."""
    if not isinstance(value, str):
        raise CrmDataError(f"{where}: expected a string")
    if len(value) > MAX_TEXT_LENGTH:
        raise CrmDataError(f"{where}: longer than {MAX_TEXT_LENGTH} characters")
    if not _encodable(value):
        raise CrmDataError(f"{where}: not valid Unicode (a lone \\udXXX escape)")
    return value


def _encodable(value: str) -> bool:
    """False for a lone surrogate (JSON ``"\\ud800"``), which no database can store."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _optional_text(data: dict[str, Any], name: str, where: str) -> str | None:
    if data.get(name) is None:
        return None
    return _text(data, name, where)
