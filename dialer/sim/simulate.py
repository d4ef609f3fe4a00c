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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TextIO

from campaigns.calls import CallReport, CallResult
from campaigns.crm_results import agent_result_wait_s
from campaigns.dispositions import Disposition
from campaigns.lifecycle import Phase
from campaigns.orders import Order
from campaigns.outcomes import DEFAULT_CRM_MAPPING, Outcome, OutcomeKind
from campaigns.settings import CampaignSettings
from campaigns.window import local_isoformat
from crm_adapter.port import CrmOrderStatus
from crm_adapter.recheck import dialer_statuses, leave_queue_reason
from dialer.clock_text import iso_z
from dialer.dispatch.agents import AgentPool, AgentState
from dialer.dispatch.dispatcher import Dispatcher, Screen, StatusCheck
from dialer.dispatch.memory_store import MemoryOrderStore
from dialer.dispatch.pacing import Pacer
from dialer.dispatch.ports import AttemptRecord, QueueEntry
from dialer.dispatch.round import DialRound
from dialer.dispatch.status_recheck import StatusRecheck
from dialer.sim.crm import SimCrm, SimCrmOptions
from dialer.sim.faults import (
    FaultSpec,
    NodeCrash,
    Outages,
    chance,
    outage_spans,
    with_status_changes,
)
from dialer.sim.invariants import Dial, End, History, Result, check
from dialer.sim.node import AgentDesk, NodeRef, SimOutbox, SimStore
from dialer.sim.phones import LOST, SimCallee, SimTelephony, VirtualClock
from dialer.storage.errors import DatabaseUnavailableError


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
        self._local_at: datetime | None = None  # the instant ``_local`` holds texts for
        self._local: dict[str, str] = {}  # zone → local_isoformat at ``_local_at``
        self.dials = 0
        self.results: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()

    def dial(self, entry: QueueEntry, attempt: AttemptRecord, at: datetime) -> None:
        self.dials += 1
        zone = entry.state.zones[0]
        if at != self._local_at:  # a round dials several orders of the same few zones
            self._local_at, self._local = at, {}
        local = self._local.get(zone)
        if local is None:
            local = self._local[zone] = local_isoformat(at, zone)
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
    faults: FaultSpec = field(default_factory=FaultSpec)  # --faults: none by default
    result_delay_s: float = 0.0  # --result-delay: agents give results at once by default


def run_simulation(
    orders: Iterable[tuple[Order, SimCallee]],
    config: SimConfig,
    screen: Screen,
    out: TextIO,
    err: TextIO | None = None,
) -> dict[str, Any]:
    """Run to ``start + days`` and print every event, then check the invariants: each
    violation is printed as a ``violation`` event (and on ``err``); returns the summary
    (also printed), whose ``violations`` counts them."""
    pending = sorted(orders, key=lambda pair: (pair[0].created_at, pair[0].id))
    world = _World(pending, config, screen, JsonLinesJournal(out))
    world.run()
    journal, end = world.journal, world.end
    summary = _summary(journal, world.store, world.node.agents, config, end, world.busy_before)
    violations = check(world.history)
    for violation in violations:
        journal.summary(violation.record(config.seed))
        if err is not None:
            err.write(f"violation: seed {config.seed} order {violation.order} "
                      f"[{violation.rule}] {violation.detail}\n")  # fmt: skip
    summary["violations"] = len(violations)
    if config.faults.any:
        summary["faults"] = world.fault_counts()
    journal.summary(summary)
    return summary


