"""Issue 21: with several campaigns in one service each campaign claims only its own orders,
and an order's requests (result, requeue, cancel, call now) and its card reach the order's
own campaign, though the singular routes mean the first. SQLite, real stores."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import pytest
from campaign_pair import CampaignPair

from campaigns.calls import CallReport, CallResult
from campaigns.dispositions import Disposition, DispositionKind
from campaigns.lifecycle import Phase
from campaigns.orders import Order
from campaigns.settings import CallingWindow, CampaignSettings
from dialer.app.operations import ConflictError
from dialer.storage.campaign_views import order_cards, order_views
from dialer.storage.views import OrderViews

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
SHOP = CampaignSettings(name="shop", agents=("1011", "1021"),
                        window=CallingWindow(start=time(20, 0), end=time(22, 0)))  # fmt: skip
WHOLESALE = CampaignSettings(name="НФ-опт", priority=1, agents=("1001", "1011"))


def order(oid: str, n: int) -> Order:
    return Order(id=oid, phone=f"+7916{n:07d}", name="Иван", product="Мака", created_at=T0)


class Service(CampaignPair):
    """«shop» (agents 1011, 1021) first, «НФ-опт» (1001, 1011) second."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path, SHOP, WHOLESALE, T0)


def test_each_campaign_claims_only_its_own_orders(tmp_path: Path) -> None:
    service = Service(tmp_path)
    service.dispatchers["НФ-опт"].admit([order("НФ-00123", 1)], T0)
    service.dispatchers["shop"].admit([order("SHOP-1", 2)], T0)
    evening = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)  # 21:00 in Moscow: both are due
    assert [e.order.id for e in service.stores["shop"].claim_due(evening, 10)] == ["SHOP-1"]
    assert [e.order.id for e in service.stores["НФ-опт"].claim_due(evening, 10)] == ["НФ-00123"]


def test_an_orders_requests_reach_its_own_campaigns_dispatcher(tmp_path: Path) -> None:
    """«опт» is open at noon, «shop» only from 20:00: a call-now for «опт»'s order is
    allowed, so it went to «опт»'s dispatcher although «shop» is the first campaign."""
    service = Service(tmp_path)
    service.dispatchers["НФ-опт"].admit([order("НФ-00123", 1)], T0)
    service.dispatchers["shop"].admit([order("SHOP-1", 2)], T0)
    assert service.ops.campaign == "shop" and service.ops.campaigns == ("shop", "НФ-опт")
    service.ops.call_now("НФ-00123", "1011")
    with pytest.raises(ConflictError, match="outside the calling window"):
        service.ops.call_now("SHOP-1", "1011")
    service.ops.cancel("SHOP-1")
    entry = service.stores["shop"].get("SHOP-1")
    assert entry is not None and entry.state.phase is Phase.DONE


def test_a_shared_agents_result_for_the_second_campaign_is_taken(tmp_path: Path) -> None:
    service = Service(tmp_path)
    wholesale = service.dispatchers["НФ-опт"]
    wholesale.admit([order("НФ-00123", 1)], T0)
    assert wholesale.dispatch(T0) == 1
    [call] = service.rec.originated
    report = CallReport(call.attempt_id, CallResult.ANSWERED, T0, answered_at=T0)
    assert wholesale.on_report(report) == "НФ-00123"
    service.ops.dispose("НФ-00123", Disposition(DispositionKind.CONFIRMED))
    entry = service.stores["НФ-опт"].get("НФ-00123")
    assert entry is not None and entry.state.phase is Phase.DONE


def test_the_agents_page_reads_an_order_in_its_own_campaign(tmp_path: Path) -> None:
    service = Service(tmp_path)
    service.dispatchers["НФ-опт"].admit([order("НФ-00123", 1)], T0)
    assert OrderViews(service.engine, "shop").detail("НФ-00123") is None  # the first's view
    views = order_views(service.engine, service.ops.campaigns)
    detail = views.detail("НФ-00123")
    assert detail is not None and detail["id"] == "НФ-00123"
    assert views.search(order_id="НФ-00123", limit=1)
    card = order_cards(service.engine, service.ops.campaigns).card(
        "НФ-00123", T0, default_tz="Europe/Moscow"
    )
    assert card is not None and card["id"] == "НФ-00123"
    assert views.detail("НФ-нет-такого") is None
