"""`callback-dialer orders why ID`: «почему не звоним?» on the shell (issue 19)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cli_run import run

from campaigns.lifecycle import OrderState, Phase
from campaigns.orders import Order
from campaigns.outcomes import OutcomeKind
from dialer.dispatch.ports import QueueEntry
from dialer.storage.migrate import open_database
from dialer.storage.orders import SqlOrderStore

CREATED = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
LATER = datetime(2099, 1, 1, 9, 0, tzinfo=UTC)  # a callback asked for far ahead


def seeded(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = SqlOrderStore(open_database(url), campaign="shop")
    waiting = OrderState("НФ-00123", ("Asia/Yekaterinburg",), date(2026, 3, 10),
                         due_at=LATER, callback_at=LATER)  # fmt: skip
    order = Order(
        "НФ-00123", "8 916 583-04-21", "Ирина", "Крем", CREATED, region="Свердловская обл"
    )
    store.insert(QueueEntry(order, "+79165830421", "id-1", waiting))
    gone = OrderState("НФ-00124", ("Europe/Moscow",), date(2026, 3, 10), phase=Phase.DONE,
                      outcome=OutcomeKind.SKIPPED)  # fmt: skip
    cancelled = Order("НФ-00124", "8 916 583-04-22", "Пётр", "Чай", CREATED, status="Отменён")
    store.insert(QueueEntry(cancelled, "+79165830422", "id-2", gone))
    return url


def test_orders_why_explains_a_callback_in_plain_russian(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = seeded(tmp_path)
    code, out, _ = run(capsys, "--db", url, "orders", "why", "НФ-00123")
    assert code == 0
    assert out.startswith("Заказ НФ-00123: ")
    assert "Часовой пояс клиента: Asia/Yekaterinburg — по адресу доставки (Свердловская" in out
    assert "Клиент просил перезвонить: звонок 01.01 в 14:00 по времени клиента" in out
    assert "Линии заняты          0 из ?" in out  # no running node: its cap is not known


def test_orders_why_json_is_the_apis_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = seeded(tmp_path)
    code, out, _ = run(capsys, "--db", url, "orders", "why", "НФ-00124", "--json")
    data = json.loads(out)
    assert (code, data["order_id"], data["state"]) == (0, "НФ-00124", "never_touch")
    assert "«Отменён» — из списка «не трогать»" in data["sentences"][-1]
    assert data["facts"]["phase"] == "done"


def test_orders_why_refuses_an_unknown_id_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--db", seeded(tmp_path), "orders", "why", "НФ-99999")
    assert (code, "unknown order 'НФ-99999'" in err) == (2, True)
