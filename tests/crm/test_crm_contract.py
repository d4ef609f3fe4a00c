"""One contract for every CRM adapter: the in-memory fake, HTTP/JSON, SQL (SQLite and
PostgreSQL, both write modes) and RetailCRM, each against its real or local server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from crm_backends import Backend, FakeBackend, HttpBackend, RetailBackend, SqlBackend
from crm_servers import API_KEY, SECRET

from campaigns.orders import Order, OrderItem
from campaigns.outcomes import DEFAULT_CRM_MAPPING
from campaigns.settings import CampaignSettings
from crm_adapter.errors import InvalidOutcomeError, OrderNotFoundError
from crm_adapter.port import IntakeFilter, OutcomeDelivery
from crm_adapter.recheck import dialer_statuses, leave_queue_reason

T0 = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
WAITING, NEW = "Ожидает подтверждения", "Новый"
SETTINGS = CampaignSettings()

BACKENDS = [
    "memory", "http", "retailcrm", "sqlite-columns", "sqlite-table",
    pytest.param("postgres-columns", marks=pytest.mark.postgres),
    pytest.param("postgres-table", marks=pytest.mark.postgres),
]  # fmt: skip


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    name: str = request.param
    if name == "memory":
        yield FakeBackend()
    elif name == "http":
        yield HttpBackend(request.getfixturevalue("http_crm"), SECRET)
    elif name == "retailcrm":
        yield RetailBackend(request.getfixturevalue("retail_crm"), API_KEY)
    else:
        db, mode = name.split("-")
        url = (
            f"sqlite:///{tmp_path / 'shop.db'}"
            if db == "sqlite"
            else request.getfixturevalue("postgres_url")
        )
        sql = SqlBackend(url, mode)
        yield sql
        sql.close()


def order(order_id: str, minutes: int, **changes: object) -> Order:
    fields: dict[str, object] = {
        "id": order_id, "phone": "+7 (916) 123-45-67", "name": "Татьяна",
        "product": "Перуанская мака", "created_at": T0 + timedelta(minutes=minutes),
        "status": WAITING, "state": NEW, "source": "site", "region": "Самарская обл",
        "city": "Самара", "prepaid": False,
    }  # fmt: skip
    fields.update(changes)
    return Order(**fields)  # type: ignore[arg-type]


def delivery(order_id: str, key: str, **changes: object) -> OutcomeDelivery:
    fields: dict[str, object] = {
        "key": key, "order_id": order_id, "kind": "no_answer", "status": "Недозвон",
        "problem": "Не отвечает", "call_made": True,
        "callback_at": T0 + timedelta(hours=2), "comment": "10.03 - не отвечает-4",
        "attempt_no": 4, "at": T0 + timedelta(hours=1),
    }  # fmt: skip
    fields.update(changes)
    return OutcomeDelivery(**fields)  # type: ignore[arg-type]


SEED = [
    order("1005", 5),
    order("1001", 1),
    order("1003", 3, source="Kaspi"),
    order("1002", 2),
    order("1004", 4, status="Отменён"),
    order("1006", 6, state="В работе"),
    order("1007", 7),
    order("1008", 0),
]


def test_fetch_returns_waiting_orders_oldest_first_across_pages_without_kaspi(
    backend: Backend,
) -> None:
    backend.seed(SEED)
    intake = IntakeFilter.for_campaign(SETTINGS, page_size=2)
    got = list(backend.adapter.fetch_waiting(intake))
    assert [o.id for o in got] == ["1008", "1001", "1002", "1005", "1007"]


CARD = {
    "items": (
        OrderItem("AlcoBlocker - капли против алкоголизма", Decimal(1), Decimal("990.00")),
        OrderItem("Перуанская мака <b>", Decimal("2.5"), Decimal("743.10")),
    ),
    "total": Decimal("2847.75"),
    "address": "443001, Самарская обл, г. Самара, ул. Ленина, д. 1, кв. 2",
    "delivery_date": date(2026, 3, 14),
    "extra_phone": "8 (927) 000-11-22",
    "comment": "Звонить после 18:00\tне раньше",
}


def test_every_adapter_supplies_the_order_card_the_same_way(backend: Backend) -> None:
    """Issue 15: items (name, quantity, price), total, address, delivery date, extra phone
    and the customer's comment come through each CRM's own field names alike."""
    backend.seed([order("НФ-00123", 1, **CARD)])
    (got,) = backend.adapter.fetch_waiting(IntakeFilter.for_campaign(SETTINGS))
    assert got.id == "НФ-00123"
    assert {name: getattr(got, name) for name in CARD} == CARD


def test_an_order_without_card_fields_gets_the_defaults(backend: Backend) -> None:
    backend.seed([order("1001", 1)])
    (got,) = backend.adapter.fetch_waiting(IntakeFilter.for_campaign(SETTINGS))
    assert (got.address, got.delivery_date, got.extra_phone, got.comment) == (None,) * 4
    if isinstance(backend, RetailBackend):  # a RetailCRM order always has items and a sum
        assert [i.name for i in got.items] == ["Перуанская мака"]
    else:
        assert (got.items, got.total) == ((), None)


def test_fetched_order_keeps_the_crm_text_and_an_aware_utc_creation_time(
    backend: Backend,
) -> None:
    backend.seed([order("1001", 1)])
    (got,) = backend.adapter.fetch_waiting(IntakeFilter.for_campaign(SETTINGS))
    assert got.phone == "+7 (916) 123-45-67"  # raw: screening validates it, not the adapter
    assert (got.name, got.product, got.status, got.state) == (
        "Татьяна", "Перуанская мака", WAITING, NEW,
    )  # fmt: skip
    assert got.created_at == T0 + timedelta(minutes=1)
    assert got.created_at.utcoffset() == timedelta(0)
    assert (got.region, got.city, got.source, got.prepaid) == (
        "Самарская обл",
        "Самара",
        "site",
        False,
    )


def test_recheck_sees_a_change_made_in_the_crm_while_the_order_waited(backend: Backend) -> None:
    backend.seed([order("1001", 1), order("1002", 2, prepaid=True)])
    assert leave_queue_reason(backend.adapter.read_status("1001"), SETTINGS) is None
    backend.set_status("1001", "Отменён")
    current = backend.adapter.read_status("1001")
    assert current.status == "Отменён"
    assert leave_queue_reason(current, SETTINGS) == "never-touch status 'Отменён'"
    assert leave_queue_reason(backend.adapter.read_status("1002"), SETTINGS) == "fully prepaid"


def test_recheck_lets_the_dialers_own_status_through_but_not_a_persons(backend: Backend) -> None:
    backend.seed([order("1001", 1)])
    written = dialer_statuses(DEFAULT_CRM_MAPPING)
    backend.adapter.write_outcome(delivery("1001", "1001:1"))
    assert (
        leave_queue_reason(backend.adapter.read_status("1001"), SETTINGS, dialer_written=written)
        is None
    )
    backend.set_status("1001", "Подтвержден")
    reason = leave_queue_reason(
        backend.adapter.read_status("1001"), SETTINGS, dialer_written=written
    )
    assert reason == "status changed to 'Подтвержден'"


def test_status_read_carries_the_callback_time_an_agent_set_in_the_crm(
    backend: Backend,
) -> None:
    """Issue 15 §3: with disposition_source "crm" the dialer follows the CRM's callback
    field after an answered call; every adapter reads it the same way (aware UTC)."""
    backend.seed([order("НФ-00123", 1), order("1002", 2)])
    assert backend.adapter.read_status("НФ-00123").callback_at is None
    wanted = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
    backend.set_callback("НФ-00123", wanted)
    current = backend.adapter.read_status("НФ-00123")
    assert current.callback_at == wanted
    assert current.callback_at.utcoffset() == timedelta(0)
    assert backend.adapter.read_status("1002").callback_at is None
    backend.set_callback("НФ-00123", None)
    assert backend.adapter.read_status("НФ-00123").callback_at is None


def test_a_pulled_order_carries_the_crm_callback_time(backend: Backend) -> None:
    wanted = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
    backend.seed([order("1001", 1)])
    backend.set_callback("1001", wanted)
    (got,) = backend.adapter.fetch_waiting(IntakeFilter((WAITING,), (NEW,), ()))
    assert got.callback_at == wanted


def test_reading_an_unknown_order_raises_order_not_found(backend: Backend) -> None:
    backend.seed([order("1001", 1)])
    with pytest.raises(OrderNotFoundError):
        backend.adapter.read_status("no-such-order")


def test_write_outcome_sets_status_problem_call_callback_and_comment(backend: Backend) -> None:
    backend.seed([order("1001", 1)])
    assert backend.adapter.write_outcome(delivery("1001", "1001:7")) is True
    shown = backend.shown("1001")
    assert shown.status == "Недозвон"
    assert shown.problem == "Не отвечает"
    assert shown.call_made is True
    assert shown.callback_at == T0 + timedelta(hours=2)
    assert shown.comment == "10.03 - не отвечает-4"


def test_the_same_idempotency_key_twice_has_one_effect(backend: Backend) -> None:
    backend.seed([order("1001", 1)])
    assert backend.adapter.write_outcome(delivery("1001", "1001:7")) is True
    assert backend.adapter.write_outcome(delivery("1001", "1001:7", retry=True)) is False
    assert backend.effects("1001") in (1, None)
    assert backend.shown("1001").status == "Недозвон"


def test_later_outcome_replaces_the_earlier_one(backend: Backend) -> None:
    backend.seed([order("1001", 1)])
    backend.adapter.write_outcome(delivery("1001", "1001:1"))
    final = delivery(
        "1001", "1001:2", kind="confirmed", status="В буфер", problem=None,
        callback_at=None, comment="10.03 - подтвержден", attempt_no=5,
    )  # fmt: skip
    assert backend.adapter.write_outcome(final) is True
    shown = backend.shown("1001")
    assert (shown.status, shown.problem, shown.callback_at) == ("В буфер", None, None)
    assert backend.effects("1001") in (2, None)


def test_a_refusal_without_its_reason_is_refused_before_reaching_the_crm(
    backend: Backend,
) -> None:
    """002: the refusal reason is required."""
    backend.seed([order("1001", 1)])
    refusal = delivery("1001", "1001:3", kind="refused", status="Отказ", problem="Передумал",
                       callback_at=None, comment="10.03 - ")  # fmt: skip
    with pytest.raises(InvalidOutcomeError, match="reason"):
        backend.adapter.write_outcome(refusal)
    assert backend.effects("1001") in (0, None)
    assert backend.adapter.read_status("1001").status == WAITING


def test_call_not_made_is_written_as_such(backend: Backend) -> None:
    backend.seed([order("1001", 1)])
    invalid = delivery("1001", "1001:4", kind="invalid", status="Невалид",
                       problem="Невалидный номер", call_made=False, callback_at=None,
                       comment="10.03 - номер некорректный", attempt_no=0)  # fmt: skip
    backend.adapter.write_outcome(invalid)
    assert backend.shown("1001").call_made is False


def test_writing_for_an_unknown_order_raises_order_not_found(backend: Backend) -> None:
    backend.seed([order("1001", 1)])
    with pytest.raises(OrderNotFoundError):
        backend.adapter.write_outcome(delivery("no-such-order", "x:1"))


def test_an_order_id_in_any_script_is_fetched_read_and_written(backend: Backend) -> None:
    """Issue 13: a 1C order number (``Заказ.Номер``) such as НФ-00123 works end to end."""
    backend.seed([order("НФ-00123", 1), order("1001", 2)])
    fetched = list(backend.adapter.fetch_waiting(IntakeFilter.for_campaign(SETTINGS)))
    assert [o.id for o in fetched] == ["НФ-00123", "1001"]
    assert backend.adapter.read_status("НФ-00123").order_id == "НФ-00123"
    assert backend.adapter.write_outcome(delivery("НФ-00123", "НФ-00123:7")) is True
    assert backend.adapter.write_outcome(delivery("НФ-00123", "НФ-00123:7", retry=True)) is False
    assert backend.shown("НФ-00123").status == "Недозвон"
    assert backend.effects("НФ-00123") in (1, None)
