"""Issue 15 §3–§4, results that come from the CRM, on the running service and the real
Asterisk (compressed seconds): with ``disposition_source = "crm"`` the agents work in the
shop's CRM (the SQL shop database). After an answered call the dialer follows the order
there: a status the CRM calls confirmed ends the order confirmed with nothing written back;
a callback time a few seconds ahead is dialled at that time; no change within
``crm_result_timeout_s`` is «нет результата» on ``GET /api/v1/calls/awaiting-result``."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asterisk_fixtures import AsteriskInstance
from service_harness import DialerDb, ServiceProcess, ShopDb, ShopOrder, cli, wait_for, write_config
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from dialer.storage.models import OutboxRow, OutcomeRow

pytestmark = pytest.mark.asterisk
TIMEOUT_S = 6
SQL_CRM = [
    "[crm]", 'kind = "sql"', "[crm.sql]", 'table = "orders"', 'timezone = "UTC"',
    "[crm.sql.columns]", 'region = ""', 'callback_at = "callback_at"',
]  # fmt: skip


def awaiting(base: str, token: str) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{base}/api/v1/calls/awaiting-result", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        body: dict[str, Any] = json.loads(answer.read())
        return body


def answered(dialer: DialerDb, order_id: str, call: int = 0) -> bool:
    ended = [a for a in dialer.attempts(order_id) if a.ended_at is not None]
    return len(ended) > call and ended[call].result == "answered"


def written(url: str, order_id: str) -> tuple[list[str], int]:
    """The order's outcomes in the dialer's database, and its outbox rows (writes to the CRM)."""
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            kinds = session.scalars(
                select(OutcomeRow.kind).where(OutcomeRow.order_id == order_id)
            ).all()
            rows = session.scalar(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.order_id == order_id)
            )
        return list(kinds), int(rows or 0)
    finally:
        engine.dispose()


def test_results_the_agent_gives_in_the_crm_end_the_order_with_no_write_back(
    asterisk: AsteriskInstance, tmp_path: Path
) -> None:
    shop = ShopDb(tmp_path / "shop.db")
    dialer = DialerDb(tmp_path / "dialer.db")
    campaign = {"disposition_source": "crm", "crm_result_timeout_s": TIMEOUT_S,
                "crm_result_read_s": 1}  # fmt: skip
    crm = [*SQL_CRM[:3], f'url = "{shop.url}"', *SQL_CRM[3:]]
    config = write_config(tmp_path, asterisk, shop, service={"auto_disposition": "none"},
                          campaign=campaign, crm=crm)  # fmt: skip
    service = ServiceProcess(config, dialer.url, asterisk, "run")
    try:
        service.wait_log(r"started; healthz")
        base = service.base_url()
        viewer = cli(dialer.url, "tokens", "create", "ops-screen", "--role", "viewer")
        token = viewer.splitlines()[0]
        # customers +7…21 answer and stay 2 s; both agent doubles press 1
        shop.seed([ShopOrder("НФ-7301", "+79165831121", "Алия", "Мака"),
                   ShopOrder("7302", "+79165832221", "Ерлан", "Мака")],
                  datetime.now(UTC))  # fmt: skip

        # 1. the agent confirms in the CRM: confirmed, nothing written back
        wait_for(lambda: answered(dialer, "НФ-7301"), 40, service)
        assert dialer.order("НФ-7301") == ("awaiting_disposition", None)
        shop.set_status("НФ-7301", "Подтвержден")
        wait_for(lambda: dialer.order("НФ-7301") == ("done", "confirmed"), 20, service)
        assert written(dialer.url, "НФ-7301") == (["confirmed"], 0)

        # 2. the agent sets a callback time in the CRM: dialled again at that time
        wait_for(lambda: answered(dialer, "7302"), 40, service)
        at = datetime.now(UTC) + timedelta(seconds=4)
        shop.set_callback("7302", at)
        wait_for(lambda: dialer.order("7302")[0] == "queued", 20, service)
        wait_for(lambda: len(dialer.attempts("7302")) == 2, 40, service)
        assert dialer.attempts("7302")[1].started_at >= at - timedelta(seconds=1)
        assert written(dialer.url, "7302") == (["callback"], 0)

        # 3. nothing changes in the CRM: «нет результата» for ops, with the reason
        shop.seed([ShopOrder("7303", "+79165833321", "Ирина", "Мака")], datetime.now(UTC))
        wait_for(lambda: answered(dialer, "7303"), 40, service)
        early = {c["order_id"]: c for c in awaiting(base, token)["calls"]}
        assert early["7303"]["overdue"] is False
        late = wait_for(
            lambda: next((c for c in awaiting(base, token)["calls"]
                          if c["order_id"] == "7303" and c["overdue"]), None),
            TIMEOUT_S + 10, service,
        )  # fmt: skip
        assert "в CRM нет результата за 6 с" in late["reason"]
        assert dialer.order("7303") == ("awaiting_disposition", None)
        assert written(dialer.url, "7303") == ([], 0)
        assert shop.row("НФ-7301")["comment"] is None  # the dialer wrote nothing to the CRM
        assert service.stop() == 0
    finally:
        service.ensure_gone()
