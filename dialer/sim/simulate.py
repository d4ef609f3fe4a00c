"""The what-if simulator: the live dispatcher on a virtual clock with simulated phones.

It is a composition root of its own: it owns the virtual clock and wires the service's
``DialRound`` (and through it the real ``Dispatcher`` and policy core) to an in-memory
store, a telephony double whose callees behave as each order's ``sim`` block says and, for
the never-touch re-check, a simulated CRM whose statuses change on the virtual clock.

``SimConfig.service`` carries the service's ``[service]`` pacing (cps), line caps
(``campaign_lines``, ``trunk_lines`` or ``[ami] lines``) and re-check timings; without it
the round dials as fast as agents allow and re-checks only when some order's CRM status
changes (``sim.cancel_at``, ``sim.status_at``; then with the service's default timings).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TextIO

from campaigns.orders import Order
from campaigns.outcomes import DEFAULT_CRM_MAPPING, Outcome, OutcomeKind
from campaigns.settings import CampaignSettings
from campaigns.window import local_isoformat
from crm_adapter.port import CrmOrderStatus
from crm_adapter.recheck import dialer_statuses
from dialer.clock_text import iso_z
from dialer.dispatch.agents import AgentPool
from dialer.dispatch.dispatcher import Dispatcher, Screen, StatusCheck
from dialer.dispatch.memory_store import MemoryOrderStore
from dialer.dispatch.pacing import Pacer
from dialer.dispatch.ports import AttemptRecord, QueueEntry
from dialer.dispatch.round import DialRound
from dialer.dispatch.status_recheck import StatusRecheck
from dialer.sim.crm import SimCrm, SimCrmOptions
from dialer.sim.phones import SimCallee, SimTelephony, VirtualClock


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
        local = local_isoformat(at, entry.state.zones[0])
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
class SimService:
    """The service's ``[service]`` settings the round applies (the same keys and meaning)."""

    cps: float | None = None  # None: no pacing
    campaign_lines: int | None = None  # None: no line caps
    trunk_lines: int | None = None  # ``[ami] lines`` when set, else ``trunk_lines``
    status_max_age_s: float = 10.0
    crm: SimCrmOptions = field(default_factory=SimCrmOptions)


@dataclass(frozen=True, slots=True)
class SimConfig:
    start: datetime
    days: float
    agents: int
    seed: int
    settings: CampaignSettings
    service: SimService | None = None  # None: no pacing, no caps, re-check only if needed


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
    crm = _crm(clock, pending, config, rng)
    check = None if crm is None else _journalled(crm[0], journal, clock)
    dispatcher = Dispatcher(
        settings=config.settings,
        store=store,
        telephony=telephony,
        agents=agents,
        journal=journal,
        screen=screen,
        new_attempt_id=lambda: next(ids),
        jitter=rng.random,
        status_check=check,
    )
    dial_round = _round(dispatcher, clock, config, crm)
    telephony.report_sink = dial_round.on_report
    telephony.disposition_sink = lambda oid, d: dial_round.dispose(oid, clock.now, d)
    end = config.start + timedelta(days=config.days)
    admit = _Admission(dispatcher, journal, store, None if crm is None else crm[0])
    _loop(clock, dial_round, pending, end=end, admit=admit)
    summary = _summary(journal, store, agents, config, end)
    journal.summary(summary)
    return summary


def _crm(
    clock: VirtualClock,
    pending: list[tuple[Order, SimCallee]],
    config: SimConfig,
    rng: random.Random,
) -> tuple[StatusRecheck, SimCrm] | None:
    """The re-check and its simulated CRM: with the service's settings, or when some order's
    CRM status changes during the run; otherwise None (every order is dialled unchecked)."""
    service = config.service
    if service is None:
        if not any(callee.status_change is not None for _, callee in pending):
            return None
        service = SimService()
    options = service.crm
    recheck = StatusRecheck(
        config.settings,
        dialer_statuses(DEFAULT_CRM_MAPPING),
        clock=lambda: clock.now,
        max_age=timedelta(seconds=service.status_max_age_s),
        retry_after=timedelta(seconds=options.retry_s),
    )
    crm = SimCrm(clock, recheck, options, random.Random(rng.random()))
    for order, callee in pending:
        crm.add(order, callee.status_change)
    return recheck, crm


def _journalled(
    recheck: StatusRecheck, journal: JsonLinesJournal, clock: VirtualClock
) -> StatusCheck:
    """The re-check; an order it drops is printed as skipped (the CRM changed it: no call)."""

    def check(order: Order) -> bool | None:
        verdict = recheck.check(order)
        if verdict is False:
            journal.skipped(order.id, clock.now)
        return verdict

    return check


def _round(
    dispatcher: Dispatcher,
    clock: VirtualClock,
    config: SimConfig,
    crm: tuple[StatusRecheck, SimCrm] | None,
) -> DialRound:
    service = config.service or SimService()
    pacer = None if service.cps is None else Pacer(service.cps, clock.now)
    caps = [n for n in (service.campaign_lines, service.trunk_lines) if n is not None]

    def line_room() -> int:
        return min(caps) - dispatcher.live_attempts

    return DialRound(
        dispatcher,
        pacer=pacer,
        line_room=line_room if caps else None,
        recheck=None if crm is None else crm[0],
        status_reader=None if crm is None else crm[1],
    )


def _loop(
    clock: VirtualClock,
    dial_round: DialRound,
    pending: list[tuple[Order, SimCallee]],
    *,
    end: datetime,
    admit: _Admission,
) -> None:
    arrivals = iter(pending)
    upcoming = next(arrivals, None)
    while clock.now <= end:
        batch: list[Order] = []
        while upcoming is not None and upcoming[0].created_at <= clock.now:
            batch.append(upcoming[0])
            upcoming = next(arrivals, None)
        if batch:
            admit(batch, clock.now)
        clock.run_due()
        now = clock.now
        wake = dial_round.run(now)
        due = clock.next_at()
        if due is not None and due <= now:
            continue  # the round scheduled something for now (a status read's answer)
        arrival = upcoming[0].created_at if upcoming else None
        future = [t for t in (due, wake, arrival) if t is not None and t > now]
        if not future:
            break
        clock.now = min(future)


class _Admission:
    """New orders: their input status is the CRM's first reading (as a push or pull is in
    the service); the screened-out ones are journalled as skipped."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        journal: JsonLinesJournal,
        store: MemoryOrderStore,
        recheck: StatusRecheck | None,
    ) -> None:
        self._dispatcher = dispatcher
        self._journal = journal
        self._store = store
        self._recheck = recheck

    def __call__(self, batch: list[Order], now: datetime) -> None:
        if self._recheck is not None:
            for order in batch:
                status = CrmOrderStatus(order.id, order.status, order.state, order.prepaid,
                                        order.source)  # fmt: skip
                self._recheck.note(status, now)
        self._dispatcher.admit(batch, now)
        for order in batch:
            entry = self._store.get(order.id)
            if (
                entry is not None
                and entry.state.outcome is not None
                and entry.state.outcome.value == "skipped"
            ):
                self._journal.skipped(order.id, now)


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