class _World:
    """One run's wiring: the durable side (store, outbox, telephony, CRM, agents' desk) and
    the node over it (agent pool, re-check, dispatcher, round), which a crash rebuilds."""

    def __init__(
        self,
        pending: list[tuple[Order, SimCallee]],
        config: SimConfig,
        screen: Screen,
        journal: JsonLinesJournal,
    ) -> None:
        self.config, self.screen, self.journal = config, screen, journal
        self.rng = random.Random(config.seed)
        faults = self.faults = config.faults
        # faults draw from a tree of their own: without them the run's draws are as they were
        frng = random.Random(f"faults/{config.seed}")
        clock = self.clock = VirtualClock(config.start)
        self.end = end = config.start + timedelta(days=config.days)
        pending = with_status_changes(pending, faults.status_change, frng, config.start, end)
        self.pending = pending
        self.store = MemoryOrderStore()
        self.history = _history(pending, config, end)
        self.crm_down = _outages(frng, config.start, end, faults.crm_outage, faults.crm_outage_s)
        self.db_down = _outages(frng, config.start, end, faults.db_outage, faults.db_outage_s)
        self.outbox = SimOutbox(self.history, self.crm_down)
        crash_rng = random.Random(frng.random())
        self.node_store = SimStore(self.store, self.outbox, clock, db_down=self.db_down,
                                   crash=faults.crash, rng=crash_rng)  # fmt: skip
        telephony = self.telephony = SimTelephony(
            clock, {order.id: callee for order, callee in pending}, config.settings
        )
        telephony.miss_offer = chance(random.Random(frng.random()), faults.agent_miss)
        telephony.lose_report = chance(random.Random(frng.random()), faults.lost_report)
        self.ids = _counter_ids()
        self.crm = _crm(clock, pending, config, self.rng, self.crm_down)
        self.devices_down: set[str] = set()
        self.busy_before = 0.0  # agents' busy seconds in the pools of nodes that crashed
        self.node = self._build(config.start, [], first=True)
        self.desk = AgentDesk(clock, lambda: self.node, self.store, random.Random(frng.random()),
                              delay_s=config.result_delay_s, no_result=faults.no_result,
                              late_s=faults.late_result_s,
                              wait_s=agent_result_wait_s(config.settings))  # fmt: skip
        self.device_down = chance(random.Random(frng.random()), faults.device_down)
        telephony.report_sink = self.on_report
        telephony.disposition_sink = self._verdict
        self.drive = _Drive(clock, lambda: self.node.round, self.node_store, self.outbox,
                            self.restart)  # fmt: skip

    def run(self) -> None:
        admit = _Admission(lambda: self.node, self.journal, self.store, self.history)
        _loop(self.clock, self.drive, self.pending, end=self.end, admit=admit)
        self.outbox.pump(self.end, force=True)  # the CRM is back after the run
        _ends(self.history, self.store, self.telephony, self.desk.pending, self.node.agents)

    def fault_counts(self) -> dict[str, int]:
        db, crm = self.db_down, self.crm_down
        return {"crashes": self.drive.crashes,
                "db_outages": 0 if db is None else len(db.spans),
                "crm_outages": 0 if crm is None else len(crm.spans)}  # fmt: skip

    def _build(self, now: datetime, live: list[AttemptRecord], *, first: bool = False) -> NodeRef:
        """The node as the service builds it at start: its pool (the agents of the live
        calls busy), a re-check with no readings, the dispatcher awaiting the live calls."""
        config, clock = self.config, self.clock
        agents = AgentPool(
            [f"agent{i + 1:03d}" for i in range(config.agents)],
            now,
            wrap_up_s=config.settings.wrap_up_s,
            miss_pause_after=1_000_000,
            wrap_up_max_s=agent_result_wait_s(config.settings),  # as the service's pool
        )
        for attempt in live:
            agents.restore(attempt.agent, AgentState.ON_CALL, attempt.started_at)
        for agent in sorted(self.devices_down):
            agents.device_unavailable(agent, now)
        recheck = None
        if self.crm is not None:
            recheck = self.crm[0] if first else _recheck(clock, config)
            self.crm[1].recheck = recheck
        check = None if recheck is None else _journalled(recheck, self.journal, clock,
                                                          self.history)  # fmt: skip
        dispatcher = Dispatcher(
            settings=config.settings,
            store=self.node_store,
            telephony=self.telephony,
            agents=agents,
            journal=self.journal,
            screen=self.screen,
            new_attempt_id=lambda: next(self.ids),
            jitter=self.rng.random,
            status_check=check,
        )
        dispatcher.recover(live)
        pair = None if self.crm is None or recheck is None else (recheck, self.crm[1])
        return NodeRef(_round(dispatcher, clock, config, pair), agents, recheck)

    def _verdict(self, order_id: str, disposition: Disposition) -> None:
        self.desk.verdict(order_id, disposition, self.telephony.verdicts[order_id][1])

    def on_report(self, report: CallReport) -> None:
        """A call's report to the node; ``device-down``: the agent's device may go away."""
        self.node.round.on_report(report)
        attempt = self.store.attempts.get(report.attempt_id)
        if attempt is None or not self.device_down():
            return
        agent, clock = attempt.agent, self.clock
        self.devices_down.add(agent)
        self.node.agents.device_unavailable(agent, clock.now)

        def back() -> None:
            self.devices_down.discard(agent)
            self.node.agents.device_available(agent, clock.now)

        clock.call_at(clock.now + timedelta(seconds=self.faults.device_down_s), back)

    def restart(self) -> None:
        """The node died: rebuild it from the store, as the service does at start."""
        clock, store = self.clock, self.store
        self.busy_before += sum(a.busy_seconds for a in self.node.agents.all())
        store.expire_claims()
        live = store.live_attempts()
        self.node = self._build(clock.now, live)
        calls = self.telephony.pending_attempts()
        for attempt in live:  # a call no PBX record settles: the tracker's "outcome lost"
            if attempt.id not in calls:
                lost = CallReport(attempt.id, CallResult.FAILED, clock.now, detail=LOST)
                clock.call_at(clock.now, lambda r=lost: self.on_report(r))  # type: ignore[misc]
        for order_id, entry in sorted(store.entries.items()):  # the agents still owe these
            verdict = self.telephony.verdicts.get(order_id)
            awaiting = entry.state.phase is Phase.AWAITING_DISPOSITION
            if awaiting and order_id not in self.desk.pending and verdict is not None:
                self.desk.pending[order_id] = verdict
        self.desk.give_again()


