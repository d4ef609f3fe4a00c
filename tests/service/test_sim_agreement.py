"""`simulate` answers as the service does: one scenario through both (issue 14 item 1).

The same five orders, the same campaign and service settings (one TOML file serves
`run --config`, `simulate --campaign` and `simulate --service-config`) go through the real
service on the real Asterisk (the dialplan doubles decide each call by the number's last
digit) and through the simulator (each order's `sim` block says the same). Both drive the
one `DialRound`, so they must dial the same orders in the same order, give each order the
same results attempt by attempt, and reach the same outcomes.

What is compared, and why not the whole timeline: the simulator's calls take fixed times
(dialer/sim/phones.py), Asterisk's take what the doubles and the AMI round trips take, so
retries of different orders interleave differently after the first calls. The order of the
*first* dial of each order does not depend on call lengths (2 agents, 4 dialable orders:
each freed agent takes the oldest due order), so it is compared exactly; per order, the
results of its first two attempts and, for orders that end, the outcome. The order the CRM
cancels while it waits (a status change the re-check must see) is never dialled in either.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asterisk_fixtures import REPO, AsteriskInstance
from service_harness import DialerDb, ServiceProcess, ShopDb, ShopOrder, wait_for, write_config

pytestmark = pytest.mark.asterisk

# (order, sim block): the numbers' last digits pick the dialplan double that behaves the same
SCENARIO = [
    (ShopOrder("8001", "+79165830221", "Татьяна", minutes_ago=9), {"answer_on_attempt": 1}),
    (ShopOrder("8002", "+79165830203", "Александр", minutes_ago=8),
     {"answer_on_attempt": None, "unanswered": "busy"}),
    (ShopOrder("8003", "+79165830202", "Ольга", minutes_ago=7),
     {"answer_on_attempt": None, "unanswered": "no_answer"}),
    (ShopOrder("8004", "+79165830305", "Николай", minutes_ago=6),
     {"answer_on_attempt": None, "unanswered": "invalid_number"}),
    (ShopOrder("8005", "+79165830521", "Ирина", minutes_ago=5),
     {"answer_on_attempt": 1, "cancel_at": "+1s"}),
]  # fmt: skip
CANCELLED = "8005"
ENDED = {"8001": "confirmed", "8004": "invalid", CANCELLED: "skipped"}
SERVICE = {"status_max_age_s": 0.5, "cps": 5, "campaign_lines": 10, "trunk_lines": 10}


def test_simulate_and_the_service_dial_the_same_orders_in_the_same_order_with_the_same_results(
    asterisk: AsteriskInstance, tmp_path: Path
) -> None:
    config = write_config(tmp_path, asterisk, _shop(tmp_path), service=SERVICE)
    live = _run_service(asterisk, tmp_path, config)
    simulated = _run_simulate(tmp_path, config)

    assert live.first_dials == simulated.first_dials == ["8001", "8002", "8003", "8004"]
    for order_id in ("8001", "8002", "8003", "8004"):
        assert live.results[order_id][:2] == simulated.results[order_id][:2], order_id
    assert live.results["8002"][:2] == ["busy", "busy"]
    assert live.results["8003"][:2] == ["no_answer", "no_answer"]
    assert live.outcomes == simulated.outcomes == ENDED
    assert CANCELLED not in live.results and CANCELLED not in simulated.results


class Run:
    """What one run did: first dials in order, results per order, final outcomes."""

    def __init__(self) -> None:
        self.first_dials: list[str] = []
        self.results: dict[str, list[str]] = {}
        self.outcomes: dict[str, str] = {}

    def dial(self, order_id: str) -> None:
        if order_id not in self.first_dials:
            self.first_dials.append(order_id)

    def result(self, order_id: str, result: str) -> None:
        self.results.setdefault(order_id, []).append(result)


def _shop(tmp_path: Path) -> ShopDb:
    shop = ShopDb(tmp_path / "shop.db")
    shop.seed([order for order, _ in SCENARIO], datetime.now(UTC))
    return shop


def _run_service(asterisk: AsteriskInstance, tmp_path: Path, config: Path) -> Run:
    shop = ShopDb(tmp_path / "shop.db")
    dialer = DialerDb(tmp_path / "dialer.db")
    service = ServiceProcess(config, dialer.url, asterisk, "agreement")
    try:
        service.wait_log(r"admitted 5 new order\(s\)")
        shop.set_status(CANCELLED, "Отменён")  # a person cancels it while it waits
        for order_id in ("8002", "8003"):
            wait_for(lambda o=order_id: _ended(dialer, o) >= 2, 90, service)
        for order_id, outcome in ENDED.items():
            wait_for(lambda o=order_id, w=outcome: dialer.order(o)[1] == w, 30, service)
        assert service.stop() == 0
    finally:
        service.ensure_gone()
    run = Run()
    attempts = sorted(dialer.attempts(), key=lambda a: a.started_at)
    for attempt in attempts:
        run.dial(attempt.order_id)
        if attempt.result is not None:
            run.result(attempt.order_id, attempt.result)
    run.outcomes = {o: outcome for o, _ in _orders() if (outcome := dialer.order(o)[1])
                    and dialer.order(o)[0] == "done"}  # fmt: skip
    return run


def _ended(dialer: DialerDb, order_id: str) -> int:
    return sum(1 for a in dialer.attempts(order_id) if a.ended_at is not None)


def _orders() -> list[tuple[str, ShopOrder]]:
    return [(order.id, order) for order, _ in SCENARIO]


def _run_simulate(tmp_path: Path, config: Path) -> Run:
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    lines = []
    for order, sim in SCENARIO:
        block = dict(sim)
        if block.get("cancel_at") == "+1s":
            block["cancel_at"] = _iso(start + timedelta(seconds=1))
        lines.append({"id": order.id, "phone": order.phone, "name": order.name,
                      "product": order.product, "status": order.status, "state": order.state,
                      "created_at": _iso(start - timedelta(minutes=order.minutes_ago)),
                      "sim": block})  # fmt: skip
    orders = tmp_path / "orders.jsonl"
    orders.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in lines), "utf-8")
    command = [sys.executable, "-m", "dialer", "--db", f"sqlite:///{tmp_path}/sim.db",
               "simulate", "--orders", str(orders), "--start", _iso(start), "--days", "0.02",
               "--agents", "2", "--campaign", str(config),
               "--service-config", str(config)]  # fmt: skip
    out = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True).stdout
    run = Run()
    for event in map(json.loads, out.splitlines()):
        kind: Any = event["event"]
        if kind == "dial":
            run.dial(event["order"])
        elif kind == "result":
            run.result(event["order"], event["result"])
        elif kind == "outcome" and event["outcome"] != "no_answer":
            run.outcomes[event["order"]] = event["outcome"]
    return run


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")
