"""Issue 13, items 1, 2 and 9, on the real service, the real Asterisk and the HTTP CRM double.

* A 1C order number in Cyrillic (`НФ-00123`) goes from the CRM's pull to a dial and to an
  outcome the CRM acknowledges, while the other orders' outcomes flow (before: its header
  raised UnicodeEncodeError and every later outcome of every order waited for ever); the
  pull asks for `[crm] page_size` orders a page.
* A stop while a slow CRM is taking outcomes waits for the flush in progress and flushes once
  more after it: never two deliveries at once, exit 0, no cancelled job in the log.
"""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asterisk_fixtures import AsteriskInstance
from crm_servers import HttpJsonCrm
from fault_harness import DialerView, applied_keys, check_settled, http_crm_section, seed
from service_harness import ServiceProcess, ShopOrder, wait_for, write_config

pytestmark = pytest.mark.asterisk

NF = ShopOrder("НФ-00123", "+79165830111", "Татьяна", "AlcoBlocker", minutes_ago=9)
ASCII = [
    ShopOrder("7001", "+79165830121", "Александр", "Prostonor", minutes_ago=8),
    ShopOrder("7002", "700000000000", "Николай", "Перуанская мака", minutes_ago=7),  # invalid
    ShopOrder("7003", "+79165830131", "Ольга", "Mangosteen", minutes_ago=6),
]
PAGE_SIZE = 2


def _crm_lines(crm: HttpJsonCrm, directory: Path) -> list[str]:
    lines = http_crm_section(crm, directory)
    return [*lines[:2], f"page_size = {PAGE_SIZE}", *lines[2:]]


def test_rule_6_a_1c_cyrillic_order_number_goes_from_intake_to_an_acknowledged_outcome(
    asterisk: AsteriskInstance, http_crm: HttpJsonCrm, tmp_path: Path
) -> None:
    orders = [NF, *ASCII]
    seed(http_crm, orders, datetime.now(UTC))
    dialer = DialerView(f"sqlite:///{tmp_path / 'dialer.db'}")
    config = write_config(tmp_path, asterisk, None, crm=_crm_lines(http_crm, tmp_path))
    run = ServiceProcess(config, dialer.url, asterisk, "run")
    try:
        answered = [NF.id, ASCII[0].id, ASCII[2].id]
        wait_for(lambda: dialer.settled(answered) and len(dialer.outbox()) == 4, 60, run)
        assert run.stop() == 0
    finally:
        run.ensure_gone()

    expected = {o.id: ("done", "confirmed") for o in orders} | {"7002": ("done", "invalid")}
    check_settled(dialer, http_crm, asterisk, orders, expected)  # each outcome applied once
    rows = [order_id for order_id, _key, _delivered in dialer.outbox()]
    assert rows.index(NF.id) < len(rows) - 1, rows  # another order's outcome came after it
    (key,) = applied_keys(http_crm, NF.id)
    assert key.startswith("НФ-00123:")
    assert http_crm.orders[NF.id]["status"] == "В буфер"
    posted = [h for m, p, h, _b in http_crm.server.requests if m == "POST" and p == "/outcomes"]
    encoded = urllib.parse.quote(key, safe=":")
    assert encoded in [h["idempotency-key"] for h in posted]
    assert all(h["idempotency-key"].isascii() for h in posted)
    pulls = [p for m, p, _h, _b in http_crm.server.requests if m == "GET" and "page=" in p]
    assert all(f"limit={PAGE_SIZE}" in p for p in pulls), pulls[:3]  # issue 13, item 2
    assert any("page=2" in p for p in pulls), pulls[:3]  # 4 orders: two pages of two
    log = run.new_log()
    assert " ERROR " not in log and "Traceback" not in run.output()
    dialer.dispose()


def test_a_stop_during_a_slow_outbox_flush_waits_for_it_and_never_runs_two_deliveries(
    asterisk: AsteriskInstance, http_crm: HttpJsonCrm, tmp_path: Path
) -> None:
    invalid = [ShopOrder(f"80{n}", "700000000000", f"Покупатель {n}", minutes_ago=9 - n)
               for n in range(4)]  # fmt: skip
    seed(http_crm, invalid, datetime.now(UTC))
    http_crm.server.post_delay_s = 1.0  # four outcomes: a flush of about four seconds
    dialer = DialerView(f"sqlite:///{tmp_path / 'dialer.db'}")
    config = write_config(tmp_path, asterisk, None, crm=http_crm_section(http_crm, tmp_path))
    run = ServiceProcess(config, dialer.url, asterisk, "run")
    try:
        wait_for(lambda: http_crm.server.posts_in_progress > 0, 30, run)
        assert run.stop() == 0
    finally:
        run.ensure_gone()

    assert http_crm.server.post_overlaps == 0, "two outbox workers delivered at once"
    log = run.new_log()
    assert "stopping: waiting for the outbox flush in progress" in log
    assert "CancelledError" not in log and " ERROR " not in log, log[-3000:]
    assert "stopped" in log
    expected = {o.id: ("done", "invalid") for o in invalid}
    check_settled(dialer, http_crm, asterisk, invalid, expected)  # all delivered, once each
    assert http_crm.duplicates == 0
    dialer.dispose()
