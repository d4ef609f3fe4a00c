"""Two campaigns of one service over one SQLite database and one agent pool: each its own
real store and dispatcher, and the service's ``Operations`` (the first campaign is the file's
first). For the tests of several campaigns in one service (issue 21)."""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path

from fakes import Recorder

from campaigns.orders import Order
from campaigns.screening import Screening, Verdict
from campaigns.settings import CampaignSettings
from dialer.app.operations import Operations
from dialer.dispatch.agents import AgentPool
from dialer.dispatch.dispatcher import Dispatcher
from dialer.dispatch.members import MemberAgents
from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.migrate import open_database
from dialer.storage.orders import SqlOrderStore


def moscow(order: Order, now: datetime) -> Screening:
    """Every order dialable, in Moscow."""
    del now
    return Screening(Verdict.DIAL, order.phone, ("Europe/Moscow",), order.id)


class CampaignPair:
    """``first`` and ``second`` with their agents in one pool; ``now`` is the service's
    clock (set it to move time), ``rec`` the telephony and journal double."""

    def __init__(
        self, tmp_path: Path, first: CampaignSettings, second: CampaignSettings, now: datetime
    ) -> None:
        self.engine = open_database(f"sqlite:///{tmp_path / 'dialer.db'}")
        self.now = now
        agents = tuple(sorted({*first.agents, *second.agents}))
        SqlAgentRegistry(self.engine).configure(first.name, agents, now)
        self.pool = AgentPool(agents, now, wrap_up_s=0, miss_pause_after=3)
        self.rec, ids = Recorder(), itertools.count(1)
        self.stores = {c.name: SqlOrderStore(self.engine, campaign=c.name) for c in (first, second)}
        self.dispatchers = {
            c.name: Dispatcher(
                settings=c, store=self.stores[c.name], telephony=self.rec,
                agents=MemberAgents(self.pool, frozenset(c.agents)), journal=self.rec,
                screen=moscow, new_attempt_id=lambda: f"att-{next(ids)}", jitter=lambda: 0.0,
            )
            for c in (first, second)
        }  # fmt: skip
        self.ops = Operations(engine=self.engine, dispatcher=self.dispatchers[first.name],
                              clock=lambda: self.now, wake=lambda: None, accept=lambda o: 0,
                              dispatchers=self.dispatchers)  # fmt: skip
