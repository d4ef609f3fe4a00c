"""The what-if simulator: the live dispatcher on a virtual clock with simulated phones.

It is a composition root of its own: it owns the virtual clock and wires the real
``Dispatcher`` and policy core to an in-memory store and a telephony double whose
callees behave as each order's ``sim`` block says.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TextIO

from campaigns.orders import Order
from campaigns.outcomes import Outcome, OutcomeKind
from campaigns.settings import CampaignSettings
from campaigns.window import zone
from dialer.agents import AgentPool
from dialer.clock_text import iso_z
from dialer.dispatcher import Dispatcher, Screen
from dialer.memory_store import MemoryOrderStore
from dialer.ports import AttemptRecord, QueueEntry
from dialer.sim_phones import SimCallee, SimTelephony, VirtualClock


class JsonLinesJournal:
    """Writes the dispatcher's journal as the simulator's JSON Lines and keeps counts.

    Lines are formatted directly (with JSON-escaped strings) rather than through
    ``json.dumps`` of a dict: a 100 000-order run writes about a million of them.
    """

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._quoted: dict[str, str] = {}
        self._last_at: datetime | None = None
        self._last_t = ""
        self.dials = 0
        self.results: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()

    def dial(self, entry: QueueEntry, attempt: AttemptRecord, at: datetime) -> None:
        self.dials += 1
        local = at.astimezone(zone(entry.state.zones[0])).isoformat()
        self._event(
            at, entry.order.id, "dial", f', "attempt": {attempt.number}, "local_time": "{local}"'
        )

    def result(self, entry: QueueEntry, attempt: AttemptRecord) -> None:
        if attempt.result is None or attempt.ended_at is None:
            raise ValueError(f"attempt {attempt.id} has not ended")
        self.results[attempt.result.value] += 1
        self._event(
            attempt.ended_at,
            entry.order.id,
            "result",
            f', "attempt": {attempt.number}, "result": "{attempt.result.value}"',
        )

    def outcome(self, outcome: Outcome) -> None:
        if outcome.kind is not OutcomeKind.NO_ANSWER:
            self._final(outcome.order_id, outcome.at, outcome.kind.value)

    def skipped(self, order_id: str, at: datetime) -> None:
        self._final(order_id, at, "skipped")

    def summary(self, record: dict[str, Any]) -> None:
        self._out.write(json.dumps(record, ensure_ascii=False) + "\n")

    def _final(self, order_id: str, at: datetime, kind: str) -> None:
        self.outcomes[kind] += 1
        self._event(at, order_id, "outcome", f', "outcome": "{kind}"')

    def _event(self, at: datetime, order_id: str, event: str, rest: str) -> None:
        quoted = self._quoted.get(order_id)
        if quoted is None:
            quoted = self._quoted[order_id] = json.dumps(order_id, ensure_ascii=False)
        if at != self._last_at:  # a result and its outcome share their instant
            self._last_at, self._last_t = at, iso_z(at)
        self._out.write(f'{{"t": "{self._last_t}", "order": {quoted}, "event": "{event}"{rest}}}\n')


@dataclass(frozen=True, slots=True)
class SimConfig:
    start: datetime
    days: float
    agents: int
    seed: int
    settings: CampaignSettings


def run_simulation(
    orders: Iterable[tuple[Order, SimCallee]], config: SimConfig, screen: Screen, out: TextIO
) -> dict[str, Any]:
    """Run to ``start + days`` and print every event; returns the summary (also printed)."""
    rng = random.Random(config.seed)
    clock = VirtualClock(config.start)
    pending = sorted(orders, key=lambda pair: (pair[0].created_at, pair[0].id))
    callees = {order.id: callee for order, callee in pending}
    agents = AgentPool(
        [f"agent{i + 1:03d}" for i in range(config.agents)],
        config.start,
        wrap_up_s=config.settings.wrap_up_s,
        miss_pause_after=1_000_000,
    )
    store = MemoryOrderStore()
    telephony = SimTelephony(clock, callees, config.settings)
    journal = JsonLinesJournal(out)
    ids = _counter_ids()
    dispatcher = Dispatcher(
        settings=config.settings,
        store=store,
        telephony=telephony,
        agents=agents,
        journal=journal,
        screen=screen,
        new_attempt_id=lambda: next(ids),
        jitter=rng.random,
    )
    telephony.report_sink = dispatcher.on_report
    telephony.disposition_sink = lambda oid, d: dispatcher.on_disposition(oid, d, clock.now)
    end = config.start + timedelta(days=config.days)
    _loop(clock, dispatcher, pending, end=end, journal=journal, store=store)
    summary = _summary(journal, store, agents, config, end)
    journal.summary(summary)
    return summary


def _loop(
    clock: VirtualClock,
    dispatcher: Dispatcher,
    pending: list[tuple[Order, SimCallee]],
    *,
    end: datetime,
    journal: JsonLinesJournal,
    store: MemoryOrderStore,
) -> None:
    arrivals = iter(pending)
    upcoming = next(arrivals, None)
    while clock.now <= end:
        batch: list[Order] = []
        while upcoming is not None and upcoming[0].created_at <= clock.now:
            batch.append(upcoming[0])
            upcoming = next(arrivals, None)
        if batch:
            _admit(dispatcher, batch, clock.now, journal, store)
        clock.run_due()
        dispatcher.dispatch(clock.now)
        candidates = [
            t
            for t in (
                clock.next_at(),
                dispatcher.next_wakeup(clock.now),
                upcoming[0].created_at if upcoming else None,
            )
            if t is not None
        ]
        future = [t for t in candidates if t > clock.now]
        if not future:
            break
        clock.now = min(future)


def _admit(
    dispatcher: Dispatcher,
    batch: list[Order],
    now: datetime,
    journal: JsonLinesJournal,
    store: MemoryOrderStore,
) -> None:
    dispatcher.admit(batch, now)
    for order in batch:
        entry = store.get(order.id)
        if (
            entry is not None
            and entry.state.outcome is not None
            and entry.state.outcome.value == "skipped"
        ):
            journal.skipped(order.id, now)


def _summary(
    journal: JsonLinesJournal,
    store: MemoryOrderStore,
    agents: AgentPool,
    config: SimConfig,
    end: datetime,
) -> dict[str, Any]:
    busy = sum(a.busy_seconds for a in agents.all())
    capacity = config.agents * (end - config.start).total_seconds()
    open_orders = sum(1 for e in store.entries.values() if e.state.outcome is None)
    confirmed = journal.outcomes.get("confirmed", 0)
    return {
        "t": iso_z(end),
        "event": "summary",
        "orders": len(store.entries),
        "dials": journal.dials,
        "results": dict(sorted(journal.results.items())),
        "outcomes": dict(sorted(journal.outcomes.items())),
        "still_open": open_orders,
        "agents": config.agents,
        "agent_occupancy": round(busy / capacity, 4) if capacity else 0.0,
        "dials_per_confirmed": round(journal.dials / confirmed, 2) if confirmed else None,
    }


def _counter_ids() -> Iterator[str]:
    n = 0
    while True:
        n += 1
        yield f"{n:012x}"  # hex: an id AmiTelephony's gate (dialer.dial_gate) would take too
