"""Seed 001's operator tabs: which tab an unfinished order belongs to, and the counts."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from campaigns.lifecycle import QUICK_TAB_MAX_ATTEMPTS
from campaigns.window import local_date


class Tab(enum.Enum):
    """The tabs, in seed 001's order; the value is the API's key."""

    NEW = "new"
    QUICK = "quick"
    IN_WORK = "in_work"
    NO_ANSWER_TODAY = "no_answer_today"
    NO_ANSWER_YESTERDAY = "no_answer_yesterday"
    NO_ANSWER_DAY_BEFORE = "no_answer_day_before"
    NO_ANSWER_EARLIER = "no_answer_earlier"


TITLES: dict[Tab, str] = {
    Tab.NEW: "Новый",
    Tab.QUICK: "Быстрый перезвон",
    Tab.IN_WORK: "В работе",
    Tab.NO_ANSWER_TODAY: "Недозвон за сегодня",
    Tab.NO_ANSWER_YESTERDAY: "Недозвон за вчера",
    Tab.NO_ANSWER_DAY_BEFORE: "Недозвон за позавчера",
    Tab.NO_ANSWER_EARLIER: "Недозвон (раньше)",
}
_BY_DAYS_AGO = (Tab.NO_ANSWER_TODAY, Tab.NO_ANSWER_YESTERDAY, Tab.NO_ANSWER_DAY_BEFORE)


@dataclass(frozen=True, slots=True)
class QueuedOrder:
    """What the tab of an unfinished order depends on. ``zone`` is its reference zone."""

    customer_attempts: int
    callback_requested: bool
    created_at: datetime
    zone: str


def tab_of(order: QueuedOrder, today: date) -> Tab:
    """The order's tab; ``today`` is the local date in the order's zone.

    A requested callback is В работе; no customer attempt yet is Новый; 1–3 failed calls
    Быстрый перезвон; more are Недозвон by the order's local arrival day against today.
    """
    if order.callback_requested:
        return Tab.IN_WORK
    if order.customer_attempts == 0:
        return Tab.NEW
    if order.customer_attempts <= QUICK_TAB_MAX_ATTEMPTS:
        return Tab.QUICK
    days_ago = (today - local_date(order.created_at, order.zone)).days
    if days_ago < len(_BY_DAYS_AGO):
        return _BY_DAYS_AGO[max(days_ago, 0)]
    return Tab.NO_ANSWER_EARLIER


def tab_counts(orders: Iterable[QueuedOrder], now: datetime) -> dict[str, int]:
    """Every tab's count (zero included), keyed by ``Tab.value``, in seed 001's order."""
    counts = dict.fromkeys((t.value for t in Tab), 0)
    for order in orders:
        counts[tab_of(order, local_date(now, order.zone)).value] += 1
    return counts
