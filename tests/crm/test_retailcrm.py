"""RetailCRM adapter: request shapes, paging by pagination, rate limit on a fake clock, 429."""

from __future__ import annotations

import json
import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest
from crm_backends import FakeClock, RetailBackend, retail_order
from crm_servers import API_KEY, RetailCrmDouble
from test_crm_contract import delivery, order

from campaigns.settings import CampaignSettings
from crm_adapter.errors import CrmRateLimitedError, CrmRejectedError
from crm_adapter.port import IntakeFilter
from crm_adapter.retailcrm import TokenBucket

INTAKE = IntakeFilter.for_campaign(CampaignSettings())


def seed(crm: RetailCrmDouble, count: int) -> None:
    base = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
    for n in range(count):
        o = order(f"E{n:03}", 0, created_at=base + timedelta(minutes=n))
        crm.orders[o.id] = retail_order(o, n + 1)


def test_token_bucket_spaces_requests_a_tenth_of_a_second_apart_on_a_fake_clock() -> None:
    """Burst 1, as the official Go client's limiter (api-client-go ``rate.go``): no
    one-second window ever holds more than 10 requests."""
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock, sleep=clock.sleep)
    bucket.acquire()
    assert clock.sleeps == []
    start = clock.now
    for _ in range(20):
        bucket.acquire()
    assert clock.now - start == pytest.approx(2.0)  # 10 per second
    assert all(s == pytest.approx(0.1) for s in clock.sleeps)


def test_requests_carry_the_api_key_header_and_never_the_key_in_the_url(
    retail_crm: RetailCrmDouble,
) -> None:
    seed(retail_crm, 1)
    backend = RetailBackend(retail_crm, API_KEY)
    list(backend.adapter.fetch_waiting(INTAKE))
    _method, path, headers, _body = retail_crm.server.requests[-1]
    assert headers["x-api-key"] == API_KEY
    assert API_KEY not in path
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    assert query["filter[extendedStatus][]"] == ["Ожидает подтверждения"]
    assert query["filter[sites][]"] == ["shop"]
    assert (query["limit"], query["page"]) == (["100"], ["1"])


def test_a_wrong_api_key_is_a_rejection(retail_crm: RetailCrmDouble) -> None:
    seed(retail_crm, 1)
    backend = RetailBackend(retail_crm, "wrong-key")
    with pytest.raises(CrmRejectedError, match='403 Wrong "apiKey" value'):
        backend.adapter.read_status("E000")


def test_listing_pages_through_pagination_with_an_allowed_limit(
    retail_crm: RetailCrmDouble,
) -> None:
    seed(retail_crm, 45)
    backend = RetailBackend(retail_crm, API_KEY)
    intake = IntakeFilter.for_campaign(CampaignSettings(), page_size=20)
    got = [o.id for o in backend.adapter.fetch_waiting(intake)]
    assert got == [f"E{n:03}" for n in range(45)]
    pages = [urllib.parse.parse_qs(urllib.parse.urlsplit(p).query)
             for _m, p, _h, _b in retail_crm.server.requests]  # fmt: skip
    assert [(q["limit"][0], q["page"][0]) for q in pages] == [("20", "1"), ("20", "2"), ("20", "3")]


def test_edit_posts_by_site_and_order_json_as_a_form(retail_crm: RetailCrmDouble) -> None:
    seed(retail_crm, 1)
    backend = RetailBackend(retail_crm, API_KEY)
    backend.adapter.write_outcome(delivery("E000", "E000:9"))
    method, path, headers, body = retail_crm.server.requests[-1]
    assert (method, urllib.parse.unquote(path)) == ("POST", "/api/v5/orders/E000/edit")
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
    assert (form["by"], form["site"]) == ("externalId", "shop")
    assert json.loads(form["order"]) == {
        "status": "Недозвон",
        "managerComment": "10.03 - не отвечает-4",
        "customFields": {
            "problem": "no-answer", "call": True, "callback_at": "2026-03-10 12:00:00",
            "attempts": 4, "dialer_event": "E000:9",
        },
    }  # fmt: skip


