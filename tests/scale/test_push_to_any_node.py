"""A load balancer may send the CRM's pushes to any node (docs/deployment.md): the same
order pushed to two nodes on one PostgreSQL at the same instant is admitted once, and both
nodes answer 2xx (issue 13, item 8: one of them answered an HTML 500 and the traceback went
to stderr only)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from asterisk_fixtures import AsteriskInstance
from local_services import fresh_database
from service_harness import ServiceProcess, ShopDb, ShopOrder, push, write_config
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dialer.storage.migrate import open_database
from dialer.storage.models import OrderRow

pytestmark = pytest.mark.asterisk

ROUNDS = 15


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    with fresh_database(postgres_url, "push") as url:
        open_database(url).dispose()  # migrated once, before both nodes start
        yield url


def start(name: str, asterisk: AsteriskInstance, db_url: str, root: Path) -> ServiceProcess:
    """A node with no agents: it admits what is pushed and dials nothing."""
    directory = root / name
    directory.mkdir()
    config = write_config(directory, asterisk, ShopDb(root / "shop.db"),
                          service={"node": name, "poll_interval_s": 0},
                          campaign={"agents": []})  # fmt: skip
    return ServiceProcess(config, db_url, asterisk, name)


def test_the_same_order_pushed_to_two_nodes_at_once_is_admitted_once_with_two_2xx(
    asterisk: AsteriskInstance, pg_url: str, tmp_path: Path
) -> None:
    nodes = [start(name, asterisk, pg_url, tmp_path) for name in ("p1", "p2")]
    try:
        bases = [node.base_url() for node in nodes]
        for node in nodes:
            node.wait_log(r"started; healthz", 30)
        answers = [_push_to_both(bases, n) for n in range(ROUNDS)]
        for node in nodes:
            assert node.stop() == 0
    finally:
        for node in nodes:
            node.ensure_gone()
    for n, pair in enumerate(answers):
        assert [status for status, _ in pair] == [200, 200], (n, pair)
        assert sorted(answer["admitted"] for _, answer in pair) == [0, 1], (n, pair)
    engine = open_database(pg_url)
    with Session(engine) as session:
        rows = session.scalar(select(func.count()).select_from(OrderRow))
    engine.dispose()
    assert rows == ROUNDS
    for node in nodes:
        assert "Traceback" not in node.output() + node.new_log()


def _push_to_both(bases: list[str], n: int) -> list[tuple[int, dict[str, Any]]]:
    """One push (one event id) sent to both nodes as a retrying balancer would, released
    to both at the same instant."""
    order = ShopOrder(f"77{n:03d}", f"+7916583{n:04d}", "Ирина", minutes_ago=0)
    barrier = threading.Barrier(len(bases))

    def send(base: str) -> tuple[int, dict[str, Any]]:
        barrier.wait()
        return push(base, [order], f"push-{order.id}")

    with ThreadPoolExecutor(len(bases)) as pool:
        return list(pool.map(send, bases))
