"""Seed 001's operator tabs: one unfinished order's tab and the counts, with time passed in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from campaigns.tabs import QueuedOrder, Tab, tab_counts, tab_of

TODAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def order(
    attempts: int, *, callback: bool = False, days_ago: int = 0, zone: str = "UTC"
) -> QueuedOrder:
    created = NOW - timedelta(days=days_ago, hours=1)
    return QueuedOrder(attempts, callback, created, zone)


@pytest.mark.parametrize(
    ("queued", "tab"),
    [
        (order(0), Tab.NEW),
        (order(0, days_ago=5), Tab.NEW),
        (order(1), Tab.QUICK),
        (order(3, days_ago=1), Tab.QUICK),
        (order(2, callback=True), Tab.IN_WORK),
        (order(0, callback=True), Tab.IN_WORK),
        (order(4), Tab.NO_ANSWER_TODAY),
        (order(9, days_ago=1), Tab.NO_ANSWER_YESTERDAY),
        (order(4, days_ago=2), Tab.NO_ANSWER_DAY_BEFORE),
        (order(4, days_ago=3), Tab.NO_ANSWER_EARLIER),
        (order(5, days_ago=30), Tab.NO_ANSWER_EARLIER),
    ],
)
def test_an_order_falls_in_its_tab(queued: QueuedOrder, tab: Tab) -> None:
    assert tab_of(queued, TODAY) is tab


def test_the_arrival_day_is_the_orders_local_day() -> None:
    # 22:30 UTC on 9 March is already 10 March in Vladivostok (+10): today there.
    late = QueuedOrder(4, False, datetime(2026, 3, 9, 22, 30, tzinfo=UTC), "Asia/Vladivostok")
    assert tab_of(late, date(2026, 3, 10)) is Tab.NO_ANSWER_TODAY
    in_utc = QueuedOrder(4, False, late.created_at, "UTC")
    assert tab_of(in_utc, date(2026, 3, 10)) is Tab.NO_ANSWER_YESTERDAY


def test_counts_use_each_orders_own_today_and_list_every_tab() -> None:
    orders = [order(0), order(0), order(2), order(4), order(4, days_ago=1), order(1, callback=True)]
    # at 23:30 UTC it is already the next day in Moscow: that order's arrival was "yesterday"
    moscow = QueuedOrder(4, False, datetime(2026, 3, 10, 12, 0, tzinfo=UTC), "Europe/Moscow")
    counts = tab_counts([*orders, moscow], datetime(2026, 3, 10, 23, 30, tzinfo=UTC))
    assert list(counts) == [t.value for t in Tab]
    assert counts == {
        "new": 2,
        "quick": 1,
        "in_work": 1,
        "no_answer_today": 1,
        "no_answer_yesterday": 2,
        "no_answer_day_before": 0,
        "no_answer_earlier": 0,
    }
    assert tab_counts([], NOW) == dict.fromkeys((t.value for t in Tab), 0)
