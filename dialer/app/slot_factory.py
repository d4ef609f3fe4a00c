"""Builds one server's objects (``ServerSlot``): its store (attempts record the server),
agent pool and registry sync, AMI link, dispatcher and dial round."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from campaigns.calls import CallReport
from campaigns.outcomes import CrmFields, OutcomeKind
from campaigns.settings import CampaignSettings
from dialer.ami.telephony import AmiTelephony
from dialer.app.agent_events import GuardedTelephony
from dialer.app.agent_feed import AgentFeed
from dialer.app.agent_sync import AgentSync
from dialer.app.auto_disposition import AutoDisposition
from dialer.app.server_slot import ServerSlot, ServerSlots, server_lock
from dialer.config.service import ServedServer, ServiceSettings
from dialer.dispatch.agents import AgentPool, AgentState
from dialer.dispatch.dispatcher import Dispatcher, Screen
from dialer.dispatch.pacing import Pacer
from dialer.dispatch.ports import Journal
from dialer.dispatch.round import DialRound, Outage, StatusReader
from dialer.dispatch.status_recheck import StatusRecheck
from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.engine import Database
from dialer.storage.orders import SqlOrderStore

Clock = Callable[[], datetime]


class _Reports:
    """Where a server's telephony reports go: its round, once the round exists; a report
    that could not be applied (the database is down) waits for the next round."""

    def __init__(self, wake: Callable[[], None], feed: AgentFeed) -> None:
        self._wake = wake
        self._feed = feed
        self.round: DialRound | None = None

    def now(self, report: CallReport) -> None:
        if self.round is None:  # AMI starts only once the slot is built
            raise RuntimeError(f"report {report.attempt_id} before its server's round exists")
        self._feed.ended(report)
        if self.round.on_report(report):  # a kept one waits for the next round
            self._wake()

    def next_turn(self, report: CallReport) -> None:
        """A refused dial's report, from inside ``dispatch``: applied on the next loop turn."""
        asyncio.get_running_loop().call_soon(self.now, report)


class SlotFactory:
    """Adds to ``slots`` one ``ServerSlot`` per served server (``add``)."""

    def __init__(
        self,
        settings: ServiceSettings,
        campaign: CampaignSettings,
        slots: ServerSlots,
        *,
        engine: Database,
        clock: Clock,
        mapping: Mapping[OutcomeKind, CrmFields],
        journal: Journal,
        screen: Screen,
        recheck: StatusRecheck,
        pacer: Pacer,
        status_reader: StatusReader,
        auto_disposition: AutoDisposition,
        paused: Callable[[str], bool],
        outage: Outage,
        on_originate_latency: Callable[[float], None],
        wake: Callable[[], None],
        rng: random.Random,
        feed: AgentFeed,
    ) -> None:
        self._settings, self._campaign, self._slots = settings, campaign, slots
        self._engine, self._clock, self._mapping = engine, clock, mapping
        self._journal, self._screen, self._recheck, self._pacer = journal, screen, recheck, pacer
        self._status_reader, self._auto, self._paused = status_reader, auto_disposition, paused
        self._outage, self._latency, self._wake, self._rng = (
            outage, on_originate_latency, wake, rng
        )  # fmt: skip
        self._feed = feed

    def add_all(self, served: Iterable[ServedServer]) -> ServerSlots:
        for one in served:
            self.add(one)
        return self._slots

    def add(self, served: ServedServer) -> ServerSlot:
        name, campaign, now = served.server.name, self._campaign, self._clock()
        agents = campaign.agents if served.server.agents is None else served.server.agents
        pool = AgentPool(agents, now, wrap_up_s=campaign.wrap_up_s,
                         miss_pause_after=campaign.agent_miss_pause_after,
                         wrap_up_max_s=self._auto.result_wait_s(campaign))  # fmt: skip
        store = SqlOrderStore(self._engine, campaign=campaign.name, node=self._settings.node,
                              lease=timedelta(seconds=self._settings.claim_lease_s),
                              mapping=dict(self._mapping), server=name)  # fmt: skip
        reports = _Reports(self._wake, self._feed)
        telephony = AmiTelephony(served.ami, reports.now, clock=self._clock,
                                 on_originate_latency=self._latency)  # fmt: skip
        guarded = GuardedTelephony(telephony, reports.next_turn, self._clock,
                                   offered=self._feed.offered)  # fmt: skip
        dispatcher = self._dispatcher(store, pool, guarded)
        sync = self._agent_sync(name, agents, pool, now)
        dial_round = DialRound(
            dispatcher,
            agent_sync=sync,
            pacer=self._pacer,
            line_room=lambda: self._slots.line_room(slot),  # the slot, built below
            recheck=self._recheck,
            status_reader=self._status_reader,
            auto_disposition=self._auto,
            dialling=lambda: slot.dialling,
            paused=lambda: self._paused(campaign.name),
            outage=self._outage,
        )
        slot = ServerSlot(name, server_lock(name, campaign.name),
                          served.server.line_cap(self._settings), store, pool, sync, telephony,
                          dispatcher, dial_round)  # fmt: skip
        reports.round = dial_round
        self._slots.add(slot)
        return slot

    def _dispatcher(
        self, store: SqlOrderStore, pool: AgentPool, telephony: GuardedTelephony
    ) -> Dispatcher:
        return Dispatcher(
            settings=self._campaign,
            store=store,
            telephony=telephony,
            agents=pool,
            journal=self._journal,
            screen=self._screen,
            new_attempt_id=lambda: str(uuid.uuid4()),
            jitter=self._rng.random,
            status_check=self._recheck.check,
        )

    def _agent_sync(
        self, server: str, agents: Sequence[str], pool: AgentPool, now: datetime
    ) -> AgentSync:
        """The server's agents in the agents table, where ops log them in, pause and
        resume them (`callback-dialer agents ...`); the pool follows it at every round."""
        registry = SqlAgentRegistry(self._engine)
        campaign = self._campaign
        registry.configure(campaign.name, agents, now, server=server,
                           channel_template=campaign.agent_channel_template)  # fmt: skip
        if self._settings.login_agents:
            for record in registry.all(campaign.name, server=server):
                if record.state is AgentState.LOGGED_OUT:
                    registry.login(record.id, now)
        return AgentSync(registry, pool, campaign=campaign.name, server=server,
                         on_written=self._feed.state)  # fmt: skip
