"""Nodes starting at once on a fresh database all create the campaign's row: one wins, none
fails (a look-up before the insert let two through and failed the second on pk_campaigns,
seen as a node exiting 1 at start in tests/scale/test_push_to_any_node.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from local_services import fresh_database
from sqlalchemy import Engine

from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.campaigns import SqlCampaignStore
from dialer.storage.migrate import open_database
from dialer.storage.orders import SqlOrderStore

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
NODES = 4


@pytest.fixture(params=["sqlite", "postgresql"])
def engines(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[Engine]]:
    """One engine per node, all on one fresh database."""

    def on(url: str) -> Iterator[list[Engine]]:
        made = [open_database(url) for _ in range(NODES)]
        yield made
        for engine in made:
            engine.dispose()

    if request.param == "sqlite":
        yield from on(f"sqlite:///{tmp_path / 'race.db'}")
    else:
        with fresh_database(request.getfixturevalue("postgres_url"), "race") as url:
            yield from on(url)


STARTS: dict[str, Callable[[Engine, str], object]] = {
    "order store": lambda engine, name: SqlOrderStore(engine, campaign=name),
    "agents table": lambda engine, name: SqlAgentRegistry(engine).configure(name, ["1001"], NOW),
    "campaign table": lambda engine, name: SqlCampaignStore(engine).set_paused(name, NOW, None),
}


@pytest.mark.parametrize("start", list(STARTS))
def test_nodes_starting_at_once_create_the_campaign_row_once(
    engines: list[Engine], start: str
) -> None:
    make = STARTS[start]
    for n in range(10):
        name, barrier = f"shop-{n}", threading.Barrier(NODES)

        def node(engine: Engine, name: str = name, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            make(engine, name)

        with ThreadPoolExecutor(NODES) as pool:
            list(pool.map(node, engines))  # re-raises what any node raised
        assert [c.name for c in SqlCampaignStore(engines[0]).all()].count(name) == 1
