"""Migration 0004 (issue 15): orders stored before the order card keep working after it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from local_services import fresh_database
from sqlalchemy import create_engine, inspect, text

from dialer.storage.card import OrderCards, order_link
from dialer.storage.migrate import current_revision, upgrade
from dialer.storage.orders import SqlOrderStore

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
CARD_COLUMNS = {"items_json", "total", "address", "delivery_date", "extra_phone",
                "customer_comment"}  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
    else:
        with fresh_database(request.getfixturevalue("postgres_url"), "card") as fresh:
            yield fresh


def test_an_order_stored_at_0003_loads_after_0004_as_an_order_without_a_card(url: str) -> None:
    engine = create_engine(url)
    try:
        assert upgrade(engine, "0003") == "0003"
        assert not CARD_COLUMNS & {c["name"] for c in inspect(engine).get_columns("orders")}
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO campaigns (name, settings_json, paused, created_at, updated_at)"
                     " VALUES ('default', '{}', false, :t, :t)"),
                {"t": T0.replace(tzinfo=None)},
            )  # fmt: skip
            conn.execute(
                text(
                    "INSERT INTO orders (id, campaign, phone_raw, e164, name, product, created_at,"
                    " crm_status, crm_state, zones, phase, next_due_at, updated_at)"
                    " VALUES ('НФ-00123', 'default', '+79161234567', '+79161234567', 'Иван',"
                    " 'Мака', :t, 'Ожидает подтверждения', 'Новый', 'Europe/Moscow', 'queued',"
                    " :t, :t)"
                ),
                {"t": T0.replace(tzinfo=None)},
            )
        head = upgrade(engine, "head")  # through 0004 and the revisions after it
        assert current_revision(engine) == head
        assert {c["name"] for c in inspect(engine).get_columns("orders")} >= CARD_COLUMNS
        got = SqlOrderStore(engine).get("НФ-00123")
        assert got is not None
        order = got.order
        assert (order.items, order.total, order.address, order.delivery_date) == (
            (),
            None,
            None,
            None,
        )
        assert (order.extra_phone, order.comment, order.name) == (None, None, "Иван")
        card = OrderCards(engine, "default").card("НФ-00123", T0, default_tz="Europe/Moscow")
        assert card is not None
        assert (card["items"], card["total"], card["crm_url"]) == ([], None, None)
        assert card["customer_time"]["now"] == "2026-03-10T12:00:00+03:00"
    finally:
        engine.dispose()


def test_the_crm_link_percent_encodes_the_id_as_utf8() -> None:
    template = "https://shop.example/admin/orders/{id}?tab=main"
    assert order_link(template, "НФ-00123") == (
        "https://shop.example/admin/orders/%D0%9D%D0%A4-00123?tab=main"
    )
    assert order_link(template, "a/b c") == "https://shop.example/admin/orders/a%2Fb%20c?tab=main"
