"""A campaign's view of its server's shared agent pool: only the agents it names.

Several campaigns on one server share one ``AgentPool`` (an agent is never offered two calls
at once); each campaign's dispatcher sees it through ``MemberAgents``: free and acquired
are counted among the campaign's member agents only, longest idle first as in the pool.
Pure: every method takes ``now``.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection
from datetime import datetime

from campaigns.settings import CampaignSettings
from dialer.dispatch.agents import AgentPool, AgentState


def members_on_server(
    campaign: CampaignSettings, server_agents: Collection[str]
) -> frozenset[str] | None:
    """The agents of ``server_agents`` that take ``campaign``'s calls: those its ``agents``
    names, or None (every agent of the server) when it names none."""
    if not campaign.agents:
        return None
    return frozenset(a for a in campaign.agents if a in server_agents)


class MemberAgents:
    """A campaign's view of its server's shared ``AgentPool``: only its member agents are
    counted free and acquired (longest idle first); releases go to the shared pool."""

    def __init__(self, pool: AgentPool, members: frozenset[str] | None) -> None:
        """``members``: the campaign's agents on the server; None: all of the pool's."""
        self.pool = pool
        self.members = members

    def idle_count(self, now: datetime) -> int:
        if self.members is None:
            return self.pool.idle_count(now)
        self.pool.idle_count(now)  # ends the wrap-ups over by now
        return sum(1 for a in self.members if self._idle(a))

    def acquire(self, now: datetime, *, only: str | None = None) -> str | None:
        """The longest-idle free member (ringing from now), or None; ``only``: that agent
        if it is a free member (an owned callback)."""
        if self.members is None:
            return self.pool.acquire(now, only=only)
        self.pool.idle_count(now)
        if only is not None:
            return self.pool.acquire(now, only=only) if only in self.members else None
        idle = [(self.pool.get(a).since, a) for a in self.members if self._idle(a)]
        if not idle:
            return None
        return self.pool.acquire(now, only=heapq.nsmallest(1, idle)[0][1])

    def knows(self, agent_id: str) -> bool:
        return self.pool.knows(agent_id) and (self.members is None or agent_id in self.members)

    def give_back(self, agent_id: str, now: datetime) -> None:
        self.pool.give_back(agent_id, now)

    def release(
        self, agent_id: str, now: datetime, *, missed: bool, owes: str | None = None
    ) -> None:
        self.pool.release(agent_id, now, missed=missed, owes=owes)

    def result_given(self, order_id: str, now: datetime) -> None:
        self.pool.result_given(order_id, now)

    def next_free_at(self) -> datetime | None:
        return self.pool.next_free_at()

    def _idle(self, agent_id: str) -> bool:
        return self.pool.knows(agent_id) and self.pool.get(agent_id).state is AgentState.IDLE
