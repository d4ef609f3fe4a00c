"""Issue 15 §4, owned callbacks on the running service and the real Asterisk (compressed):
a callback made an agent's own («мой перезвон») a few seconds ahead is dialled to that
agent though the other agent has been idle longer; when the owner is paused, it waits out
``callback_owner_grace_s`` and then goes to the other agent. Results come from the agents
(``auto_disposition = "none"``), given through the ops API as an agent's screen would."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asterisk_fixtures import AsteriskInstance
from service_harness import DialerDb, ServiceProcess, ShopDb, ShopOrder, cli, wait_for, write_config

pytestmark = pytest.mark.asterisk
GRACE_S = 6


def post(base: str, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{base}/api/v1{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        reply: dict[str, Any] = json.loads(answer.read())
        return reply


def answered(dialer: DialerDb, order_id: str) -> str | None:
    """The agent who talked, once the order's first call ended answered."""
    ended = [a for a in dialer.attempts(order_id) if a.ended_at is not None]
    return ended[0].agent if ended and ended[0].result == "answered" else None


def test_an_owned_callback_goes_to_its_owner_and_after_the_grace_to_another_agent(
    asterisk: AsteriskInstance, tmp_path: Path
) -> None:
    shop = ShopDb(tmp_path / "shop.db")
    dialer = DialerDb(tmp_path / "dialer.db")
    campaign = {"wrap_up_max_s": 120, "callback_owner_grace_s": GRACE_S}
    config = write_config(tmp_path, asterisk, shop, service={"auto_disposition": "none"},
                          campaign=campaign)  # fmt: skip
    service = ServiceProcess(config, dialer.url, asterisk, "run")
    try:
        service.wait_log(r"started; healthz")
        base = service.base_url()
        token = cli(dialer.url, "tokens", "create", "screen", "--role", "crm").splitlines()[0]
        # the customer double +7…21 answers and stays 2 s; both agent doubles press 1
        shop.seed([ShopOrder("7101", "+79165830321", "Алия", "Мака")], datetime.now(UTC))
        owner = wait_for(lambda: answered(dialer, "7101"), 40, service)
        other = "1011" if owner == "1001" else "1001"
        at = datetime.now(UTC) + timedelta(seconds=4)
        body = {"kind": "callback", "at": at.isoformat(), "owner": owner}
        assert post(base, token, "/orders/7101/disposition", body)["callback_owner"] == owner
        wait_for(lambda: len(dialer.attempts("7101")) == 2, 40, service)
        callback = dialer.attempts("7101")[1]
        assert callback.agent == owner  # though the other agent has been idle longer
        assert callback.started_at >= at - timedelta(seconds=1)
        wait_for(lambda: all(a.ended_at for a in dialer.attempts("7101")), 40, service)
        post(base, token, "/orders/7101/disposition", {"kind": "confirmed"})  # owner is free

        shop.seed([ShopOrder("7102", "+79165830421", "Ерлан", "Мака")], datetime.now(UTC))
        second = wait_for(lambda: answered(dialer, "7102"), 40, service)
        cli(dialer.url, "agents", "pause", second, "--reason", "обед")
        at = datetime.now(UTC) + timedelta(seconds=3)
        body = {"kind": "callback", "at": at.isoformat(), "owner": second}
        post(base, token, "/orders/7102/disposition", body)
        wait_for(lambda: len(dialer.attempts("7102")) == 2, 60, service)
        late = dialer.attempts("7102")[1]
        assert late.agent == ("1011" if second == "1001" else "1001")
        assert late.started_at >= at + timedelta(seconds=GRACE_S - 1)  # waited for its owner
        assert service.stop() == 0
    finally:
        service.ensure_gone()
    assert other in {"1001", "1011"}
