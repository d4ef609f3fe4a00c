"""Crash and restart: `kill -9` while calls are up loses nothing and duplicates nothing.

The service runs as a subprocess against the real Asterisk. Two agents are on calls when it
is killed: one customer hangs up while the service is dead (its outcome is recovered from
the AstDB record the dialplan writes), the other is still talking when the service comes
back (found on Asterisk by ChannelId = attempt id, its end heard as usual). Two more orders
wait in the queue and are dialled once an agent is free again.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asterisk_fixtures import AsteriskInstance
from service_harness import (
    DialerDb,
    ServiceProcess,
    ShopDb,
    ShopOrder,
    originates_seen,
    wait_for,
    write_config,
)

pytestmark = pytest.mark.asterisk

ENDS_WHILE_DEAD = ShopOrder("7001", "+79165837121", "Татьяна", "AlcoBlocker", minutes_ago=9)
STILL_TALKING = ShopOrder("7002", "+79165837291", "Александр", "Prostonor", minutes_ago=8)
WAITING = [
    ShopOrder("7003", "+79165837311", "Николай", "Перуанская мака", minutes_ago=7),
    ShopOrder("7004", "+79165837411", "Ольга", "Mangosteen", minutes_ago=6),
]
ALL = [ENDS_WHILE_DEAD, STILL_TALKING, *WAITING]


def test_kill_9_in_the_middle_of_calls_loses_nothing_and_duplicates_nothing(
    asterisk: AsteriskInstance, tmp_path: Path
) -> None:
    shop = ShopDb(tmp_path / "shop.db")
    shop.seed(ALL, datetime.now(UTC))
    dialer = DialerDb(tmp_path / "dialer.db")
    config = write_config(tmp_path, asterisk, shop)

    first = ServiceProcess(config, dialer.url, asterisk, "first")
    try:
        wait_for(lambda: _both_customers_talking(asterisk, dialer), 30, first)
        first.kill()
    finally:
        first.ensure_gone()
    live_at_kill = {a.order_id for a in dialer.attempts() if a.ended_at is None}
    assert live_at_kill == {ENDS_WHILE_DEAD.id, STILL_TALKING.id}
    time.sleep(3)  # the 2-second customer hangs up while nobody listens

    second = ServiceProcess(config, dialer.url, asterisk, "second")
    restarted = time.monotonic()
    try:
        second.wait_log(r"dial order 7003")
        resumed_after = time.monotonic() - restarted
        wait_for(lambda: all(dialer.order(o.id)[1] == "confirmed" for o in ALL), 40, second)
        wait_for(lambda: dialer.undelivered() == 0, 10, second)
        assert second.stop() == 0
    finally:
        second.ensure_gone()

    assert resumed_after < 10, f"dialling resumed {resumed_after:.1f} s after the restart"
    log = second.new_log()
    assert len(re.findall(r"recovering attempt", log)) == 2
    assert re.search(r"result order 7001 .*answered \(ended while AMI was down", log), log

    attempts = dialer.attempts()
    assert sorted(a.order_id for a in attempts) == sorted(o.id for o in ALL)  # one each
    assert all(a.ended_at is not None and a.result == "answered" for a in attempts)
    for attempt in attempts:
        assert originates_seen(asterisk, attempt.id) == 1, attempt
    for order in ALL:
        assert shop.row(order.id)["status"] == "В буфер"


def _both_customers_talking(asterisk: AsteriskInstance, dialer: DialerDb) -> bool:
    live = [a for a in dialer.attempts() if a.ended_at is None]
    if len(live) < 2:
        return False
    log = asterisk.full_log()
    return all(f"DialerAccepted,AttemptId: {a.id}" in log for a in live) and _settled()


def _settled() -> bool:
    time.sleep(0.5)  # the customer's leg answers right after the agent presses 1
    return True
