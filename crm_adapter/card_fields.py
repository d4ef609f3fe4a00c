"""The order card's optional fields read from CRM data: items, money, dates (issue 15).

Every adapter reads its own shape and hands the values to these checks, so a malformed
value is refused the same way everywhere, with the field named
(``orders[0].items[1].quantity: expected a number above 0``). Money and quantities are
``Decimal``: a JSON number or a numeric string (``"990.00"``, ``"743,10"`` as 1C writes
it); never a float on the way in, so 0.1 + 0.2 stays 0.3 on the card.

What a malformed value costs depends on who can fix it. A push (``POST /intake``) is
answered 400 naming the field, and the CRM resends it corrected. A pull has no one to
answer: there :func:`kept` logs the error naming the field and leaves that one field at its
default, so the order is still admitted and dialled, and the rest of the pull goes on. The
card is for the agent's eyes; it never decides whether or where to call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from campaigns.orders import OrderItem
from crm_adapter.errors import CrmDataError

MAX_ITEMS = 200
MAX_DIGITS = 18
_ISO_DATE = len("YYYY-MM-DD")
Text = Callable[[Any, str], str]
T = TypeVar("T")
NO_ITEMS: tuple[OrderItem, ...] = ()
log = logging.getLogger("crm_adapter.card")


def kept(read: Callable[[], T], default: T, *, strict: bool = False) -> T:
    """``read()``; for a pulled order (not ``strict``) a CrmDataError is logged as a warning
    naming the field and ``default`` is used instead."""
    if strict:
        return read()
    try:
        return read()
    except CrmDataError as exc:
        log.warning("order card field left out: %s", exc)
        return default


def number(value: Any, where: str, *, above_zero: bool = False) -> Decimal:
    """A finite Decimal ≥ 0 (> 0 with ``above_zero``) from a JSON number or numeric text."""
    bound = "above 0" if above_zero else "0 or more"
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise CrmDataError(f"{where}: expected a number {bound}")
    text = str(value).strip().replace(",", ".").replace("\u00a0", "").replace(" ", "")
    try:
        parsed = Decimal(text)
    except InvalidOperation:
        raise CrmDataError(f"{where}: {str(value)[:40]!r} is not a number") from None
    if not parsed.is_finite():
        raise CrmDataError(f"{where}: {str(value)[:40]!r} is not a finite number")
    if len(parsed.as_tuple().digits) > MAX_DIGITS or parsed.adjusted() >= MAX_DIGITS:
        raise CrmDataError(
            f"{where}: {str(value)[:40]!r} is not a number of at most {MAX_DIGITS} digits"
        )
    if parsed < 0 or (above_zero and parsed == 0):
        raise CrmDataError(f"{where}: expected a number {bound}")
    return parsed


def optional_number(value: Any, where: str) -> Decimal | None:
    return None if value in (None, "") else number(value, where)


def calendar_date(value: Any, where: str) -> date | None:
    """``YYYY-MM-DD`` (RetailCRM, ISO); a date-time's date part is accepted too."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise CrmDataError(f"{where}: expected a date YYYY-MM-DD")
    day, rest = value[:_ISO_DATE], value[_ISO_DATE:]
    try:
        if rest and rest[0] not in "T ":
            raise ValueError(value)
        return date.fromisoformat(day)
    except ValueError:
        raise CrmDataError(f"{where}: {value[:40]!r} is not a date YYYY-MM-DD") from None


def date_of(value: Any, where: str) -> date | None:
    """A date column read from a database: a date, a datetime's date, or ISO text."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return calendar_date(value, where)


def items_of(value: Any, where: str, text: Text) -> tuple[OrderItem, ...]:
    """``[{"name", "quantity", "price"}...]``; ``text(value, where)`` checks each name."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise CrmDataError(f"{where}: expected a list of items")
    if len(value) > MAX_ITEMS:
        raise CrmDataError(f"{where}: more than {MAX_ITEMS} items")
    return tuple(_item(entry, f"{where}[{i}]", text) for i, entry in enumerate(value))


def _item(entry: Any, where: str, text: Text) -> OrderItem:
    if not isinstance(entry, dict):
        raise CrmDataError(f"{where}: expected an object with name, quantity, price")
    if entry.get("name") in (None, ""):
        raise CrmDataError(f"{where}.name: required")
    quantity = entry.get("quantity")
    return OrderItem(
        name=text(entry["name"], f"{where}.name"),
        quantity=Decimal(1)
        if quantity is None
        else number(quantity, f"{where}.quantity", above_zero=True),
        price=optional_number(entry.get("price"), f"{where}.price"),
    )


def item_json(item: OrderItem) -> dict[str, Any]:
    """The item as JSON: money and quantity as text, so no digit is lost to a float."""
    price = None if item.price is None else str(item.price)
    return {"name": item.name, "quantity": str(item.quantity), "price": price}
