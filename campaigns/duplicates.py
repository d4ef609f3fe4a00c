"""Duplicate orders (business-rules §3): same phone, name and product, only the oldest dialled.

A new order duplicates an earlier one with its key that is still open (situation 1 of seed
001, "Дубли") or that was handled within the campaign's ``duplicate_window_days`` before
the new one was created (situation 2: «клиент говорит, что уже оформил заказ» – confirmed,
refused, invalid, final no-answer alike: what was handled is never re-dialled). It ends
«Невалид» with the problem «Дубль» (the manual's status and its own problem, not
«Невалидный номер») and the comment ``дубль к заказу №N``, N the oldest such order.
An order that ended skipped (never-touch status found, ops cancelled) or itself as a
duplicate was not handled: a new order for the same thing is called.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from campaigns import wording
from campaigns.orders import Order
from campaigns.outcomes import OutcomeKind
from campaigns.phones import normalise_phone

DuplicateKey = tuple[str, str, str]
NOT_HANDLED: frozenset[OutcomeKind] = frozenset({OutcomeKind.SKIPPED, OutcomeKind.DUPLICATE})


def handled_since(order: Order, window_days: int) -> datetime | None:
    """The earliest creation time of a handled order that ``order`` duplicates:
    ``window_days`` before ``order`` was created; None for 0 (open orders only)."""
    if window_days <= 0:
        return None
    return order.created_at - timedelta(days=window_days)


def counts_as_handled(outcome: OutcomeKind | None) -> bool:
    """A done order with this outcome was handled (module docstring)."""
    return outcome is not None and outcome not in NOT_HANDLED


def duplicate_key(order: Order) -> DuplicateKey | None:
    """(E.164 phone, normalised name, normalised product); None for an invalid phone,
    which is screened out as "Невалидный номер" before duplicates matter."""
    e164 = normalise_phone(order.phone)
    if e164 is None:
        return None
    return e164, normalise_text(order.name), normalise_text(order.product)


def normalise_text(text: str) -> str:
    """Case-folded, ё → е, whitespace collapsed: "  Иванова  Алёна" == "иванова алена"."""
    return " ".join(text.casefold().replace("ё", "е").split())


def find_duplicates(open_orders: Iterable[Order]) -> dict[str, str]:
    """Map each duplicate's order id to the id of the order that is kept.

    ``open_orders`` are the orders still waiting in the queue. In each group with one key
    the oldest (``created_at``, then id – numerically when both ids are digits) is kept;
    every other order of the group maps to it.
    """
    groups: dict[DuplicateKey, list[Order]] = {}
    for order in open_orders:
        key = duplicate_key(order)
        if key is not None:
            groups.setdefault(key, []).append(order)
    duplicates: dict[str, str] = {}
    for orders in groups.values():
        kept, *others = sorted(orders, key=_age)
        duplicates.update((other.id, kept.id) for other in others)
    return duplicates


def duplicate_comment(original_id: str) -> str:
    """The comment written with the Невалид/"Дубль" outcome (business-rules §3)."""
    return wording.duplicate_of(original_id)


def _age(order: Order) -> tuple[datetime, int, int, str]:
    if order.id.isascii() and order.id.isdigit():
        return order.created_at, 0, int(order.id), ""
    return order.created_at, 1, 0, order.id
