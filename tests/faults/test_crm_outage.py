"""Issue 8: the CRM down for 10 minutes while the service runs, time-compressed 20×.

Compression: every interval of the service that the outage is measured against is divided by
20, so 30 s of the test stand for the 10 minutes: CRM poll 30 s → 1.5 s, dispatch tick and
outbox flush 5 s → 0.25 s, status freshness 10 s → 0.5 s, status retry 5 s → 0.25 s, outbox
backoff 10 s doubling to 30 min → 0.5 s doubling to 90 s, the quick retry 120–180 s → 6–9 s
and the hourly retry → 180 s. Timeouts of single requests (2 s) are not scaled: they bound a
round trip, not the outage.

The real service runs against the real Asterisk and the HTTP CRM double. One customer is
talking and two ring unanswered when the CRM goes down: 503 for the first half of the outage,
connections refused for the second. Meanwhile the outcomes pile up in the outbox, the status
re-reads fail and the two unanswered orders, due again, are held: nothing is dialled without
a fresh status, and the service neither crashes nor stops answering /healthz. When the CRM is
back, every outcome is delivered once, in order per order, (the first successful CRM read ends the
outbox's backoff, so delivery does not wait out up to another outage's worth of backoff),
and the held orders are dialled again after a successful read.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asterisk_fixtures import AsteriskInstance
from crm_servers import HttpJsonCrm
from fault_harness import DialerView, check_settled, http_crm_section, seed
from service_harness import ServiceProcess, ShopOrder, get_json, wait_for, write_config

pytestmark = pytest.mark.asterisk

COMPRESSION = 20
OUTAGE_S = 600 / COMPRESSION
CONFIRMED = ShopOrder("c1", "+79165832151", "Татьяна", "AlcoBlocker", minutes_ago=9)  # talks 5 s
NO_ANSWER = [  # ...2: rings out unanswered
    ShopOrder("n1", "+79165832202", "Александр", "Prostonor", minutes_ago=8),
    ShopOrder("n2", "+79165832302", "Николай", "Перуанская мака", minutes_ago=7),
]
ALL = [CONFIRMED, *NO_ANSWER]
SERVICE = {  # the production defaults divided by COMPRESSION
    "poll_interval_s": 30 / COMPRESSION,
    "tick_s": 5 / COMPRESSION,
    "outbox_interval_s": 5 / COMPRESSION,
    "status_max_age_s": 10 / COMPRESSION,
    "status_retry_s": 5 / COMPRESSION,
    "outbox_backoff_s": 10 / COMPRESSION,
    "outbox_backoff_max_s": 1800 / COMPRESSION,
    "status_timeout_s": 2.0,
    "claim_lease_s": 3,
}
LADDER = {"quick_retries": 3, "quick_retry_min_s": 6, "quick_retry_max_s": 9,
          "slow_retry_s": 180}  # fmt: skip
AGENTS = {"agents": ["1001", "1011", "1021"]}


def test_crm_down_ten_minutes_compressed_holds_unchecked_dials_and_delivers_once_after(
    asterisk: AsteriskInstance, http_crm: HttpJsonCrm, tmp_path: Path
) -> None:
    seed(http_crm, ALL, datetime.now(UTC))
    dialer = DialerView(f"sqlite:///{tmp_path / 'dialer.db'}")
    crm = http_crm_section(http_crm, tmp_path)
    config = write_config(tmp_path, asterisk, None, service=SERVICE, campaign=AGENTS,
                          retry=LADDER, crm=crm)  # fmt: skip

    run = ServiceProcess(config, dialer.url, asterisk, "run")
    try:
        base = run.base_url()
        wait_for(lambda: _all_three_on_the_phone(asterisk, dialer), 30, run)
        http_crm.server.down = True  # 503 to everything
        down_at = datetime.now(UTC)
        time.sleep(OUTAGE_S / 2)
        http_crm.server.stop()  # then connections are refused
        time.sleep(OUTAGE_S / 2 - 1)
        health = get_json(f"{base}/healthz")
        piled = [k for _, k, delivered in dialer.outbox() if not delivered]
        tries = dialer.tries()
        time.sleep(1)
        assert run.proc.poll() is None, "the service died with the CRM"
        http_crm.server.down = False
        http_crm.server.start()
        up_at = datetime.now(UTC)
        wait_for(lambda: _back_to_normal(dialer, up_at), 60, run)
        delivered_s = (datetime.now(UTC) - up_at).total_seconds()
        assert run.stop() == 0
    finally:
        run.ensure_gone()

    assert health[1]["crm"] != "ok" and health[1]["database"] == "ok", health
    assert len(piled) >= 3, piled  # c1 confirmed, n1 and n2 unanswered: all waiting
    assert max(tries) >= 3, tries  # tried again and again, backing off
    held_from = down_at + timedelta(seconds=SERVICE["status_max_age_s"] + 1)
    during = [a for a in dialer.attempts() if held_from < a.started_at < up_at]
    assert during == [], "dialled while no status could be read"
    log = run.new_log()
    hurried = re.search(r"CRM answers again: (\d+) outcome\(s\) waiting out a backoff", log)
    # some of the piled rows may have come due by their own backoff in the same instant:
    # the first successful read makes the rest due (at least one was waiting, 30 s max)
    assert hurried is not None and int(hurried.group(1)) >= 1, log[-3000:]
    for order in NO_ANSWER:  # they were due, asked for, and held
        assert re.search(rf"status of order {order.id} not read", log), order.id
        assert any(a.started_at > up_at for a in dialer.attempts(order.id)), order.id
    expected = {o.id: ("queued", None) for o in NO_ANSWER} | {"c1": ("done", "confirmed")}
    settled = check_settled(dialer, http_crm, asterisk, ALL, expected)
    assert http_crm.duplicates == 0
    dialer.dispose()
    print(f"\nCRM down {OUTAGE_S:.0f} s (= 10 min at {COMPRESSION}x): {len(piled)} outcomes "
          f"piled, up to {max(tries)} tries each; all delivered {delivered_s:.1f} s after it "
          f"was back; {settled}")  # fmt: skip


def _all_three_on_the_phone(asterisk: AsteriskInstance, dialer: DialerView) -> bool:
    live = {a.order_id: a for a in dialer.attempts() if a.ended_at is None}
    if set(live) != {o.id for o in ALL}:
        return False
    return f"DialerAccepted,AttemptId: {live['c1'].id}" in asterisk.full_log()


def _back_to_normal(dialer: DialerView, up_at: datetime) -> bool:
    """Every outcome delivered, no call up, and each held order dialled again since."""
    attempts = dialer.attempts()
    redialled = all(
        any(a.order_id == o.id and a.started_at > up_at and a.ended_at for a in attempts)
        for o in NO_ANSWER
    )
    outbox = dialer.outbox()
    idle = all(a.ended_at is not None for a in attempts)
    return redialled and idle and all(d for _, _, d in outbox)
