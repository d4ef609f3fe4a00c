"""`callback-dialer run` end to end: the real service process, the real Asterisk, the SQL CRM
adapter over a shop database in SQLite.

Numbers select the callee doubles (config/asterisk/README.md): customers ending in 1 answer
(the digit before: seconds on the line), 3 busy, 5 unallocated; agents ending in 1 press 1.
The window is open all day; retries are short (quick 2–3 s twice, then every 5 s).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asterisk_fixtures import AsteriskInstance
from service_harness import (
    DialerDb,
    ServiceProcess,
    ShopDb,
    ShopOrder,
    get_json,
    originates_seen,
    post_json,
    wait_for,
    write_config,
)

pytestmark = pytest.mark.asterisk

CONFIRMS = ShopOrder("5001", "+79165830221", "Татьяна", "AlcoBlocker", minutes_ago=9)
BUSY = ShopOrder("5002", "+79165830203", "Александр", "Prostonor", minutes_ago=8)
UNALLOCATED = ShopOrder("5003", "+79165830305", "Николай", "Перуанская мака", minutes_ago=7)
FAKE_NUMBER = ShopOrder("5004", "700000000000", "Иван", "NicoFrost", minutes_ago=6)
CANCELLED_WHILE_WAITING = ShopOrder("5005", "+79165830521", "Ольга", "Mangosteen", minutes_ago=5)


def test_rule_5_a_mixed_batch_ends_in_the_right_outcomes_attempts_and_spacing(
    asterisk: AsteriskInstance, tmp_path: Path
) -> None:
    shop = ShopDb(tmp_path / "shop.db")
    orders = [CONFIRMS, BUSY, UNALLOCATED, FAKE_NUMBER, CANCELLED_WHILE_WAITING]
    shop.seed(orders, datetime.now(UTC))
    dialer = DialerDb(tmp_path / "dialer.db")
    config = write_config(tmp_path, asterisk, shop, service={"status_max_age_s": 0.5})
    service = ServiceProcess(config, dialer.url, asterisk, "run")
    try:
        service.wait_log(r"admitted 4 new order\(s\)")
        shop.set_status(CANCELLED_WHILE_WAITING.id, "Отменён")  # a person cancels it meanwhile
        wait_for(lambda: len(dialer.attempts(BUSY.id)) >= 4, 60, service)
        wait_for(lambda: dialer.order(CONFIRMS.id)[1] == "confirmed", 30, service)
        assert service.stop() == 0
    finally:
        service.ensure_gone()

    log = service.new_log()
    assert "stopped" in log
    assert dialer.order(CONFIRMS.id) == ("done", "confirmed")
    assert dialer.order(UNALLOCATED.id) == ("done", "invalid")
    assert dialer.order(FAKE_NUMBER.id) == ("done", "invalid")
    assert dialer.order(CANCELLED_WHILE_WAITING.id) == ("done", "skipped")
    assert "order 5005 leaves the queue: never-touch status 'Отменён'" in log

    assert [a.result for a in dialer.attempts(CONFIRMS.id)] == ["answered"]
    assert [a.result for a in dialer.attempts(UNALLOCATED.id)] == ["invalid_number"]
    assert dialer.attempts(FAKE_NUMBER.id) == []
    assert dialer.attempts(CANCELLED_WHILE_WAITING.id) == []

    busy = [a for a in dialer.attempts(BUSY.id) if a.ended_at is not None]
    assert len(busy) >= 4
    assert all(a.result == "busy" and a.customer_attempt for a in busy)
    gaps = [b.started_at - a.ended_at for a, b in itertools.pairwise(busy) if a.ended_at]
    assert all(timedelta(seconds=2) <= g < timedelta(seconds=6) for g in gaps[:2]), gaps
    assert timedelta(seconds=5) <= gaps[2] < timedelta(seconds=9), gaps

    # every outcome reached the shop's database, in the manuals' words
    assert dialer.undelivered() == 0
    assert shop.row(CONFIRMS.id)["status"] == "В буфер"
    assert shop.row(UNALLOCATED.id)["status"] == "Невалид"
    fake = shop.row(FAKE_NUMBER.id)
    assert (fake["status"], fake["problem"], fake["call_made"]) == (
        "Невалид", "Невалидный номер", "Не совершался"
    )  # fmt: skip
    assert shop.row(BUSY.id)["status"] == "Недозвон"
    assert "не отвечает-" in shop.row(BUSY.id)["comment"]
    cancelled = shop.row(CANCELLED_WHILE_WAITING.id)
    assert (cancelled["status"], cancelled["comment"]) == ("Отменён", None)

    # one Originate per attempt on Asterisk's side, none without an attempt row
    for attempt in dialer.attempts():
        assert originates_seen(asterisk, attempt.id) == 1, attempt


def test_intake_and_healthz_answer_on_the_service_loop(
    asterisk: AsteriskInstance, tmp_path: Path
) -> None:
    shop = ShopDb(tmp_path / "shop.db")
    dialer = DialerDb(tmp_path / "dialer.db")
    config = write_config(tmp_path, asterisk, shop, service={"poll_interval_s": 0})
    service = ServiceProcess(config, dialer.url, asterisk, "run")
    try:
        base = service.base_url()
        status, health = wait_for(lambda: _healthy(base), 20, service)
        assert status == 200
        assert health["ami"] == "ready"
        assert set(health["agents"]) == {"1001", "1011"}

        unsigned = post_json(
            f"{base}/intake", b'{"orders": []}', {"Content-Type": "application/json"}
        )
        assert unsigned[0] == 401
        assert "X-Dialer-Timestamp" in unsigned[1]["error"]
        assert get_json(f"{base}/nothing-here")[0] == 404
        assert service.stop() == 0
    finally:
        service.ensure_gone()


def _healthy(base: str) -> tuple[int, dict[str, object]] | None:
    try:
        answer = get_json(f"{base}/healthz")
    except OSError:
        return None
    return answer if answer[0] == 200 else None
