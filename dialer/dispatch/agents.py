"""The agent pool: who may take the next call (longest idle first, never two at once).

Pure and in memory: every method takes ``now``. Whoever persists the pool drains
``changes()`` (the agents whose state, reason or counters moved since the last drain).
A device that cannot ring (AMI UNAVAILABLE) pauses its agent with ``DEVICE_UNAVAILABLE``
as the reason; the agent is offered calls again when the device comes back.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

DEVICE_UNAVAILABLE = "устройство недоступно"
NO_RESULT = "нет результата по заказу {order}"  # the pause after a result never given


class AgentError(Exception):
    """An agent operation named an unknown agent or an impossible state change."""


class AgentState(enum.Enum):
    LOGGED_OUT = "logged_out"
    IDLE = "idle"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


@dataclass(slots=True)
class Agent:
    id: str
    state: AgentState
    since: datetime
    consecutive_misses: int = 0
    paused_reason: str | None = None
    busy_seconds: float = 0.0
    busy_from: datetime | None = None
    calls: int = 0
    last_call_ended_at: datetime | None = None
    device_unavailable: bool = False
    owes_result: str | None = None  # the order whose result this agent still has to give
    wrap_until: datetime | None = None  # when the wrap-up (or the wait for a result) ends


class _WrapUps:
    """When each agent's wrap-up ends: a heap of (end, agent id); an entry is in force
    while the agent is in wrap-up and its ``wrap_until`` is that end (later ones supersede)."""

    def __init__(self, agents: dict[str, Agent]) -> None:
        self._agents = agents
        self._heap: list[tuple[datetime, str]] = []

    def until(self, agent: Agent, end: datetime) -> None:
        agent.wrap_until = end
        heapq.heappush(self._heap, (end, agent.id))

    def next_end(self) -> datetime | None:
        while self._heap and not self._in_force(*self._heap[0]):
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def any_over(self, now: datetime) -> bool:
        """Some heap entry ends by ``now`` (in force or not): ``ended`` has work."""
        return bool(self._heap) and self._heap[0][0] <= now

    def ended(self, now: datetime) -> Iterator[tuple[datetime, Agent]]:
        """The wrap-ups over by ``now``, earliest first (each once)."""
        while self._heap and self._heap[0][0] <= now:
            end, agent_id = heapq.heappop(self._heap)
            if self._in_force(end, agent_id):
                yield end, self._agents[agent_id]

    def _in_force(self, end: datetime, agent_id: str) -> bool:
        agent = self._agents[agent_id]
        return agent.state is AgentState.WRAP_UP and agent.wrap_until == end


class AgentPool:
    """In-memory agent states. Idle agents sit in a heap keyed by when they became idle,
    so the longest-idle agent is taken first in O(log n)."""

    def __init__(
        self,
        agent_ids: Iterable[str],
        now: datetime,
        *,
        wrap_up_s: int,
        miss_pause_after: int,
        wrap_up_max_s: int | None = None,
    ) -> None:
        """``wrap_up_max_s``: results come from the agents, so an agent whose call was
        answered is offered nothing until it gives the result or this runs out (then it is
        paused with ``NO_RESULT``). None: results come by themselves (the plain wrap-up)."""
        self._agents = {a: Agent(a, AgentState.IDLE, now) for a in agent_ids}
        self._idle: list[tuple[datetime, str]] = [(now, a) for a in sorted(self._agents)]
        heapq.heapify(self._idle)
        self._idle_n = len(self._agents)
        self._wraps = _WrapUps(self._agents)
        self._wrap_up = timedelta(seconds=wrap_up_s)
        self._wrap_up_max = None if wrap_up_max_s is None else timedelta(seconds=wrap_up_max_s)
        self._miss_pause_after = miss_pause_after
        self._changed: set[str] = set()

    def get(self, agent_id: str) -> Agent:
        try:
            return self._agents[agent_id]
        except KeyError:
            raise AgentError(f"unknown agent {agent_id!r}") from None

    def all(self) -> list[Agent]:
        return sorted(self._agents.values(), key=lambda a: a.id)

    def knows(self, agent_id: str) -> bool:
        return agent_id in self._agents

    def changes(self) -> list[Agent]:
        """Copies of the agents changed since the last call, by id; clears the set."""
        changed = [replace(self._agents[a]) for a in sorted(self._changed)]
        self._changed.clear()
        return changed

    def restore(
        self,
        agent_id: str,
        state: AgentState,
        since: datetime,
        *,
        paused_reason: str | None = None,
        consecutive_misses: int = 0,
        last_call_ended_at: datetime | None = None,
    ) -> None:
        """Put an agent back as it was persisted (at start-up). An idle agent keeps its
        place in the longest-idle order; a wrap-up ends ``wrap_up_s`` after ``since``."""
        agent = self._agents.get(agent_id) or Agent(agent_id, AgentState.LOGGED_OUT, since)
        self._agents[agent_id] = agent
        agent.consecutive_misses = consecutive_misses
        agent.last_call_ended_at = last_call_ended_at
        agent.paused_reason = paused_reason if state is AgentState.PAUSED else None
        agent.device_unavailable = agent.paused_reason == DEVICE_UNAVAILABLE
        if state is AgentState.IDLE:
            self._set(agent_id, AgentState.IDLE, since)
        else:
            self._set(agent_id, state, since)
        if state is AgentState.WRAP_UP:
            self._wraps.until(agent, since + self._wrap_up)
        if state in (AgentState.RINGING, AgentState.ON_CALL):
            agent.busy_from = since
        self._changed.discard(agent_id)

    def idle_count(self, now: datetime) -> int:
        self._finish_wrap_ups(now)
        return self._idle_n

    def acquire(self, now: datetime, *, only: str | None = None) -> str | None:
        """Take the longest-idle agent and mark it ringing, or None if nobody is free;
        ``only``: that agent if it is idle (an owned callback), else None."""
        self._finish_wrap_ups(now)
        if only is not None:
            owner = self._agents.get(only)
            if owner is None or owner.state is not AgentState.IDLE:
                return None
            self._set(only, AgentState.RINGING, now)  # its idle-heap entry is stale now
            owner.busy_from = now
            return only
        while self._idle:
            since, agent_id = heapq.heappop(self._idle)
            agent = self._agents[agent_id]
            if agent.state is AgentState.IDLE and agent.since == since:  # else: stale entry
                self._set(agent_id, AgentState.RINGING, now)
                agent.busy_from = now
                return agent_id
        return None

    def give_back(self, agent_id: str, now: datetime) -> None:
        """An agent taken by ``acquire`` whose call was never placed (the attempt could not
        be stored) is idle again; no call is counted."""
        self.get(agent_id).busy_from = None
        self._set(agent_id, AgentState.IDLE, now)

    def connected(self, agent_id: str, now: datetime) -> None:
        self._set(agent_id, AgentState.ON_CALL, now)

    def release(
        self, agent_id: str, now: datetime, *, missed: bool, owes: str | None = None
    ) -> None:
        """The agent's call ended. ``missed``: the agent did not press 1 or answer.
        ``owes``: the call was answered and order ``owes`` waits for this agent's result."""
        agent = self.get(agent_id)
        if agent.busy_from is not None:
            agent.busy_seconds += (now - agent.busy_from).total_seconds()
            agent.busy_from = None
        agent.calls += 1
        agent.last_call_ended_at = now
        agent.consecutive_misses = agent.consecutive_misses + 1 if missed else 0
        if missed and agent.consecutive_misses >= self._miss_pause_after:
            self._set(agent_id, AgentState.PAUSED, now)
            agent.paused_reason = f"пропущено вызовов подряд: {agent.consecutive_misses}"
        elif agent.device_unavailable:
            self._set(agent_id, AgentState.PAUSED, now)
            agent.paused_reason = DEVICE_UNAVAILABLE
        elif owes is not None and self._wrap_up_max is not None:
            self._set(agent_id, AgentState.WRAP_UP, now)
            agent.owes_result = owes
            self._wraps.until(agent, now + self._wrap_up_max)
        elif missed or not self._wrap_up:
            self._set(agent_id, AgentState.IDLE, now)
        else:
            self._set(agent_id, AgentState.WRAP_UP, now)
            self._wraps.until(agent, now + self._wrap_up)

    def result_given(self, order_id: str, now: datetime) -> None:
        """The result of ``order_id`` is in: the agent who owed it ends its wrap-up when
        the plain one would have (``wrap_up_s`` after the call), or at once if that passed."""
        for agent in self._agents.values():
            if agent.owes_result == order_id:  # only ever set while in wrap-up
                agent.owes_result = None
                self._wraps.until(agent, max(now, agent.since + self._wrap_up))
                self._finish_wrap_ups(now)

    def pause(self, agent_id: str, now: datetime, reason: str) -> None:
        agent = self.get(agent_id)
        if agent.state in (AgentState.RINGING, AgentState.ON_CALL):
            raise AgentError(f"agent {agent_id} is {agent.state.value}; pause after the call")
        self._set(agent_id, AgentState.PAUSED, now)
        agent.paused_reason = reason

    def login(self, agent_id: str, now: datetime) -> None:
        """Log in or resume: the agent becomes idle (misses forgiven), or stays paused with
        ``DEVICE_UNAVAILABLE`` while its device cannot ring."""
        agent = self._agents.setdefault(agent_id, Agent(agent_id, AgentState.LOGGED_OUT, now))
        if agent.state in (AgentState.LOGGED_OUT, AgentState.PAUSED):
            agent.consecutive_misses = 0
            if agent.device_unavailable:
                self._set(agent_id, AgentState.PAUSED, now)
                agent.paused_reason = DEVICE_UNAVAILABLE
            else:
                agent.paused_reason = None
                self._set(agent_id, AgentState.IDLE, now)

    resume = login

    def logout(self, agent_id: str, now: datetime) -> None:
        agent = self.get(agent_id)
        if agent.state in (AgentState.RINGING, AgentState.ON_CALL):
            raise AgentError(f"agent {agent_id} is {agent.state.value}; log out after the call")
        agent.paused_reason = None
        self._set(agent_id, AgentState.LOGGED_OUT, now)

    def device_unavailable(self, agent_id: str, now: datetime) -> None:
        """The agent's device cannot ring: an idle agent (or one in wrap-up) is paused with
        ``DEVICE_UNAVAILABLE``; a busy one when its call ends. Unknown agents are ignored
        (device events arrive for every device of the PBX)."""
        agent = self._agents.get(agent_id)
        if agent is None or agent.device_unavailable:
            return
        agent.device_unavailable = True
        if agent.state in (AgentState.IDLE, AgentState.WRAP_UP):
            self._set(agent_id, AgentState.PAUSED, now)
            agent.paused_reason = DEVICE_UNAVAILABLE

    def device_available(self, agent_id: str, now: datetime) -> None:
        """The device can ring again: an agent paused only for that becomes idle; any other
        pause (misses, a supervisor) stays."""
        agent = self._agents.get(agent_id)
        if agent is None or not agent.device_unavailable:
            return
        agent.device_unavailable = False
        if agent.state is AgentState.PAUSED and agent.paused_reason == DEVICE_UNAVAILABLE:
            agent.paused_reason = None
            self._set(agent_id, AgentState.IDLE, now)

    def next_free_at(self) -> datetime | None:
        """When the earliest wrap-up ends, for the dispatcher's wake-up."""
        return self._wraps.next_end()

    def _finish_wrap_ups(self, now: datetime) -> None:
        if not self._wraps.any_over(now):  # the common case, asked several times a round
            return
        for end, agent in list(self._wraps.ended(now)):
            owed = agent.owes_result
            if owed is None:
                self._set(agent.id, AgentState.IDLE, end)
                continue
            self._set(agent.id, AgentState.PAUSED, end)  # never silently lost: ops see both
            agent.paused_reason = NO_RESULT.format(order=owed)

    def _set(self, agent_id: str, state: AgentState, now: datetime) -> None:
        agent = self.get(agent_id)
        self._idle_n += (state is AgentState.IDLE) - (agent.state is AgentState.IDLE)
        agent.state = state
        agent.since = now
        self._changed.add(agent_id)
        if state is not AgentState.WRAP_UP:
            agent.owes_result = None  # owed only while waiting for it (a pause supersedes)
        if state is AgentState.IDLE:  # its place in the longest-idle order
            heapq.heappush(self._idle, (now, agent_id))
