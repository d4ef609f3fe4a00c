"""Builds one server's objects (``ServerSlot``): its AMI link, its agent pool (shared by
the service's campaigns) and registry sync, and per campaign a store (attempts record the
server), a dispatcher and a dial round.

Membership (docs/campaigns.md): the server's pool holds ``[ami.servers.NAME] agents`` when
given, else every agent the campaigns name; a campaign's dispatcher sees the agents of the
pool its ``agents`` names (all of them when it names none). The agents table's one
``campaign`` column is the agent's home campaign, for display: the first campaign in the
offer order that the agent takes calls of."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial

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
from dialer.dispatch.campaign_offer import CampaignRounds, Lane, offer_order
from dialer.dispatch.dispatcher import Dispatcher, Screen
from dialer.dispatch.members import MemberAgents, members_on_server
from dialer.dispatch.pacing import Pacer
from dialer.dispatch.ports import Journal
from dialer.dispatch.round import DialRound, Outage, StatusReader
from dialer.dispatch.status_recheck import StatusRecheck
from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.engine import Database
from dialer.storage.orders import SqlOrderStore

Clock = Callable[[], datetime]


class _Reports:
    """Where a server's telephony reports go: the round of the campaign that started the
    attempt, once the rounds exist; a report that could not be applied (the database is
    down) waits for the next round."""

    def __init__(self, wake: Callable[[], None], feed: AgentFeed) -> None:
        self._wake = wake
        self._feed = feed
        self.round: CampaignRounds | None = None

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
        campaigns: Sequence[CampaignSettings],
        slots: ServerSlots,
        *,
        engine: Database,
        clock: Clock,
        mapping: Mapping[OutcomeKind, CrmFields],
        journal: Journal,
        screen: Callable[[CampaignSettings], Screen],
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
        """``campaigns``: the service's campaigns in the file's order (the first is the one
        admission and the singular ops routes use); ``screen`` builds a campaign's screen."""
        self._settings, self._campaigns, self._slots = settings, tuple(campaigns), slots
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
        name, now, first = served.server.name, self._clock(), self._campaigns[0]
        agents = self._server_agents(served)
        pool = AgentPool(agents, now, wrap_up_s=first.wrap_up_s,
                         miss_pause_after=first.agent_miss_pause_after,
                         wrap_up_max_s=self._auto.result_wait_s(first))  # fmt: skip
        reports = _Reports(self._wake, self._feed)
        telephony = AmiTelephony(served.ami, reports.now, clock=self._clock,
                                 on_originate_latency=self._latency)  # fmt: skip
        guarded = GuardedTelephony(telephony, reports.next_turn, self._clock,
                                   offered=self._feed.offered)  # fmt: skip
        sync = self._agent_sync(name, agents, pool, now)
        stores = {c.name: self._store(c, name) for c in self._campaigns}
        lanes = [
            self._lane(c, stores[c.name], MemberAgents(pool, _members(c, agents)), guarded,
                       sync=sync, slot=lambda: slot)
            for c in self._campaigns
        ]  # fmt: skip
        rounds = CampaignRounds(lanes)
        slot = ServerSlot(name, server_lock(name, first.name),
                          served.server.line_cap(self._settings), stores[first.name], pool,
                          sync, telephony, lanes[0].round.dispatcher, rounds,
                          stores=stores)  # fmt: skip
        reports.round = rounds
        self._slots.add(slot)
        return slot

    def _server_agents(self, served: ServedServer) -> tuple[str, ...]:
        """The server's pool: its own ``agents`` list, else every agent a campaign names."""
        if served.server.agents is not None:
            return served.server.agents
        return tuple(dict.fromkeys(a for c in self._campaigns for a in c.agents))

    def _store(self, campaign: CampaignSettings, server: str) -> SqlOrderStore:
        return SqlOrderStore(self._engine, campaign=campaign.name, node=self._settings.node,
                             lease=timedelta(seconds=self._settings.claim_lease_s),
                             mapping=dict(self._mapping), server=server)  # fmt: skip

    def _lane(
        self,
        campaign: CampaignSettings,
        store: SqlOrderStore,
        agents: MemberAgents,
        telephony: GuardedTelephony,
        *,
        sync: AgentSync,
        slot: Callable[[], ServerSlot],
    ) -> Lane:
        dispatcher = self._dispatcher(campaign, store, agents, telephony)
        dial_round = DialRound(
            dispatcher,
            agent_sync=sync,
            pacer=self._pacer,  # one pacer for every campaign and server: the carrier's cps
            line_room=lambda: self._slots.line_room(slot(), dispatcher.settings),
            recheck=self._recheck,
            status_reader=self._status_reader,
            auto_disposition=self._auto,
            dialling=lambda: slot().dialling,
            paused=lambda: self._paused(campaign.name),
            outage=self._outage,
        )
        return Lane(campaign, dial_round)

    def _dispatcher(
        self,
        campaign: CampaignSettings,
        store: SqlOrderStore,
        agents: MemberAgents,
        telephony: GuardedTelephony,
    ) -> Dispatcher:
        return Dispatcher(
            settings=campaign,
            store=store,
            telephony=telephony,
            agents=agents if agents.members is not None else agents.pool,
            journal=self._journal,
            screen=self._screen(campaign),
            new_attempt_id=lambda: str(uuid.uuid4()),
            jitter=self._rng.random,
            status_check=partial(self._recheck.check, settings=campaign),
        )

    def _agent_sync(
        self, server: str, agents: Sequence[str], pool: AgentPool, now: datetime
    ) -> AgentSync:
        """The server's agents in the agents table, where ops log them in, pause and
        resume them (`callback-dialer agents ...`); the pool follows it at every round.
        With one campaign the table is read by campaign, as always; with several, by the
        pool's agent ids (the row's campaign is only the agent's home campaign)."""
        registry = SqlAgentRegistry(self._engine)
        homes = self._homes(agents)
        for campaign in reversed(offer_order(self._campaigns)):  # the home campaign last
            mine = [a for a in agents if homes[a] == campaign.name]
            registry.configure(campaign.name, mine, now, server=server,
                               channel_template=campaign.agent_channel_template)  # fmt: skip
        single = len(self._campaigns) == 1
        only: Collection[str] | None = None if single else frozenset(agents)
        home: str | None = self._campaigns[0].name if single else None
        if self._settings.login_agents:
            for record in registry.all(home, server=server):
                if record.state is AgentState.LOGGED_OUT and (only is None or record.id in only):
                    registry.login(record.id, now)
        return AgentSync(registry, pool, campaign=home, server=server, agents=only,
                         on_written=self._feed.state)  # fmt: skip

    def _homes(self, agents: Sequence[str]) -> dict[str, str]:
        """Each agent's home campaign: the first in the offer order it takes calls of."""
        homes: dict[str, str] = {}
        for campaign in offer_order(self._campaigns):
            members = members_on_server(campaign, agents)
            for agent in agents if members is None else sorted(members):
                homes.setdefault(agent, campaign.name)
        return {a: homes.get(a, self._campaigns[0].name) for a in agents}


def _members(campaign: CampaignSettings, agents: Sequence[str]) -> frozenset[str] | None:
    """``campaign``'s agents on a server, or None when they are all the server's (the
    dispatcher then takes the pool itself, as with one campaign)."""
    members = members_on_server(campaign, agents)
    return None if members is None or members >= set(agents) else members
