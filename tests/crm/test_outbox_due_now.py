"""The outbox after an outage: when the CRM answers again, rows waiting out their backoff are
due at once (tries kept), so delivery does not wait as long again as the outage lasted."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from crm_servers import HttpJsonCrm
from outbox_rows import add_outcome, outbox
from test_outbox_outage import _worker

from dialer.storage.migrate import open_database

T0 = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)


def test_due_now_ends_the_backoff_of_waiting_rows_and_keeps_their_tries(
    http_crm: HttpJsonCrm, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'dialer.db'}"
    engine = open_database(db_url)
    for order_id in ("A", "B"):
        http_crm.orders[order_id] = {"id": order_id, "status": "Ожидает подтверждения"}
        add_outcome(engine, order_id, T0)
    worker = _worker(db_url, http_crm, seed=3)
    http_crm.server.down = True
    now = T0
    for _ in range(6):  # every row tried each time; the backoff grows 10 s, 20 s, ...
        now = max(r.next_try_at for r in outbox(engine)).replace(tzinfo=UTC)
        assert worker.deliver_due(now) == 0
    waiting = outbox(engine)
    assert all(r.tries == 6 and r.next_try_at.replace(tzinfo=UTC) > now for r in waiting)
    http_crm.server.down = False
    assert worker.deliver_due(now) == 0  # still waiting out the backoff
    assert worker.due_now(now) == 2
    assert worker.due_now(now) == 0  # nothing left waiting
    assert worker.deliver_due(now) == 2
    assert [r.tries for r in outbox(engine)] == [7, 7]
    assert len(http_crm.applied) == 2 and http_crm.duplicates == 0
    engine.dispose()
