"""`callback-dialer campaign` and `orders`: the API's campaign and order controls on the shell."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cli_run import run

from campaigns.lifecycle import OrderState, Phase
from campaigns.orders import Order
from dialer.dispatch.ports import QueueEntry
from dialer.storage.campaigns import SqlCampaignStore
from dialer.storage.migrate import open_database
from dialer.storage.orders import SqlOrderStore

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
LATER = datetime(2099, 1, 1, tzinfo=UTC)  # due "later"; requeue makes it due now


def seeded(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = SqlOrderStore(open_database(url), campaign="shop")
    for order_id, phase in (("o1", Phase.QUEUED), ("o2", Phase.DONE)):
        order = Order(order_id, "8 916 583-04-21", "Ирина", "Крем", NOW, "Новый", "Новый")
        state = OrderState(
            order_id, ("Europe/Moscow",), date(2026, 3, 10), phase=phase,
            due_at=LATER if phase is Phase.QUEUED else None,
        )  # fmt: skip
        store.insert(QueueEntry(order, "+79165830421", f"id-{order_id}", state))
    return url


def test_campaigns_are_listed_shown_paused_and_resumed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = seeded(tmp_path)
    code, out, _ = run(capsys, "--db", url, "campaign", "list")
    assert (code, out.split("\t")[:3]) == (0, ["shop", "dialling", "no settings yet"])
    code, out, _ = run(capsys, "--db", url, "campaign", "pause", "--reason", "авария на линии")
    assert code == 0
    assert "campaign shop: paused (авария на линии)" in out
    assert SqlCampaignStore(open_database(url)).is_paused("shop")
    code, out, _ = run(capsys, "--db", url, "campaign", "show", "shop", "--json")
    shown = json.loads(out)
    assert (shown["name"], shown["paused"], shown["paused_reason"]) == (
        "shop",
        True,
        "авария на линии",
    )
    listed = [
        json.loads(line)
        for line in run(capsys, "--db", url, "campaign", "list", "--json")[1].splitlines()
    ]
    assert [c["paused"] for c in listed] == [True]
    code, out, _ = run(capsys, "--db", url, "campaign", "resume", "shop")
    assert (code, "dialling" in out) == (0, True)
    assert not SqlCampaignStore(open_database(url)).is_paused("shop")
    assert "stored settings: none" in run(capsys, "--db", url, "campaign", "show")[1]


def test_campaign_requests_refused_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = seeded(tmp_path)
    code, _, err = run(capsys, "--db", url, "campaign", "pause", "other", "--reason", "x")
    assert (code, "no campaign named 'other'; campaigns: shop" in err) == (2, True)
    assert run(capsys, "--db", url, "campaign", "pause", "shop", "--reason", " ")[0] == 2
    assert run(capsys, "--db", url, "campaign", "pause", "shop")[0] == 2  # --reason required


def test_an_order_is_shown_and_requeued(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = seeded(tmp_path)
    code, out, _ = run(capsys, "--db", url, "orders", "show", "o1")
    assert code == 0
    assert out.startswith("order o1 (shop): queued")
    assert "Ирина" in out
    assert "attempts (0):" in out
    code, out, _ = run(capsys, "--db", url, "orders", "show", "o1", "--json")
    order = json.loads(out)
    assert (order["id"], order["campaign"], order["attempts"]) == ("o1", "shop", [])
    before = datetime.fromisoformat(order["next_due_at"])
    code, out, _ = run(capsys, "--db", url, "orders", "requeue", "o1", "--json")
    assert code == 0
    after = datetime.fromisoformat(json.loads(out)["next_due_at"])
    assert before == LATER
    assert abs(after - datetime.now(UTC)) < timedelta(minutes=1)
    assert "due now" in run(capsys, "--db", url, "orders", "requeue", "o1")[1]


def test_order_requests_refused_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = seeded(tmp_path)
    code, _, err = run(capsys, "--db", url, "orders", "show", "nope")
    assert (code, "unknown order 'nope'" in err) == (2, True)
    code, _, err = run(capsys, "--db", url, "orders", "requeue", "nope")
    assert (code, "unknown order 'nope'" in err) == (2, True)
    code, _, err = run(capsys, "--db", url, "orders", "requeue", "o2")
    assert (code, "order o2 is done, not queued" in err) == (2, True)
