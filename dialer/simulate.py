"""The what-if simulator: the live dispatcher on a virtual clock with simulated phones.

It is a composition root of its own: it owns the virtual clock and wires the real
``Dispatcher`` and policy core to an in-memory store and a telephony double whose
callees behave as each order's ``sim`` block says.
"""

from __future__ import annotations

import heapq
import json
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TextIO

import pytz

from campaigns.calls import CallReport, CallResult, OriginateRequest
from campaigns.dispositions import Disposition, DispositionKind
from campaigns.orders import Order
from campaigns.outcomes import Outcome, OutcomeKind
from campaigns.settings import CampaignSettings
from campaigns.window import zone
from dialer.agents import AgentPool
from dialer.dispatcher import Dispatcher, Screen
from dialer.memory_store import MemoryOrderStore
from dialer.ports import AttemptRecord, QueueEntry

AGENT_ANSWER_S = 3
ANNOUNCE_S = 4
CUSTOMER_PICKUP_S = 8
BUSY_S = 3


class SimInputError(Exception):
    """A line of the orders file is malformed; the message names the line and field."""


@dataclass(frozen=True, slots=True)
class SimCallee:
    """How one order's people behave in the simulation.

    ``answer_on_attempt``: the customer attempt the customer answers (None: never).
    ``agent_misses``: how many offers of this order the agents miss before one presses 1.
    ``unanswered``: what an unanswered attempt looks like (no_answer, busy, ...).
    After a callback disposition the customer answers the next call and confirms.
    """

    answer_on_attempt: int | None
    disposition: str = "confirmed"
    agent_misses: int = 0
    unanswered: CallResult = CallResult.NO_ANSWER


@dataclass(order=True, slots=True)
class _Event:
    at: datetime
    seq: int
    action: Callable[[], None] = field(compare=False)


class VirtualClock:
    """The simulation's only clock: a heap of future events."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self._events: list[_Event] = []
        self._seq = 0

    def call_at(self, at: datetime, action: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self._events, _Event(max(at, self.now), self._seq, action))

    def next_at(self) -> datetime | None:
        return self._events[0].at if self._events else None

    def run_due(self) -> None:
        while self._events and self._events[0].at <= self.now:
            heapq.heappop(self._events).action()


class SimTelephony:
    """Telephony double: decides each call's result from the order's ``SimCallee`` and
    reports it after the time the call would take."""

    def __init__(
        self, clock: VirtualClock, callees: dict[str, SimCallee], settings: CampaignSettings
    ) -> None:
        self._clock = clock
        self._callees = callees
        self._settings = settings
        self._offers: Counter[str] = Counter()
        self._reached: Counter[str] = Counter()
        self._called_back: set[str] = set()
        self.report_sink: Callable[[CallReport], None] = _unwired
        self.disposition_sink: Callable[[str, Disposition], None] = _unwired_disposition

    def called_back(self, order_id: str) -> None:
        self._called_back.add(order_id)

    def originate(self, request: OriginateRequest) -> None:
        callee = self._callees[request.order_id]
        self._offers[request.order_id] += 1
        if self._offers[request.order_id] <= callee.agent_misses:
            self._report(request, CallResult.AGENT_MISSED, request.accept_timeout_s)
            return
        self._reached[request.order_id] += 1
        if self._answers(request.order_id, callee):
            self._answered(request, callee)
        elif callee.unanswered is CallResult.NO_ANSWER:
            self._report(request, CallResult.NO_ANSWER, ANNOUNCE_S + request.ring_timeout_s)
        else:
            self._report(request, callee.unanswered, ANNOUNCE_S + BUSY_S)

    def _answers(self, order_id: str, callee: SimCallee) -> bool:
        if order_id in self._called_back:
            return True
        return callee.answer_on_attempt == self._reached[order_id]

    def _answered(self, request: OriginateRequest, callee: SimCallee) -> None:
        start = self._clock.now
        talk = ANNOUNCE_S + CUSTOMER_PICKUP_S + self._settings.talk_time_s
        answered = start + timedelta(seconds=ANNOUNCE_S + CUSTOMER_PICKUP_S)
        disposition = _disposition(
            "confirmed" if request.order_id in self._called_back else callee.disposition
        )
        self._called_back.discard(request.order_id)

        def finish() -> None:
            report = CallReport(request.attempt_id, CallResult.ANSWERED, self._clock.now, answered)
            self.report_sink(report)
            if disposition.kind is DispositionKind.CALLBACK:
                self.called_back(request.order_id)
            self.disposition_sink(request.order_id, disposition)

        self._clock.call_at(start + timedelta(seconds=talk), finish)

    def _report(self, request: OriginateRequest, result: CallResult, seconds: int) -> None:
        at = self._clock.now + timedelta(seconds=AGENT_ANSWER_S + seconds)
        self._clock.call_at(
            at, lambda: self.report_sink(CallReport(request.attempt_id, result, self._clock.now))
        )


def _unwired(report: CallReport) -> None:
    raise RuntimeError(f"report sink not wired for {report.attempt_id}")


def _unwired_disposition(order_id: str, disposition: Disposition) -> None:
    raise RuntimeError(f"disposition sink not wired for {order_id}")


def _disposition(text: str) -> Disposition:
    if text.startswith("callback:"):
        return Disposition(DispositionKind.CALLBACK, callback_at=parse_utc(text[9:]))
    if text.startswith("refused"):
        reason = text.partition(":")[2] or "Передумал"
        return Disposition(DispositionKind.REFUSED, reason=reason)
    return Disposition(DispositionKind.CONFIRMED)


def parse_utc(text: str) -> datetime:
    """ISO 8601 with an offset or ``Z`` → aware UTC; naive input is refused."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"time without a zone: {text!r}")
    return value.astimezone(pytz.UTC)


def iso_z(at: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` for an aware instant."""
    if at.utcoffset():
        at = at.astimezone(pytz.UTC)
    return at.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


class JsonLinesJournal:
    """Writes the dispatcher's journal as the simulator's JSON Lines and keeps counts.

    Lines are formatted directly (with JSON-escaped strings) rather than through
    ``json.dumps`` of a dict: a 100 000-order run writes about a million of them.
    """

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._quoted: dict[str, str] = {}
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
        self._out.write(f'{{"t": "{iso_z(at)}", "order": {quoted}, "event": "{event}"{rest}}}\n')


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
        yield f"sim{n:08d}"
