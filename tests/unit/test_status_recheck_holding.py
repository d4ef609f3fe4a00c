"""``StatusRecheck.holding``: what «почему не звоним?» says about an order the pre-dial CRM
status re-check holds back ("asked", "failed" or not held), through a read that fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from campaigns.orders import Order
from campaigns.settings import CampaignSettings
from crm_adapter.port import CrmOrderStatus
from dialer.dispatch.status_recheck import StatusRecheck

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
ORDER = Order(id="НФ-00123", phone="+79161234567", name="Иван", product="Мака", created_at=T0)


def recheck(now: list[datetime]) -> StatusRecheck:
    return StatusRecheck(
        CampaignSettings(),
        frozenset(),
        clock=lambda: now[0],
        max_age=timedelta(seconds=10),
        retry_after=timedelta(seconds=5),
    )


def test_an_order_whose_status_read_failed_is_held_as_failed_while_it_is_wanted_again() -> None:
    now = [T0]
    check = recheck(now)
    assert check.holding(ORDER.id) is None
    assert check.check(ORDER) is None
    assert check.holding(ORDER.id) == "asked"  # wanted: the next round reads it
    assert check.take_wanted(T0) == [ORDER.id]
    assert check.holding(ORDER.id) == "asked"  # in flight
    check.note_failed(ORDER.id, T0)
    check.done(ORDER.id)
    assert check.holding(ORDER.id) == "failed"
    now[0] = T0 + timedelta(seconds=1)
    assert check.check(ORDER) is None  # the next round wants it again...
    assert check.holding(ORDER.id) == "failed"  # ...but it is not read before retry_after
    assert check.take_wanted(now[0]) == []
    assert check.holding(ORDER.id) == "failed"


def test_an_order_read_again_after_a_failure_is_asked_and_then_not_held() -> None:
    now = [T0]
    check = recheck(now)
    check.check(ORDER)
    check.take_wanted(T0)
    check.note_failed(ORDER.id, T0)
    check.done(ORDER.id)
    now[0] = T0 + timedelta(seconds=5)
    check.check(ORDER)
    assert check.take_wanted(now[0]) == [ORDER.id]
    assert check.holding(ORDER.id) == "asked"  # read again now
    check.note(CrmOrderStatus(ORDER.id, "Ожидает подтверждения", "Новый"), now[0])
    check.done(ORDER.id)
    assert check.holding(ORDER.id) is None
    assert check.check(ORDER) is True
