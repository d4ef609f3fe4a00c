"""The simulated node's durable side and its agents: the store as the node sees it (with
database outages and crashes), the CRM outbox, and the agents who give results.

``SimStore`` wraps the in-memory store: every call fails with the service's
``DatabaseUnavailableError`` while the simulated database is down, and a write may crash the
node (``NodeCrash``) just before or just after it lands. Outcomes that land go to the
``SimOutbox``, which delivers them to the CRM in order unless the CRM is down. ``AgentDesk``
is the agents' side of an answered call: the agent gives the result after a delay (or too
late: paused «нет результата», then gives it and resumes), through whichever node is up.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from campaigns.dispositions import Disposition
from campaigns.lifecycle import Phase
from campaigns.outcomes import Outcome
from dialer.dispatch.agents import NO_RESULT, AgentPool, AgentState
from dialer.dispatch.memory_store import MemoryOrderStore
from dialer.dispatch.ports import AttemptRecord, QueueEntry
from dialer.dispatch.round import DialRound
from dialer.dispatch.status_recheck import StatusRecheck
from dialer.sim.faults import NodeCrash, Outages, outage_error
from dialer.sim.invariants import History
from dialer.sim.phones import VirtualClock

BEFORE_SHARE = 0.5  # of the crashes at a write: before it lands (the rest just after)
CRASH_WITHIN = 4  # a crashing step dies at one of its first this many store writes
RETRY = timedelta(seconds=60)  # an agent whose result was not taken tries again


class SimOutbox:
    """Outcomes written with their orders, delivered to the CRM in order when it is up."""

    def __init__(self, history: History, crm_down: Outages | None) -> None:
        self._history = history
        self._crm_down = crm_down
        self._pending: list[tuple[str, int]] = []

    def add(self, outcomes: Sequence[Outcome]) -> None:
        for outcome in outcomes:
            index = self._history.next_index(outcome.order_id)
            self._history.write(outcome.order_id, outcome.kind, outcome.at, outcome.callback_at)
            self._pending.append((outcome.order_id, index))

    def pump(self, now: datetime, *, force: bool = False) -> datetime | None:
        """Deliver what waits; returns when the CRM is back if it is down now."""
        if not self._pending:
            return None
        back = None if self._crm_down is None or force else self._crm_down.down_at(now)
        if back is not None:
            return back
        self._history.delivered.extend(self._pending)
        self._pending.clear()
        return None


class SimStore:
    """The store as the node sees it (see the module docstring); the simulator itself reads
    ``inner``, which no outage or crash touches."""

    def __init__(
        self,
        inner: MemoryOrderStore,
        outbox: SimOutbox,
        clock: VirtualClock,
        *,
        db_down: Outages | None = None,
        crash: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self.inner = inner
        self._outbox = outbox
        self._clock = clock
        self._db_down = db_down
        self._crash = crash
        self._rng = rng or random.Random(0)
        self._armed = 0  # the store write of this step that crashes (1: the next), 0: none
        # with faults off nothing can fail: the calls skip the outage and crash checks
        self._faulty = db_down is not None or crash > 0

    def db_back_at(self) -> datetime | None:
        return None if self._db_down is None else self._db_down.down_at(self._clock.now)

    def insert(self, entry: QueueEntry, outcomes: Sequence[Outcome] = ()) -> bool:
        after = self._faulty and self._write("insert", entry.order.id)
        inserted = self.inner.insert(entry, outcomes)
        if inserted:
            self._outbox.add(outcomes)
        if after:
            raise NodeCrash(f"after inserting order {entry.order.id}")
        return inserted

    def get(self, order_id: str) -> QueueEntry | None:
        if self._faulty:
            self._up()
        return self.inner.get(order_id)

    def claim_due(self, now: datetime, limit: int) -> list[QueueEntry]:
        after = self._faulty and self._write("claim")
        claimed = self.inner.claim_due(now, limit)
        if after:
            raise NodeCrash("after a claim")
        return claimed

    def save(
        self,
        entry: QueueEntry,
        *,
        attempt: AttemptRecord | None = None,
        outcomes: Sequence[Outcome] = (),
    ) -> None:
        after = self._faulty and self._write("save", entry.order.id)
        self.inner.save(entry, attempt=attempt, outcomes=outcomes)
        if outcomes:
            self._outbox.add(outcomes)
        if after:
            raise NodeCrash(f"after saving order {entry.order.id}")

    def next_due_at(self) -> datetime | None:
        if self._faulty:
            self._up()
        return self.inner.next_due_at()

    def open_order_with_identity(self, identity: str) -> str | None:
        self._up()
        return self.inner.open_order_with_identity(identity)

    def earlier_order_with_identity(
        self, identity: str, handled_since: datetime | None
    ) -> str | None:
        self._up()
        return self.inner.earlier_order_with_identity(identity, handled_since)

    def live_attempts(self) -> list[AttemptRecord]:
        self._up()
        return self.inner.live_attempts()

    def _up(self) -> None:
        back = self.db_back_at()
        if back is not None:
            raise outage_error(back)

    def arm(self) -> None:
        """A new step of the node: with chance ``crash`` it dies at one of its next few
        store writes (which one drawn too), else it does not die in this step."""
        self._armed = 0
        if self._crash > 0 and self._rng.random() < self._crash:
            self._armed = self._rng.randrange(1, CRASH_WITHIN + 1)

    def _write(self, what: str, order_id: str | None = None) -> bool:
        """Raise the outage or a crash before the write; True: crash right after it."""
        self._up()
        if not self._armed:
            return False
        self._armed -= 1
        if self._armed:
            return False
        if self._rng.random() < BEFORE_SHARE:
            of = "" if order_id is None or what == "insert" else f" of order {order_id}"
            raise NodeCrash(f"before the {what}{of}")
        return True


@dataclass
class NodeRef:
    """The node that is up now: a crash replaces its round and agent pool."""

    round: DialRound
    agents: AgentPool
    recheck: StatusRecheck | None = None


class AgentDesk:
    """Agents give the result of each answered call through the node that is up.

    ``delay_s``: a result comes a uniform 0..2×``delay_s`` after the call (0: at once, in
    the same step as the call's report). ``no_result``: the share of results that come
    ``late_s`` after the agent was paused «нет результата» (``wait_s`` after the call);
    the agent then resumes. A result the node could not take (a crash) is given again.
    """

    def __init__(
        self,
        clock: VirtualClock,
        node: Callable[[], NodeRef],
        store: MemoryOrderStore,
        rng: random.Random,
        *,
        delay_s: float = 0.0,
        no_result: float = 0.0,
        late_s: float = 300.0,
        wait_s: int | None = None,
    ) -> None:
        self._clock = clock
        self._node = node
        self._store = store
        self._rng = rng
        self._delay_s = delay_s
        self._no_result = no_result
        self._late_s = late_s
        self._wait_s = wait_s
        self.pending: dict[str, tuple[Disposition, str]] = {}
        self._scheduled: set[str] = set()  # one giving per order on the clock at most

    def verdict(self, order_id: str, disposition: Disposition, agent: str) -> None:
        """The call of ``order_id`` was answered and reported: its agent owes the result."""
        self.pending[order_id] = (disposition, agent)
        late = (
            self._no_result > 0
            and self._wait_s is not None
            and self._rng.random() < self._no_result
        )
        if late and self._wait_s is not None:
            self._later(order_id, timedelta(seconds=self._wait_s + self._late_s), resume=True)
        elif self._delay_s > 0:
            self._later(order_id, timedelta(seconds=self._rng.uniform(0, 2 * self._delay_s)))
        else:
            self.give(order_id)

    def _later(self, order_id: str, delay: timedelta, *, resume: bool = False) -> None:
        if order_id in self._scheduled:
            return
        self._scheduled.add(order_id)
        self._clock.call_at(self._clock.now + delay, lambda: self.give(order_id, resume=resume))

    def give(self, order_id: str, *, resume: bool = False) -> None:
        self._scheduled.discard(order_id)
        given = self.pending.get(order_id)
        if given is None:
            return
        disposition, agent = given
        node, now = self._node(), self._clock.now
        entry = self._store.get(order_id)
        if entry is not None and entry.state.phase is Phase.DIALING:  # its report is kept
            self._later(order_id, RETRY, resume=resume)
            return
        if entry is None or entry.state.phase is not Phase.AWAITING_DISPOSITION:
            del self.pending[order_id]  # nothing awaits it (the call's report was lost)
            return
        node.round.dispose(order_id, now, disposition)
        entry = self._store.get(order_id)
        if entry is not None and entry.state.phase is not Phase.AWAITING_DISPOSITION:
            del self.pending[order_id]
        elif order_id not in node.round.kept_dispositions:  # not taken: given again later
            self._later(order_id, RETRY)
        if resume and node.agents.knows(agent):
            pool = node.agents.get(agent)
            if pool.state is AgentState.PAUSED and (pool.paused_reason or "").startswith(
                NO_RESULT.split("{")[0]
            ):
                node.agents.resume(agent, now)

    def give_again(self) -> None:
        """After a restart: every result still owed is given again, oldest order first."""
        for order_id in sorted(self.pending):
            self._later(order_id, timedelta(0))
