"""GET /api/v1/orders/{id}/card: the order card the agent sees (issue 15, seed 001's order
screen), and that nothing of it reaches a dial string."""

from __future__ import annotations

from typing import Any

import pytest
from api_harness import Dialer

CARD_ORDER = {
    "id": "НФ-00123", "phone": "8 (916) 583-04-21", "name": "Татьяна", "product": "Мака",
    "status": "Ожидает подтверждения", "state": "Новый", "region": "Самарская обл",
    "items": [
        {"name": "Перуанская мака", "quantity": 2, "price": "743.10"},
        {"name": "AlcoBlocker - капли", "quantity": "1", "price": 990},
    ],
    "total": "2476.20", "address": "г. Самара, ул. Ленина, д. 1, кв. 2",
    "delivery_date": "2026-03-14", "extra_phone": "+79271234567",
    "comment": "Звонить после 18:00",
}  # fmt: skip


def push(dialer: Dialer, **changes: Any) -> dict[str, Any]:
    order = CARD_ORDER | {"created_at": dialer.now.isoformat()} | changes
    response = dialer.call("POST", "/api/v1/intake", body={"orders": [order]}, role="crm")
    assert response.status == 200, response.json
    return order


def test_the_card_shows_the_order_screen_of_seed_001_for_a_cyrillic_1c_number(
    dialer: Dialer,
) -> None:
    push(dialer)
    dialer.answer("НФ-00123", recording="/var/spool/asterisk/monitor/a.wav")
    dialer.call("POST", "/api/v1/orders/НФ-00123/disposition", body={"kind": "confirmed"})
    response = dialer.call("GET", "/api/v1/orders/НФ-00123/card", role="viewer")
    assert response.status == 200
    card = response.json
    assert (card["id"], card["name"], card["phone"]) == ("НФ-00123", "Татьяна", "+79165830421")
    assert card["items"] == [
        {"name": "Перуанская мака", "quantity": "2", "price": "743.10"},
        {"name": "AlcoBlocker - капли", "quantity": "1", "price": "990"},
    ]
    assert (card["total"], card["delivery_date"]) == ("2476.20", "2026-03-14")
    assert (card["address"], card["extra_phone"]) == (
        "г. Самара, ул. Ленина, д. 1, кв. 2",
        "+79271234567",
    )
    assert card["comment"] == "Звонить после 18:00"
    assert card["crm_url"] == "https://crm.example/orders/%D0%9D%D0%A4-00123/edit"
    assert card["created_at"].startswith("2026-03-10T09:")
    [attempt] = card["attempts"]
    assert (attempt["result"], attempt["agent"], attempt["recording"]) == (
        "answered",
        "1001",
        "/var/spool/asterisk/monitor/a.wav",
    )
    assert [(o["kind"], o["crm_status"]) for o in card["outcomes"]] == [("confirmed", "В буфер")]


def test_rule_the_card_shows_the_customers_local_time_and_where_the_zone_came_from(
    dialer: Dialer,
) -> None:
    """business-rules §7 («Время клиента») and §4: Samara is UTC+4, from the address."""
    push(dialer)
    customer = dialer.call("GET", "/api/v1/orders/НФ-00123/card").json["customer_time"]
    assert customer["source"] == "address"
    assert [z["zone"] for z in customer["zones"]] == ["Europe/Samara"]
    assert customer["now"] == "2026-03-10T13:00:00+04:00"


def test_an_order_from_before_the_card_has_empty_card_fields(dialer: Dialer) -> None:
    dialer.admit("o1")
    card = dialer.call("GET", "/api/v1/orders/o1/card").json
    assert (card["items"], card["total"], card["address"], card["delivery_date"]) == (
        [],
        None,
        None,
        None,
    )
    assert (card["extra_phone"], card["comment"], card["attempts"]) == (None, None, [])
    assert card["customer_time"]["zones"][0]["zone"] == "Europe/Moscow"


def test_an_unknown_order_has_no_card_and_a_token_is_needed(dialer: Dialer) -> None:
    unknown = dialer.call("GET", "/api/v1/orders/НФ-99999/card")
    assert (unknown.status, unknown.json["field"]) == (404, "id")
    assert dialer.call("GET", "/api/v1/orders/НФ-99999/card", role=None).status == 401
    for role in ("ops", "crm", "viewer"):
        dialer.admit("o1")
        assert dialer.call("GET", "/api/v1/orders/o1/card", role=role).status == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"items": [{"name": "a", "quantity": 1}, {"name": "b", "quantity": 0}]},
         "orders[0].items[1].quantity"),
        ({"items": [{"name": "a", "price": "дорого"}]}, "orders[0].items[0].price"),
        ({"items": [{"quantity": 1}]}, "orders[0].items[0].name"),
        ({"items": "мака"}, "orders[0].items"),
        ({"total": -1}, "orders[0].total"),
        ({"delivery_date": "14.03.2026"}, "orders[0].delivery_date"),
        ({"comment": 5}, "orders[0].comment"),
    ],
)  # fmt: skip
def test_a_push_with_a_malformed_card_field_is_400_naming_it_and_admits_nothing(
    dialer: Dialer, change: dict[str, Any], field: str
) -> None:
    order = CARD_ORDER | {"created_at": dialer.now.isoformat()} | change
    response = dialer.call("POST", "/api/v1/intake", body={"orders": [order]}, role="crm")
    assert (response.status, response.json["field"]) == (400, field)
    assert dialer.call("GET", "/api/v1/orders/НФ-00123/card").status == 404


def test_the_extra_phone_is_never_dialled_only_the_main_number_is(dialer: Dialer) -> None:
    push(dialer, extra_phone="+79271234567")
    dialer.sync.sync(dialer.now)
    assert dialer.dispatcher.dispatch(dialer.now) == 1
    assert [r.customer_number for r in dialer.telephony.originated] == ["+79165830421"]
    assert all("9271234567" not in repr(r) for r in dialer.telephony.originated)


def test_markup_and_control_characters_pass_through_storage_and_the_card_as_text(
    dialer: Dialer,
) -> None:
    hostile = "<script>alert(1)</script>\x07\x1b[31m\u202e"
    push(
        dialer,
        items=[{"name": hostile, "quantity": 1, "price": 1}],
        comment=hostile,
        address=hostile,
    )
    card = dialer.call("GET", "/api/v1/orders/НФ-00123/card").json
    assert card["items"][0]["name"] == hostile
    assert card["comment"] == card["address"] == hostile
    dialer.sync.sync(dialer.now)
    dialer.dispatcher.dispatch(dialer.now)
    assert all("script" not in repr(r) for r in dialer.telephony.originated)


def test_the_card_route_is_in_the_openapi_document(dialer: Dialer) -> None:
    paths = dialer.call("GET", "/api/v1/openapi.json").json["paths"]
    assert "get" in paths["/api/v1/orders/{id}/card"]
