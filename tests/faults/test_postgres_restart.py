"""Issue 8: PostgreSQL restarted mid-run. The service keeps running, says "database down" on
/healthz while it is, resumes by itself, and loses or duplicates nothing.

The service runs on a dedicated cluster (not the session's shared one) against the real
Asterisk and the HTTP CRM double. Two customers are talking when the cluster is stopped;
both hang up while it is down, so their reports arrive with no database to write them to.
Two more orders wait in the queue. The cluster comes back after the outage and everything
settles: each order confirmed once, each outcome delivered once in order, one Originate per
attempt, nothing stuck.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asterisk_fixtures import AsteriskInstance
from crm_servers import HttpJsonCrm
from fault_harness import DialerView, PostgresCluster, check_settled, http_crm_section, seed
from local_services import free_port
from service_harness import ServiceProcess, ShopOrder, get_json, wait_for, write_config

pytestmark = [pytest.mark.asterisk, pytest.mark.postgres]

TALKING = [  # ...51: the customer answers and hangs up after 5 s
    ShopOrder("p1", "+79165831151", "Татьяна", "AlcoBlocker", minutes_ago=9),
    ShopOrder("p2", "+79165831251", "Александр", "Prostonor", minutes_ago=8),
]
WAITING = [  # ...21: answers, 2 s
    ShopOrder("p3", "+79165831321", "Николай", "Перуанская мака", minutes_ago=7),
    ShopOrder("p4", "+79165831421", "Ольга", "Mangosteen", minutes_ago=6),
]
ALL = [*TALKING, *WAITING]
OUTAGE_S = 8.0


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    own = PostgresCluster(f"kill_{os.getpid()}_{uuid.uuid4().hex[:6]}", free_port())
    own.start()
    try:
        yield own
    finally:
        own.remove()


def test_postgres_restart_mid_run_is_survived_reported_and_loses_nothing(
    asterisk: AsteriskInstance, http_crm: HttpJsonCrm, cluster: PostgresCluster, tmp_path: Path
) -> None:
    seed(http_crm, ALL, datetime.now(UTC))
    dialer = DialerView(cluster.url)
    crm = http_crm_section(http_crm, tmp_path)
    service = {"claim_lease_s": 3, "status_max_age_s": 5}
    config = write_config(tmp_path, asterisk, None, service=service, crm=crm)

    run = ServiceProcess(config, cluster.url, asterisk, "run")
    try:
        base = run.base_url()
        wait_for(lambda: _customers_talking(asterisk, dialer) == 2, 30, run)
        dialer.dispose()
        cluster.stop()
        stopped = time.monotonic()
        health = wait_for(lambda: _database_down(base), 10, run)
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped)))
        assert run.proc.poll() is None, "the service died with the database"
        cluster.start()
        outage_s = time.monotonic() - stopped
        wait_for(lambda: get_json(f"{base}/healthz")[1]["database"] == "ok", 20, run)
        wait_for(lambda: dialer.settled([o.id for o in ALL]), 40, run)
        resumed_s = time.monotonic() - stopped - outage_s
        assert run.stop() == 0
    finally:
        run.ensure_gone()

    assert health[0] == 503 and health[1]["database"].startswith("down"), health
    settled = check_settled(dialer, http_crm, asterisk, ALL)
    assert http_crm.duplicates == 0
    log = run.new_log()
    kept = re.findall(r"result of attempt (\S+) kept until the database is back", log)
    assert len(kept) == 2, log  # both calls ended while the database was down
    assert all(f"kept result of attempt {a} applied" in log for a in kept)
    assert [a.order_id for a in dialer.attempts()].count("p1") == 1  # reports kept, not lost
    dialer.dispose()
    print(f"\npostgres down {outage_s:.1f} s, all settled {resumed_s:.1f} s after it was back: "
          f"{settled}")  # fmt: skip


def _customers_talking(asterisk: AsteriskInstance, dialer: DialerView) -> int:
    live = [a for a in dialer.attempts() if a.ended_at is None]
    log = asterisk.full_log()
    return sum(f"DialerAccepted,AttemptId: {a.id}" in log for a in live)


def _database_down(base: str) -> tuple[int, dict[str, object]] | None:
    status, state = get_json(f"{base}/healthz")
    return (status, state) if str(state.get("database", "")).startswith("down") else None
