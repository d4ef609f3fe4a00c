"""Business-rules §6: a CRM down for an hour while the dialer restarts loses nothing; when it
is back it receives every outcome once in effect, in order per order."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crm_servers import SECRET, HttpJsonCrm
from outbox_rows import add_outcome, outbox

from crm_adapter.http_json import HttpJsonAdapter, HttpJsonSettings
from dialer.delivery.outbox import OutboxWorker
from dialer.storage.migrate import open_database
from dialer.storage.outbox import SqlOutboxStore

T0 = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)


def _worker(db_url: str, crm: HttpJsonCrm, seed: int) -> OutboxWorker:
    url = crm.server.url
    settings = HttpJsonSettings(
        pull_url=f"{url}/orders", status_url=f"{url}/orders/{{id}}",
        outcome_url=f"{url}/outcomes", secret=SECRET, timeout_s=2,
    )  # fmt: skip
    adapter = HttpJsonAdapter(settings, clock=lambda: datetime.now(UTC))  # signing: real time
    return OutboxWorker(SqlOutboxStore(open_database(db_url)), adapter, rng=random.Random(seed))


def test_outage_and_restart_lose_nothing_and_deliver_once_in_order(
    http_crm: HttpJsonCrm, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'dialer.db'}"
    engine = open_database(db_url)
    for order_id in ("A", "B", "C"):
        http_crm.orders[order_id] = {"id": order_id, "status": "Ожидает подтверждения"}
    expected: dict[str, list[str]] = {"A": [], "B": [], "C": []}
    minute = 0
    for attempt in (1, 2, 3):
        for order_id in ("A", "B", "C"):
            at = T0 + timedelta(minutes=minute)
            row = add_outcome(engine, order_id, at, attempt_no=attempt,
                              comment=f"10.03 - не отвечает-{attempt}")  # fmt: skip
            expected[order_id].append(f"{order_id}:{row}")
            minute += 1
    # B's first outcome reached the CRM just before the dialer crashed, unmarked.
    http_crm.keys.add(expected["B"][0])
    http_crm.applied.append({"order_id": "B", "event_id": expected["B"][0], "status": "Недозвон"})

    http_crm.server.down = True  # 503 for the first half hour
    first = _worker(db_url, http_crm, seed=1)
    assert first.deliver_due(T0 + timedelta(minutes=10)) == 0
    assert first.deliver_due(T0 + timedelta(minutes=30)) == 0
    http_crm.server.down = False
    http_crm.server.stop()  # then connections are refused
    assert first.deliver_due(T0 + timedelta(minutes=50)) == 0
    rows = outbox(engine)
    assert all(r.delivered_at is None and not r.dead for r in rows)
    assert [r.tries for r in rows] == [3, 3, 3] + [0] * 6  # later rows wait behind the first

    del first  # the dialer restarts: a new worker on the same database file
    http_crm.server.start()
    second = _worker(db_url, http_crm, seed=2)
    now = T0 + timedelta(hours=1, minutes=10)
    delivered = 0
    while delivered < 9 and now < T0 + timedelta(hours=4):
        delivered += second.deliver_due(now)
        now += timedelta(minutes=5)

    assert delivered == 9
    rows = outbox(engine)
    assert all(r.delivered_at is not None and not r.dead for r in rows)
    for order_id, keys in expected.items():
        applied = [a["event_id"] for a in http_crm.applied if a["order_id"] == order_id]
        assert applied == keys, order_id  # each once, in the order they happened
    assert http_crm.duplicates == 1  # B's first: acknowledged, not applied again
    engine.dispose()
