"""Issue 21 with the ops API: in a service of two campaigns the first is what the singular
``/campaign`` routes mean, but an order of the second is found, carded and given its result
by id, its calls under way are listed and may be listened to, and its answered calls
awaiting a result are listed, each overdue by its own campaign's limit. Real SQLite stores
and dispatchers, the real resource tree."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path
from typing import Any

import pytest
from api_harness import AGENTS, Dialer

from campaigns.calls import CallReport, CallResult
from campaigns.settings import CallingWindow, CampaignSettings

WHOLESALE = CampaignSettings(name="опт", agents=AGENTS, wrap_up_max_s=60,
                             window=CallingWindow(start=time(0, 0), end=time(23, 59)))  # fmt: skip
OPT_ORDER, SHOP_ORDER = "НФ-00001", "SHOP-1"


@pytest.fixture
def dialer(tmp_path: Path) -> Dialer:
    dialer = Dialer(tmp_path, second=WHOLESALE)
    dialer.admit(SHOP_ORDER)
    dialer.admit(OPT_ORDER, phone="+79165830422", campaign="опт")
    return dialer


def path(order_id: str, rest: str = "") -> str:
    return f"/api/v1/orders/{order_id}{rest}"  # as twisted.web hands it on: unquoted


def dial_both(dialer: Dialer) -> dict[str, str]:
    """Both orders dialled (one agent each); their attempt ids by order."""
    dialer.sync.sync(dialer.now)
    for dispatcher in dialer.dispatchers.values():
        assert dispatcher.dispatch(dialer.now) == 1
    return {r.order_id: r.attempt_id for r in dialer.telephony.originated}


def test_the_second_campaigns_order_is_found_carded_and_given_its_result(dialer: Dialer) -> None:
    assert dialer.ops.campaign == "shop"  # the first: what /campaign means
    one = dialer.call("GET", path(OPT_ORDER), role="viewer")
    assert one.status == 200 and one.json["id"] == OPT_ORDER
    card = dialer.call("GET", path(OPT_ORDER, "/card"), role="viewer")
    assert card.status == 200 and card.json["id"] == OPT_ORDER
    found = dialer.call("GET", "/api/v1/orders", role="viewer", query={"id": OPT_ORDER})
    assert [(o["id"], o["campaign"]) for o in found.json["orders"]] == [(OPT_ORDER, "опт")]
    by_phone = dialer.call("GET", "/api/v1/orders", role="viewer", query={"phone": "89165830422"})
    assert [o["id"] for o in by_phone.json["orders"]] == [OPT_ORDER]
    newest = dialer.call("GET", "/api/v1/orders", role="viewer").json["orders"]
    assert {o["id"] for o in newest} == {OPT_ORDER, SHOP_ORDER}

    dialer.answer(OPT_ORDER, campaign="опт")
    given = dialer.call("POST", path(OPT_ORDER, "/disposition"), role="crm",
                        body={"kind": "confirmed"})  # fmt: skip
    assert given.status == 200, given.json
    assert (given.json["phase"], given.json["outcome"]) == ("done", "confirmed")
    assert dialer.call("GET", path("НФ-нет-такого"), role="viewer").status == 404


def test_every_campaigns_calls_under_way_are_listed_and_may_be_listened_to(
    dialer: Dialer,
) -> None:
    attempts = dial_both(dialer)
    live = dialer.call("GET", "/api/v1/calls/live", role="viewer").json["calls"]
    listed = {(c["order_id"], c["campaign"], c["id"]) for c in live}
    assert listed == {(SHOP_ORDER, "shop", attempts[SHOP_ORDER]),
                      (OPT_ORDER, "опт", attempts[OPT_ORDER])}  # fmt: skip
    # the call is found as live: what stops an API token is only that it has no phone
    listen = dialer.call("POST", f"/api/v1/calls/{attempts[OPT_ORDER]}/listen", role="ops",
                         body={"mode": "listen"})  # fmt: skip
    assert listen.status == 409
    assert "only a signed-in supervisor can listen" in listen.json["error"]


def test_answered_calls_of_every_campaign_await_their_result_each_by_its_own_limit(
    dialer: Dialer,
) -> None:
    attempts = dial_both(dialer)
    dialer.now += timedelta(seconds=10)
    for order_id, campaign in ((SHOP_ORDER, "shop"), (OPT_ORDER, "опт")):
        report = _answered(attempts[order_id], dialer)
        assert dialer.dispatchers[campaign].on_report(report) == order_id
    dialer.now += timedelta(seconds=61)  # over «опт»'s 60 s, under «shop»'s 180 s
    body: dict[str, Any] = dialer.call("GET", "/api/v1/calls/awaiting-result",
                                       role="viewer").json  # fmt: skip
    calls = {c["order_id"]: c for c in body["calls"]}
    assert (calls[OPT_ORDER]["campaign"], calls[OPT_ORDER]["overdue"]) == ("опт", True)
    assert calls[OPT_ORDER]["reason"] == "агент не дал результат за 60 с"
    assert (calls[SHOP_ORDER]["overdue"], calls[SHOP_ORDER]["reason"]) == (False, None)
    assert body["overdue"] == 1
    assert body["wrap_up_max_s"] == 180  # the top-level figures stay the first campaign's


def _answered(attempt_id: str, dialer: Dialer) -> CallReport:
    return CallReport(attempt_id, CallResult.ANSWERED, dialer.now, answered_at=dialer.now)