def _outages(
    rng: random.Random, start: datetime, end: datetime, rate: float, seconds: float
) -> Outages | None:
    return Outages(outage_spans(rng, start, end, rate, seconds)) if rate > 0 else None


def _history(pending: list[tuple[Order, SimCallee]], config: SimConfig, end: datetime) -> History:
    service = config.service or SimService()
    history = History(config.settings, end, status_max_age_s=service.status_max_age_s)
    written = dialer_statuses(DEFAULT_CRM_MAPPING)
    for order, callee in pending:
        history.created[order.id] = order.created_at
        change = callee.status_change
        if change is None:
            continue
        now = CrmOrderStatus(order.id, change.status, change.state, order.prepaid, order.source)
        if leave_queue_reason(now, config.settings, dialer_written=written) is not None:
            history.leaves_queue[order.id] = change.at
    return history


def _ends(
    history: History,
    store: MemoryOrderStore,
    telephony: SimTelephony,
    owed: dict[str, Any],
    agents: AgentPool,
) -> None:
    """The store's attempts (the durable truth: a crash may have cut a journal line) and
    every order's end state."""
    for attempt in sorted(store.attempts.values(), key=lambda a: (a.started_at, a.id)):
        order_id = attempt.order_id
        zones = store.entries[order_id].state.zones
        history.dials.append(Dial(attempt.started_at, order_id, attempt.id, attempt.e164, zones))
        if attempt.result is not None and attempt.ended_at is not None:
            history.results.append(Result(attempt.ended_at, order_id, attempt.id, attempt.result,
                                          bool(attempt.customer_attempt),
                                          attempt.started_at))  # fmt: skip
    calls = telephony.pending_attempts()
    live = {a.order_id: a.id for a in store.live_attempts()}
    for order_id, entry in store.entries.items():
        state = entry.state
        history.zones[order_id] = state.zones
        history.ends[order_id] = End(state.phase.value, state.due_at,
                                     live.get(order_id) in calls, order_id in owed)  # fmt: skip
    history.idle_agents_at_end = agents.idle_count(history.end)


def _recheck(clock: VirtualClock, config: SimConfig) -> StatusRecheck:
    service = config.service or SimService()
    return StatusRecheck(
        config.settings,
        dialer_statuses(DEFAULT_CRM_MAPPING),
        clock=lambda: clock.now,
        max_age=timedelta(seconds=service.status_max_age_s),
        retry_after=timedelta(seconds=service.crm.retry_s),
    )


def _crm(
    clock: VirtualClock,
    pending: list[tuple[Order, SimCallee]],
    config: SimConfig,
    rng: random.Random,
    down: Outages | None = None,
) -> tuple[StatusRecheck, SimCrm] | None:
    """The re-check and its simulated CRM: with the service's settings, or when some order's
    CRM status changes during the run (or CRM faults are on); otherwise None (every order is
    dialled unchecked)."""
    service = config.service
    if service is None:
        changes = any(callee.status_change is not None for _, callee in pending)
        if not changes and not config.faults.touches_crm:
            return None
        service = SimService()
    recheck = _recheck(clock, config)
    crm = SimCrm(clock, recheck, service.crm, random.Random(rng.random()), down=down,
                 slow_s=config.faults.slow_read)  # fmt: skip
    for order, callee in pending:
        crm.add(order, callee.status_change)
    return recheck, crm