def test_a_retried_delivery_already_applied_is_acknowledged_by_its_marker(
    retail_crm: RetailCrmDouble,
) -> None:
    seed(retail_crm, 1)
    backend = RetailBackend(retail_crm, API_KEY)
    assert backend.adapter.write_outcome(delivery("E000", "E000:9")) is True
    assert backend.adapter.write_outcome(delivery("E000", "E000:9", retry=True)) is False
    assert len(retail_crm.edits) == 1
    assert retail_crm.server.requests[-1][0] == "GET"  # read the marker, no second edit


def test_429_is_retried_after_retry_after_on_the_injected_sleep(
    retail_crm: RetailCrmDouble,
) -> None:
    seed(retail_crm, 1)
    backend = RetailBackend(retail_crm, API_KEY)
    retail_crm.throttle, retail_crm.retry_after = 2, "1.5"
    assert backend.adapter.read_status("E000").status == "Ожидает подтверждения"
    assert backend.clock.sleeps == [1.5, 1.5]
    assert len(retail_crm.server.requests) == 3


def test_429_beyond_the_retries_is_rate_limited_with_retry_after(
    retail_crm: RetailCrmDouble,
) -> None:
    seed(retail_crm, 1)
    backend = RetailBackend(retail_crm, API_KEY)
    retail_crm.throttle, retail_crm.retry_after = 10, "2"
    with pytest.raises(CrmRateLimitedError) as error:
        backend.adapter.read_status("E000")
    assert error.value.retry_after == 2.0
    assert len(retail_crm.server.requests) == 4  # 1 + 3 retries


def test_a_long_retry_after_is_left_to_the_outbox_backoff(retail_crm: RetailCrmDouble) -> None:
    seed(retail_crm, 1)
    backend = RetailBackend(retail_crm, API_KEY)
    retail_crm.throttle, retail_crm.retry_after = 1, "120"
    with pytest.raises(CrmRateLimitedError):
        backend.adapter.read_status("E000")
    assert backend.clock.sleeps == []


def test_orders_from_kaspi_and_fully_prepaid_ones_are_recognised(
    retail_crm: RetailCrmDouble,
) -> None:
    kaspi, paid = order("K1", 1, source="Kaspi"), order("P1", 2, prepaid=True)
    retail_crm.orders["K1"] = retail_order(kaspi, 1)
    retail_crm.orders["P1"] = retail_order(paid, 2)
    backend = RetailBackend(retail_crm, API_KEY)
    assert [o.id for o in backend.adapter.fetch_waiting(INTAKE)] == ["P1"]
    assert backend.adapter.read_status("P1").prepaid is True
    assert backend.adapter.read_status("K1").source == "Kaspi"


def test_the_callback_is_read_from_the_callback_custom_field_in_the_account_zone(
    retail_crm: RetailCrmDouble, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 15 §3: RetailCRM v5 has no standard callback field; the adapter reads the
    custom field it writes its own callbacks to (``custom_fields.callback``)."""
    retail_crm.orders["R1"] = retail_order(order("R1", 1), 1)
    retail_crm.orders["R1"]["customFields"]["callback_at"] = "2026-03-11 15:00:00"
    retail_crm.orders["R2"] = retail_order(order("R2", 2), 2)
    retail_crm.orders["R2"]["customFields"]["callback_at"] = "завтра"
    backend = RetailBackend(retail_crm, API_KEY)
    assert backend.adapter.read_status("R1").callback_at == datetime(2026, 3, 11, 12, 0, tzinfo=UTC)
    with caplog.at_level("WARNING", logger="crm_adapter.card"):
        assert backend.adapter.read_status("R2").callback_at is None
    assert "order R2.customFields.callback_at: 'завтра' is not" in caplog.text
