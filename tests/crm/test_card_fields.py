"""The order card's fields as each adapter reads them (issue 15): present, absent, and
malformed with the field named; ids and texts in any script."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from crm_backends import RetailBackend, SqlBackend
from crm_servers import API_KEY, SECRET, RetailCrmDouble
from sqlalchemy import update
from test_http_json import NOW, ORDER
from test_sql_and_config import ENV, HTTP

from campaigns.orders import Order, OrderItem
from campaigns.settings import CampaignSettings
from crm_adapter.config import parse_crm_config
from crm_adapter.demo import DemoCrm
from crm_adapter.errors import CrmConfigError, CrmDataError, IntakeError
from crm_adapter.http_json import IntakeHandler
from crm_adapter.order_json import order_json, parse_order
from crm_adapter.port import IntakeFilter
from crm_adapter.signing import SeenEvents, signed_headers
from dialer.config.service import ConfigError, crm_settings

INTAKE = IntakeFilter.for_campaign(CampaignSettings())
CARD = {
    "items": [
        {"name": "Перуанская мака", "quantity": 2, "price": 743.1},
        {"name": "AlcoBlocker", "quantity": "1,5", "price": "990,00"},
    ],
    "total": "2476.20", "address": "г. Якутск, ул. Ленина, д. 1", "delivery_date": "2026-03-14",
    "extra_phone": 79141234567, "comment": "Звонить после 18:00",
}  # fmt: skip


def test_json_order_reads_every_card_field_as_exact_decimals_and_a_date() -> None:
    order = parse_order(ORDER | {"id": "НФ-00123"} | CARD)
    assert order.id == "НФ-00123"
    assert order.items == (
        OrderItem("Перуанская мака", Decimal(2), Decimal("743.1")),
        OrderItem("AlcoBlocker", Decimal("1.5"), Decimal("990.00")),
    )
    assert (order.total, order.delivery_date) == (Decimal("2476.20"), date(2026, 3, 14))
    assert (order.address, order.extra_phone) == ("г. Якутск, ул. Ленина, д. 1", "79141234567")
    assert parse_order(order_json(order)) == order


def test_json_order_without_card_fields_or_with_nulls_gets_the_defaults() -> None:
    nulls = dict.fromkeys(CARD)
    for data in (ORDER, ORDER | nulls):
        order = parse_order(data)
        assert (order.items, order.total, order.address, order.delivery_date) == (
            (),
            None,
            None,
            None,
        )
        assert (order.extra_phone, order.comment) == (None, None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"items": {"name": "x"}}, "orders[0].items: expected a list of items"),
        ({"items": ["мака"]}, "orders[0].items[0]: expected an object with name, quantity, price"),
        ({"items": [{"name": ""}]}, "orders[0].items[0].name: required"),
        ({"items": [{"name": 5}]}, "orders[0].items[0].name: expected a string"),
        ({"items": [{"name": "a"}, {"name": "b", "quantity": 0}]},
         "orders[0].items[1].quantity: expected a number above 0"),
        ({"items": [{"name": "a", "quantity": "NaN"}]},
         "orders[0].items[0].quantity: 'NaN' is not a finite number"),
        ({"items": [{"name": "a", "quantity": True}]},
         "orders[0].items[0].quantity: expected a number above 0"),
        ({"items": [{"name": "a", "price": "-1"}]},
         "orders[0].items[0].price: expected a number 0 or more"),
        ({"items": [{"name": "a", "price": "1e400"}]},
         "orders[0].items[0].price: '1e400' is not a number of at most 18 digits"),
        ({"items": [{"name": "a"}] * 201}, "orders[0].items: more than 200 items"),
        ({"total": "много"}, "orders[0].total: 'много' is not a number"),
        ({"delivery_date": "14.03.2026"},
         "orders[0].delivery_date: '14.03.2026' is not a date YYYY-MM-DD"),
        ({"delivery_date": 20260314}, "orders[0].delivery_date: expected a date YYYY-MM-DD"),
        ({"address": ["a"]}, "orders[0].address: expected a string"),
        ({"comment": "x" * 1001}, "orders[0].comment: longer than 1000 characters"),
        ({"extra_phone": "\ud800"}, "orders[0].extra_phone: not valid Unicode"),
    ],
)  # fmt: skip
def test_a_signed_push_with_a_malformed_card_field_is_400_naming_it(
    change: dict[str, Any], message: str
) -> None:
    bad = json.dumps({"orders": [ORDER, ORDER | {"id": "2"} | change]}).encode()  # ASCII escapes
    headers = signed_headers(SECRET, NOW, bad, "evt") | {"Content-Type": "application/json"}
    with pytest.raises(IntakeError) as error:
        IntakeHandler(SECRET, SeenEvents()).handle(bad, headers, NOW)
    assert error.value.status == 400
    assert str(error.value).startswith(message.replace("orders[0]", "orders[1]"))


def _retail(crm: RetailCrmDouble, **fields: Any) -> RetailBackend:
    backend = RetailBackend(crm, API_KEY)
    backend.seed([Order("НФ-00123", "+79141234567", "Иван", "Мака", NOW)])
    crm.orders["НФ-00123"].update(fields)
    return backend


def test_retailcrm_reads_the_card_from_its_v5_order_fields(retail_crm: RetailCrmDouble) -> None:
    backend = _retail(
        retail_crm,
        items=[
            {"productName": "Мака", "quantity": 2, "initialPrice": 743.1, "offer": {"name": "x"}},
            {"offer": {"displayName": "Крем «Ночь»", "name": "Крем"}, "quantity": 1},
            {"offer": {}, "quantity": 1},
        ],
        totalSumm=1486.2,
        delivery={"address": {"text": "г. Якутск, ул. Ленина, 1", "region": "Якутия"},
                  "date": "2026-03-14"},
        additionalPhone="+79140000000",
        customerComment="<b>домофон</b>",
    )  # fmt: skip
    (order,) = backend.adapter.fetch_waiting(INTAKE)
    assert order.items == (
        OrderItem("Мака", Decimal(2), Decimal("743.1")),
        OrderItem("Крем «Ночь»", Decimal(1), None),
    )
    assert (order.total, order.address) == (Decimal("1486.2"), "г. Якутск, ул. Ленина, 1")
    assert (order.delivery_date, order.extra_phone) == (date(2026, 3, 14), "+79140000000")
    assert order.comment == "<b>домофон</b>"


@pytest.mark.parametrize(
    ("fields", "field", "left_out"),
    [
        ({"items": [{"productName": "a", "quantity": "много"}]}, "[0].items[0].quantity", "items"),
        ({"items": [{"productName": "a", "initialPrice": -5}]}, "[0].items[0].initialPrice",
         "items"),
        ({"totalSumm": "x"}, "[0].totalSumm", "total"),
        ({"delivery": {"date": "завтра", "address": {"text": "Якутск"}}}, "[0].delivery.date",
         "delivery_date"),
    ],
)  # fmt: skip
def test_retailcrm_logs_a_malformed_card_field_naming_it_and_still_admits_the_order(
    retail_crm: RetailCrmDouble,
    caplog: pytest.LogCaptureFixture,
    fields: dict[str, Any],
    field: str,
    left_out: str,
) -> None:
    """A pull has no one to answer: the field is left out, the order is still dialled."""
    backend = _retail(retail_crm, **fields)
    with caplog.at_level("WARNING", logger="crm_adapter.card"):
        (order,) = backend.adapter.fetch_waiting(INTAKE)
    assert (order.id, order.phone) == ("НФ-00123", "+79141234567")
    assert getattr(order, left_out) in ((), None)
    assert f"orders page 1 {field}: " in caplog.text
    if left_out == "delivery_date":
        assert order.address == "Якутск"  # nothing else is lost


def test_sql_logs_a_malformed_card_value_naming_the_column_and_keeps_the_order(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    backend = SqlBackend(f"sqlite:///{tmp_path / 'shop.db'}", "columns")
    backend.seed([Order("НФ-00123", "+79141234567", "Иван", "Мака", NOW, state="Новый",
                        total=Decimal("990.00"))])  # fmt: skip
    for value, message in (
        ("[{", "order НФ-00123: column sostav: not a JSON list of items"),
        (json.dumps([{"name": "a", "quantity": -1}]),
         "order НФ-00123: column sostav[0].quantity: expected a number above 0"),
    ):  # fmt: skip
        with backend.engine.begin() as conn:
            conn.execute(update(backend.orders).values(sostav=value))
        caplog.clear()
        with caplog.at_level("WARNING", logger="crm_adapter.card"):
            (order,) = backend.adapter.fetch_waiting(INTAKE)
        assert (order.id, order.items, order.total) == ("НФ-00123", (), Decimal("990.00"))
        assert message in caplog.text
    backend.close()


def test_http_pull_logs_a_malformed_card_field_and_keeps_the_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = ORDER | {"items": [{"name": "a", "quantity": 0}], "comment": "после 18:00"}
    with caplog.at_level("WARNING", logger="crm_adapter.card"):
        order = parse_order(data, "page 1 orders[0]", strict_card=False)
    assert (order.items, order.comment) == ((), "после 18:00")
    assert "page 1 orders[0].items[0].quantity: expected a number above 0" in caplog.text
    with pytest.raises(CrmDataError, match=r"items\[0\]\.quantity"):
        parse_order(data, "orders[0]")  # a push: refused, naming it


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ftp://crm.example/{id}", "crm.order_url: must start with https:// or http://"),
        ("https://crm.example/orders/", "crm.order_url: must contain {id}"),
        ("https://crm.example/orders/{id} x", "crm.order_url: must not contain spaces"),
        (5, "crm.order_url: expected a string"),
    ],
)
def test_a_bad_order_url_is_refused_at_load_naming_crm_order_url(value: Any, message: str) -> None:
    with pytest.raises(CrmConfigError, match=message.replace("{id}", r"\{id\}")):
        parse_crm_config(HTTP | {"order_url": value}, ENV)
    with pytest.raises(ConfigError, match=r"crm\.order_url"):
        crm_settings({"kind": "demo", "orders": "o.jsonl", "order_url": value}, ENV, Path())


def test_the_order_url_is_optional_and_kept_for_every_crm_kind() -> None:
    assert parse_crm_config(HTTP, ENV).order_url is None
    url = "https://shop.retailcrm.ru/orders/{id}/edit"
    assert parse_crm_config(HTTP | {"order_url": url}, ENV).order_url == url
    demo = crm_settings({"kind": "demo", "orders": "o.jsonl", "order_url": url}, ENV, Path())
    assert demo.order_url == url


def test_the_demo_crm_carries_the_card_of_its_orders() -> None:
    demo = DemoCrm.from_file(Path(__file__).parents[2] / "config/demo/orders.jsonl", NOW)
    order = next(o for o in demo.fetch_waiting(INTAKE) if o.id == "1143383")
    assert order.items == (
        OrderItem("AlcoBlocker - капли против алкоголизма", Decimal(1), Decimal("990.00")),
    )
    assert (order.total, order.delivery_date) == (Decimal("990.00"), date(2026, 3, 13))
