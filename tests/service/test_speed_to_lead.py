"""Speed to lead: an order pushed by the CRM reaches the agent's Originate with no tick wait.

The dispatch tick is 30 s and pulling is off, so only the push path can dial in time. A
functional check, not a benchmark: each push must be dialled within a few seconds (generous
for a busy 2-core machine), an order of magnitude below the tick.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asterisk_fixtures import AsteriskInstance
from service_harness import (
    SECRET,
    DialerDb,
    ServiceProcess,
    ShopDb,
    ShopOrder,
    originates_seen,
    post_json,
    push,
    wait_for,
    write_config,
)

from crm_adapter.signing import signed_headers

pytestmark = pytest.mark.asterisk

TICK_S = 30
PUSHED = [
    ShopOrder(f"900{i}", f"+79165839{i}11", name, "Перуанская мака", minutes_ago=0)
    for i, name in ((1, "Татьяна"), (2, "Александр"), (3, "Ольга"))
]


def test_rule_4_a_pushed_order_is_dialled_at_once_not_at_the_next_tick(
    asterisk: AsteriskInstance, tmp_path: Path
) -> None:
    shop = ShopDb(tmp_path / "shop.db")
    shop.seed(PUSHED, datetime.now(UTC))  # so the outcomes can be written back
    dialer = DialerDb(tmp_path / "dialer.db")
    config = write_config(
        tmp_path, asterisk, shop, service={"poll_interval_s": 0, "tick_s": TICK_S}
    )
    service = ServiceProcess(config, dialer.url, asterisk, "run")
    latencies: list[float] = []
    try:
        base = service.base_url()
        wait_for(lambda: "started" in service.new_log(), 20, service)
        time.sleep(1)  # let the first tick pass, so the next one is ~30 s away
        for order in PUSHED:
            pushed_at = datetime.now(UTC)
            status, answer = push(base, [order], f"push-{order.id}")
            assert (status, answer) == (200, {"admitted": 1, "received": 1})
            dialled = service.wait_log(rf"(\S+) INFO dialer.service: dial order {order.id} ", 10)
            dialled_at = datetime.fromisoformat(dialled.group(1).replace("Z", "+00:00"))
            latencies.append((dialled_at - pushed_at).total_seconds())
            service.wait_log(rf"outcome order {order.id}: confirmed", 20)
        assert service.stop() == 0
    finally:
        service.ensure_gone()

    assert max(latencies) < 3.0, latencies  # the tick is 30 s: no push waited for it
    for attempt in dialer.attempts():
        assert originates_seen(asterisk, attempt.id) == 1


def test_pushes_with_a_bad_signature_or_a_replayed_event_are_refused(
    asterisk: AsteriskInstance, tmp_path: Path
) -> None:
    shop = ShopDb(tmp_path / "shop.db")
    dialer = DialerDb(tmp_path / "dialer.db")
    config = write_config(tmp_path, asterisk, shop, service={"poll_interval_s": 0})
    service = ServiceProcess(config, dialer.url, asterisk, "run")
    try:
        base = service.base_url()
        body = b'{"orders": []}'
        headers = signed_headers(b"not-the-shared-secret!!", datetime.now(UTC), body, "e-1")
        headers["Content-Type"] = "application/json"
        status, answer = post_json(f"{base}/intake", body, headers)
        assert status == 401
        assert re.search("X-Dialer-Signature", str(answer["error"]))
        good = signed_headers(SECRET.encode(), datetime.now(UTC), body, "e-2")
        good["Content-Type"] = "application/json"
        assert post_json(f"{base}/intake", body, good)[0] == 200
        assert post_json(f"{base}/intake", body, good)[0] == 409
        bad = b'{"orders": [{"id": "1"}]}'
        signed = signed_headers(SECRET.encode(), datetime.now(UTC), bad, "e-3")
        signed["Content-Type"] = "application/json"
        status, answer = post_json(f"{base}/intake", bad, signed)
        assert status == 400
        assert "orders[0]" in str(answer["error"])
        assert service.stop() == 0
    finally:
        service.ensure_gone()
