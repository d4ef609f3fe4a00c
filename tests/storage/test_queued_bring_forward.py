"""Issue 21: a wider window brings forward, in the database, the queued orders that were
waiting for the old window's opening (``SqlQueuedOrders.bring_forward`` with
``campaigns.preview.reopened_due``); other orders, other campaigns and claimed orders keep
their times. Tuesday 2026-03-10 06:30 UTC is 09:30 in Moscow; the old window opens at 10:00
(07:00 UTC)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Engine

from campaigns.lifecycle import OrderState
from campaigns.preview import reopened_due
from campaigns.settings import CampaignSettings
from crm_adapter.port import Order
from dialer.dispatch.ports import QueueEntry
from dialer.storage.orders import SqlOrderStore
from dialer.storage.queued import SqlQueuedOrders

NOW = datetime(2026, 3, 10, 6, 30, tzinfo=UTC)
OPENING = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)  # 10:00 in Moscow
OLD = CampaignSettings(name="Магазин")
WIDER = dataclasses.replace(OLD, window=dataclasses.replace(OLD.window, start=time(9, 0)))


def entry(order_id: str, due: datetime, *, callback: bool = False) -> QueueEntry:
    order = Order(id=order_id, phone="+79161234567", name="Иван", product="Мака",
                  created_at=NOW - timedelta(hours=12))  # fmt: skip
    state = OrderState(order_id=order_id, zones=("Europe/Moscow",),
                       horizon_start=NOW.date(), due_at=due,
                       callback_at=due if callback else None)  # fmt: skip
    return QueueEntry(order, "+79161234567", f"id-{order_id}", state)


def test_rule_only_orders_waiting_for_the_old_opening_move_and_only_once(engine: Engine) -> None:
    shop, other = SqlOrderStore(engine, campaign="Магазин"), SqlOrderStore(engine, campaign="опт")
    shop.insert(entry("НФ-00123", OPENING))  # waits for the opening: moves to now
    shop.insert(entry("НФ-00124", OPENING, callback=True))  # the customer's 10:00: kept
    shop.insert(entry("НФ-00125", OPENING + timedelta(minutes=5)))  # its own time: kept
    shop.insert(entry("НФ-00126", OPENING))
    claimed = {e.order.id for e in shop.claim_due(OPENING + timedelta(minutes=10), 10)}
    assert claimed == {"НФ-00123", "НФ-00124", "НФ-00125", "НФ-00126"}  # a dispatch's claim
    for order_id in ("НФ-00123", "НФ-00124", "НФ-00125"):  # released: queued again
        released = shop.get(order_id)
        assert released is not None
        shop.save(released)
    other.insert(entry("ОПТ-1", OPENING))  # another campaign's
    queue = SqlQueuedOrders(engine)

    moved = queue.bring_forward("Магазин", NOW, lambda o: reopened_due(o, NOW, OLD, WIDER))

    assert moved == 1
    due = {o.order_id: o.due_at for o in queue.of_campaign("Магазин")}
    assert due == {"НФ-00123": NOW, "НФ-00124": OPENING,
                   "НФ-00125": OPENING + timedelta(minutes=5), "НФ-00126": OPENING}  # fmt: skip
    assert [o.due_at for o in queue.of_campaign("опт")] == [OPENING]
    assert shop.next_due_at() == NOW  # the dispatcher's next look is now
    again = queue.bring_forward("Магазин", NOW, lambda o: reopened_due(o, NOW, OLD, WIDER))
    assert again == 0