def _journalled(
    recheck: StatusRecheck, journal: JsonLinesJournal, clock: VirtualClock, history: History
) -> StatusCheck:
    """The re-check; an order it drops is printed as skipped (the CRM changed it: no call)."""

    def check(order: Order) -> bool | None:
        verdict = recheck.check(order)
        if verdict is False:
            journal.skipped(order.id, clock.now)
            history.skipped[order.id] = clock.now
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
        outage=_outage,
    )


def _outage(exc: BaseException) -> str | None:
    """The service's ``outage=``: the store's DatabaseUnavailableError keeps the work."""
    return str(exc) if isinstance(exc, DatabaseUnavailableError) else None


TICK = timedelta(seconds=5)  # the service's dispatch safety tick (``[service] tick_s``)


class _Drive:
    """One step of the node at ``clock.now``: due events, then the round; a crash restarts
    the node from the store, a database outage waits for the database."""

    def __init__(
        self,
        clock: VirtualClock,
        round_now: Callable[[], DialRound],
        store: SimStore,
        outbox: SimOutbox,
        restart: Callable[[], None],
    ) -> None:
        self._clock = clock
        self._round = round_now
        self._store = store
        self._outbox = outbox
        self._restart = restart
        self.crashes = 0

    def step(self, admit: Callable[[], None]) -> tuple[bool, list[datetime | None]]:
        """(False: do it again now, True: done), and the instants the node next has work."""
        now = self._clock.now
        self._store.arm()
        try:
            admit()
            self._clock.run_due()
            wake = self._round().run(now)
        except NodeCrash:
            self.crashes += 1
            self._restart()
            return False, []
        except DatabaseUnavailableError:
            self._store.inner.expire_claims()  # the claim's lease lapses meanwhile
            wake = self._store.db_back_at()
        if wake is None and (self._store.inner.next_due_at() or now + TICK) <= now:
            wake = now + TICK  # due work waits with no event to wake it: the service's tick
        return True, [wake, self._outbox.pump(now), self._store.db_back_at()]


def _loop(
    clock: VirtualClock,
    drive: _Drive,
    pending: list[tuple[Order, SimCallee]],
    *,
    end: datetime,
    admit: _Admission,
) -> None:
    arrivals = iter(pending)
    upcoming = next(arrivals, None)
    batch: list[Order] = []

    def admit_batch() -> None:
        if not batch:
            return
        try:
            admit(batch, clock.now)
        except DatabaseUnavailableError:  # the batch waits: admitted when the database is
            return  # back, as the service's intake tries again
        batch.clear()

    while (now := clock.now) <= end:
        while upcoming is not None and upcoming[0].created_at <= now:
            batch.append(upcoming[0])
            upcoming = next(arrivals, None)
        done, wakes = drive.step(admit_batch)
        if not done:
            continue  # the node restarted: the same instant again
        due = clock.next_at()
        if due is not None and due <= now:
            continue  # the round scheduled something for now (a status read's answer)
        if upcoming is not None:
            wakes.append(upcoming[0].created_at)
        for t in wakes:  # the earliest future instant of the clock, the node and arrivals
            if t is not None and t > now and (due is None or t < due):
                due = t
        if due is None:
            break
        clock.now = due


class _Admission:
    """New orders: their input status is the CRM's first reading (as a push or pull is in
    the service); the screened-out ones are journalled as skipped."""

    def __init__(
        self,
        node: Callable[[], NodeRef],
        journal: JsonLinesJournal,
        store: MemoryOrderStore,
        history: History,
    ) -> None:
        self._node = node
        self._journal = journal
        self._store = store
        self._history = history

    def __call__(self, batch: list[Order], now: datetime) -> None:
        node = self._node()
        if node.recheck is not None:
            for order in batch:
                status = CrmOrderStatus(order.id, order.status, order.state, order.prepaid,
                                        order.source)  # fmt: skip
                node.recheck.note(status, now)
        node.round.dispatcher.admit(batch, now)
        for order in batch:
            entry = self._store.get(order.id)
            if (
                entry is not None
                and entry.state.outcome is not None
                and entry.state.outcome.value == "skipped"
            ):
                self._journal.skipped(order.id, now)
                self._history.skipped[order.id] = now


def _summary(  # noqa: PLR0917 - the simulator's own helper, called once
    journal: JsonLinesJournal,
    store: MemoryOrderStore,
    agents: AgentPool,
    config: SimConfig,
    end: datetime,
    busy_before: float = 0.0,
) -> dict[str, Any]:
    busy = busy_before + sum(a.busy_seconds for a in agents.all())
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
