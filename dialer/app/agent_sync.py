"""Keeps a running service's agent pool and the agents table in step (the pool stays pure).

``load`` fills the pool from the table at start-up. Each ``sync`` then
1. applies what ops changed in the table since this service last wrote it (login, logout,
   pause, resume from the CLI); a logout or pause of an agent on a call waits until the call
   ends (the request stays in the table and is applied at the first sync after it);
2. writes the pool's changes back (``SqlAgentRegistry.record``, compare-and-set), so ops see
   ringing, on call, wrap-up and automatic pauses with their reasons.
A change is told from our own by comparing the row's (state, reason) with what this service
wrote last.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime

from dialer.dispatch.agents import Agent, AgentError, AgentPool, AgentState
from dialer.storage.agents import AgentRecord, SqlAgentRegistry, StateKey
from dialer.storage.models import DEFAULT_SERVER

_BUSY = (AgentState.RINGING, AgentState.ON_CALL)


class AgentSync:
    """The coordinator between one server's ``AgentPool`` and ``SqlAgentRegistry``; only
    the agents bound to ``server`` (the node's Asterisk server) ever reach the pool: those
    of ``campaign``, or (several campaigns share the pool) those of ``agents``."""

    def __init__(
        self,
        registry: SqlAgentRegistry,
        pool: AgentPool,
        *,
        campaign: str | None,
        server: str = DEFAULT_SERVER,
        agents: Collection[str] | None = None,
        on_written: Callable[[Agent], None] | None = None,
    ) -> None:
        """``on_written`` hears each agent state written to the table (the agents' pages)."""
        self._on_written = on_written
        self._registry = registry
        self._pool = pool
        self._campaign = campaign
        self._server = server
        self._agents = None if agents is None else frozenset(agents)
        self._written: dict[str, StateKey] = {}
        self._unwritten: set[str] = set()  # pool changes a failed write did not store

    def load(self, now: datetime, *, busy: Collection[str] = ()) -> None:
        """Put every agent of the campaign in the pool as the table has it. ``busy``: agents
        with a live attempt (after a restart); an agent the table shows ringing or on a call
        but with no live attempt is idle again."""
        for record in self._rows():
            self._restore(record, now, busy)
        self.sync(now)

    def sync(self, now: datetime) -> list[str]:
        """Apply ops' changes to the pool, then persist the pool's; returns the ids of the
        agents whose ops change was applied."""
        rows = {r.id: r for r in self._rows()}
        applied: list[str] = []
        waiting: set[str] = set()
        for record in rows.values():
            if not self._pool.knows(record.id):
                self._restore(record, now, busy=())  # configured while running
            elif record.key != self._written.get(record.id):
                if self._apply(record, now):
                    applied.append(record.id)
                else:
                    waiting.add(record.id)
        changed = {a.id for a in self._pool.changes()} | set(applied) | self._unwritten
        # the pool hands its changes over once: keep them until a write succeeds
        self._unwritten = {a for a in changed if a in rows}
        ids = sorted(self._unwritten - waiting)
        agents = [(self._pool.get(a), rows[a].key) for a in ids]
        for agent_id in self._registry.record_many(agents):  # one transaction per sync
            agent = self._pool.get(agent_id)
            self._written[agent_id] = (agent.state, agent.paused_reason)
            if self._on_written is not None:
                self._on_written(agent)
        self._unwritten -= set(ids)
        return applied

    def _rows(self) -> list[AgentRecord]:
        rows = self._registry.all(self._campaign, server=self._server)
        return rows if self._agents is None else [r for r in rows if r.id in self._agents]

    def _restore(self, record: AgentRecord, now: datetime, busy: Collection[str]) -> None:
        state, since = record.state, record.state_since
        if record.id in busy:
            state = state if state in _BUSY else AgentState.RINGING
        elif state in _BUSY:
            state, since = AgentState.IDLE, now
        self._pool.restore(
            record.id,
            state,
            since,
            paused_reason=record.paused_reason,
            consecutive_misses=record.consecutive_misses,
            last_call_ended_at=record.last_call_ended_at,
        )
        self._written[record.id] = record.key
        if state is not record.state:
            self._write(record.id, record.key)

    def _apply(self, record: AgentRecord, now: datetime) -> bool:
        """Make the pool agree with an ops change; False if it must wait for a call's end."""
        pool, agent_id = self._pool, record.id
        try:
            if record.state is AgentState.LOGGED_OUT:
                pool.logout(agent_id, now)
            elif record.state is AgentState.PAUSED:
                pool.pause(agent_id, now, record.paused_reason or "")
            elif pool.get(agent_id).state in (AgentState.LOGGED_OUT, AgentState.PAUSED):
                pool.login(agent_id, now)
        except AgentError:
            return False
        return True

    def _write(self, agent_id: str, expected: StateKey) -> None:
        agent = self._pool.get(agent_id)
        if self._registry.record(agent, expected=expected):
            self._written[agent_id] = (agent.state, agent.paused_reason)
