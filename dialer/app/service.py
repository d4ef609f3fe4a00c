"""The dialing service's composition root: one asyncio loop for AMI, scheduler and web edge.

``run_service(config)`` installs Twisted's asyncio reactor on a new loop (before anything
imports ``twisted.internet.reactor``), owns the only clock, wires every object by its
constructor and runs until SIGINT/SIGTERM or the ``--for`` duration ends.

Work on the loop (the synchronous ``Dispatcher`` never sees two callers); each served
server's dispatching is one ``dialer.dispatch.round.DialRound``, which this pump runs:

* dispatch runs whenever something may have changed — an order admitted (push or pull), a
  call report, a status read answered — and on the safety tick; no push waits for a tick;
* AMI reports are applied as they arrive; answered calls get the configured automatic
  disposition (test-double agents) or wait for the agent's verdict;
* APScheduler (memory store, coalesce, one instance) runs the periodic jobs: CRM poll,
  dispatch tick, outbox flush, day roll-over.

Several nodes may share one PostgreSQL database (docs/deployment.md). Each tries the lock
``leader:<campaign>`` every second (``dialer.storage.coordination``); only the holder runs the CRM
poll, the outbox flush and the day roll-over (the jobs stay scheduled everywhere and return
at once elsewhere). A node stands by for one Asterisk server (``[ami]``) or several
(``[ami.servers.NAME]``, ``dialer.app.server_slot``): it takes ``server:<server>:<campaign>``
before it recovers that server's calls, connects AMI to it or dials on it, and serves every
server whose lock it holds with one AMI connection each; for the others it waits as a hot
standby and takes over (adopting their live calls) when the owner dies. The leader also
looks each second for servers whose lock nobody holds (``/healthz`` ``unserved``,
``/metrics``). A node that finds a server it lost owned by another node stops at once
(exit 3) rather than dial next to the node that may own the server now.

Blocking CRM I/O (pull, status reads, outcome writes) runs in a small thread pool, each
call bounded by a timeout, so a CRM that does not answer never stops the loop.

The never-touch re-check (business-rules §2): right before each dial the dispatcher asks
``StatusRecheck.check``. A status learned from the CRM within ``status_max_age_s`` (a push,
a pull page, or a read) decides at once; otherwise the order is released untouched, its
status is read in the pool, and dispatch runs again when the answer is in. A CRM that does
not answer holds only the orders it cannot vouch for; they are asked again after
``status_retry_s`` and never dialled unchecked.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from campaigns.calls import CallReport, OriginateRequest
from campaigns.dispositions import Disposition, DispositionKind
from campaigns.orders import Order
from campaigns.outcomes import DEFAULT_CRM_MAPPING, CrmFields, OutcomeKind
from crm_adapter.demo import DemoCrm
from crm_adapter.errors import CrmError, OrderNotFoundError
from crm_adapter.factory import make_adapter
from crm_adapter.http_json import IntakeHandler
from crm_adapter.port import CrmAdapter, CrmOrderStatus
from crm_adapter.recheck import dialer_statuses
from crm_adapter.signing import SeenEvents
from dialer.ami.telephony import AmiAuthError, AmiTelephony, AmiUnavailable
from dialer.app.agent_events import AgentEvents, GuardedTelephony
from dialer.app.agent_sync import AgentSync
from dialer.app.health import NodeReadings, node_health
from dialer.app.jobs import PeriodicJobs
from dialer.app.lock_watch import LOCK_CHECK_S, LockSupervisor
from dialer.app.log_journal import LogJournal
from dialer.app.node_role import NodePhase, ServerRole
from dialer.app.operations import Operations
from dialer.app.pump import WakePump
from dialer.app.screener import make_screen
from dialer.app.server_slot import ServerSlot, server_lock
from dialer.config.service import DemoCrmConfig, ServedServer, ServiceConfig
from dialer.delivery.outbox import Backoff, OutboxWorker
from dialer.dispatch.agents import AgentPool, AgentState
from dialer.dispatch.dispatcher import Dispatcher, originate_request
from dialer.dispatch.pacing import Pacer
from dialer.dispatch.ports import AttemptRecord
from dialer.dispatch.round import DialRound
from dialer.dispatch.status_recheck import StatusRecheck
from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.campaigns import SqlCampaignStore
from dialer.storage.coordination import open_coordinator
from dialer.storage.engine import database_state, is_database_down
from dialer.storage.errors import DatabaseUnavailableError
from dialer.storage.migrate import open_database
from dialer.storage.order_admin import awaiting_disposition, phase_counts
from dialer.storage.orders import SqlOrderStore
from dialer.storage.outbox import SqlOutboxStore

log = logging.getLogger("dialer.service")
Clock = Callable[[], datetime]
_T = TypeVar("_T")


def run_service(config: ServiceConfig, *, duration_s: float | None = None) -> int:
    """Run the service until a signal (or ``duration_s``); returns the exit code."""
    loop = asyncio.new_event_loop()
    from twisted.internet import asyncioreactor  # noqa: PLC0415 - before the reactor import

    asyncioreactor.install(loop)  # type: ignore[no-untyped-call]
    asyncio.set_event_loop(loop)
    _configure_logging(Path(config.service.log_file))
    try:
        service = Service(config, clock=lambda: datetime.now(UTC))
    except DatabaseUnavailableError as exc:  # a supervisor restarts it until the DB answers
        log.error("cannot start: the database is unavailable: %s", exc)
        loop.close()
        return 1
    try:
        return loop.run_until_complete(service.run(duration_s))
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _configure_logging(log_file: Path) -> None:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter("%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s: %(message)s",
                                  "%Y-%m-%dT%H:%M:%S")  # fmt: skip
    formatter.converter = lambda *_: datetime.now(UTC).timetuple()
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for handler in (logging.FileHandler(log_file, encoding="utf-8"), logging.StreamHandler()):
        handler.setFormatter(formatter)
        root.addHandler(handler)
    for noisy in ("apscheduler", "panoramisk"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# ---- pieces owned by the composition root -------------------------------------------------


# ---- the service ----------------------------------------------------------------------------


class Service:
    """Owns the running objects; ``run`` starts them, waits for the stop and stops them."""

    def __init__(self, config: ServiceConfig, *, clock: Clock) -> None:
        self._config = config
        self._settings = config.service
        self._campaign = config.campaign
        self._clock = clock
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._hurry = False  # how to stop: without waiting for calls in progress
        self._phase = NodePhase.STARTING
        self._tasks: set[asyncio.Task[Any]] = set()
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="crm")
        self._journal = LogJournal()
        self._intake = config.intake_filter()
        now = clock()
        self._engine = open_database(self._settings.db_url)
        self._coordinator = open_coordinator(self._settings.db_url, self._settings.node)
        self._exit_code = 0
        self._crm = self._make_crm(now)
        self._mapping = self._crm_mapping()
        self._recheck = StatusRecheck(
            self._campaign,
            dialer_statuses(self._mapping),
            clock=clock,
            max_age=timedelta(seconds=self._settings.status_max_age_s),
            retry_after=timedelta(seconds=self._settings.status_retry_s),
        )
        self._pacer = Pacer(self._settings.cps, now)
        from dialer.web.metrics import LatencyHistogram  # noqa: PLC0415 - twisted.web inside

        self._latency = LatencyHistogram()
        rng = random.Random()
        self._screen = make_screen(self._campaign, db_url=self._settings.db_url)
        self._slots = [self._make_slot(served, now, rng) for served in config.served()]
        # admission and ops go through the first server's dispatcher (neither dials)
        self._dispatcher = self._slots[0].dispatcher
        backoff = Backoff(timedelta(seconds=self._settings.outbox_backoff_s),
                          timedelta(seconds=self._settings.outbox_backoff_max_s))  # fmt: skip
        self._outbox = OutboxWorker(SqlOutboxStore(self._engine), self._crm, rng=rng,
                                    backoff=backoff)  # fmt: skip
        self._campaigns = SqlCampaignStore(self._engine)
        self._ops = Operations(engine=self._engine, dispatcher=self._dispatcher, clock=clock,
                               wake=self._wake.set, accept=self.accept)  # fmt: skip
        self._listening: Any = None
        self._intake_url = ""
        self._jobs = PeriodicJobs(
            self._settings,
            self._campaign,
            clock=clock,
            crm=self._crm,
            intake=self._intake,
            outbox=self._outbox,
            recheck=self._recheck,
            executor=self._executor,
            accept=self.accept,
            queue_summary=lambda: phase_counts(self._engine, self._campaign.name),
            wake=self._wake.set,
            leader=lambda: self._locks.leads,
            stopping=lambda: self._stopping,
            spawn=self._spawn,
            why=_why,
        )
        self._locks = LockSupervisor(
            self._coordinator,
            self._slots,
            node=self._settings.node,
            campaign=self._campaign.name,
            executor=self._executor,
            agent_servers=self._agent_servers,
            serve=self._serve,
            stop_with=self._stop_with,
            became_leader=self._jobs.run_leader_jobs_now,
            wake=self._wake.set,
            spawn=self._spawn,
            stopping=lambda: self._stopping,
            why=_why,
        )
        self._pump = WakePump(self._wake, self._round, tick_s=self._settings.tick_s,
                              stopping=lambda: self._stopping, why=_why)  # fmt: skip

    # ---- run and stop ------------------------------------------------------------------

    async def run(self, duration_s: float | None) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self._on_signal)
        await self._locks.check_leader()
        for slot in self._slots:
            if not await self._locks.try_server(slot):
                self._log_standby(slot)
            elif await self._serve(slot) != 0:
                await self._close()
                return 1
        self._listen()
        self._jobs.start(loop)
        self._spawn(self._pump.run())
        self._spawn(self._locks.watch())
        self._announce()
        self._phase = self._phase.to(NodePhase.RUNNING)
        try:
            await asyncio.wait_for(self._stop.wait(), duration_s)
        except TimeoutError:
            log.info("the --for duration of %s s is over; stopping", duration_s)
        await self._shutdown()
        return self._exit_code

    async def _serve(self, slot: ServerSlot) -> int:
        """This node owns the server now: adopt the server's live calls, connect AMI."""
        slot.move(ServerRole.SERVING)
        log.info("server %s: node %s owns it (campaign %s); recovering its live calls",
                 slot.name, self._settings.node, self._campaign.name)  # fmt: skip
        self._recover(slot)
        events = AgentEvents(slot.agents, self._clock, self._wake.set)
        telephony = slot.telephony
        telephony.watch_agent_devices(self._campaign.agent_channel_template, events.device)
        telephony.watch_accepts(events.accepted)
        await telephony.start()
        try:
            await telephony.wait_ready()
        except AmiAuthError as exc:
            log.error("AMI of server %s refused the login: %s", slot.name, exc)
            return 1
        except AmiUnavailable as exc:
            log.warning("AMI of server %s not ready yet (%s); dialling starts when it is",
                        slot.name, exc)  # fmt: skip
        self._wake.set()
        return 0

    def _log_standby(self, slot: ServerSlot) -> None:
        log.info("standby: server %s is owned by another node; node %s waits and takes "
                 "over when it goes (retrying every %.0f s)",
                 slot.name, self._settings.node, LOCK_CHECK_S)  # fmt: skip

    @property
    def _stopping(self) -> bool:
        return self._phase is NodePhase.STOPPING

    def _agent_servers(self) -> set[str]:
        registry = SqlAgentRegistry(self._engine)
        return {r.server for r in registry.all(self._campaign.name) if r.server}

    def _stop_with(self, exit_code: int, hurry: bool) -> None:
        """Stop for the lock supervisor: ``exit_code`` for the node's supervisor."""
        self._exit_code = exit_code
        self._hurry = self._hurry or hurry
        self._stop.set()

    def _on_signal(self) -> None:
        if self._stop.is_set():
            log.warning("second stop signal: not waiting for calls in progress")
            self._hurry = True
        log.info("stop requested: no new dials; calls in progress finish")
        self._stop.set()

    async def _shutdown(self) -> None:
        self._phase = self._phase.to(NodePhase.STOPPING)
        self._wake.set()
        if self._listening is not None:
            await self._listening.stopListening().asFuture(asyncio.get_running_loop())
        self._jobs.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.shutdown_grace_s
        while self._live_calls() and loop.time() < deadline and not self._hurry:
            await asyncio.sleep(0.2)
        left = self._live_calls()
        if left:
            log.warning(
                "handing back %d call(s) still in progress: the next start finds them on "
                "Asterisk by ChannelId and finishes their bookkeeping", left,
            )  # fmt: skip
        await self._jobs.last_flush()
        await self._close()
        log.info("stopped")

    async def _close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for slot in self._slots:
            await slot.telephony.close()
        await self._locks.release()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._crm.close()
        self._engine.dispose()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ---- start-up ----------------------------------------------------------------------

    def _make_crm(self, now: datetime) -> CrmAdapter:
        crm = self._config.crm
        if isinstance(crm, DemoCrmConfig):
            return DemoCrm.from_file(crm.orders, now)
        return make_adapter(crm, clock=self._clock, monotonic=time.monotonic, sleep=time.sleep)

    def _crm_mapping(self) -> Mapping[OutcomeKind, CrmFields]:
        crm = self._config.crm
        if isinstance(crm, DemoCrmConfig):
            return DEFAULT_CRM_MAPPING
        return crm.mapping

    def _make_slot(self, served: ServedServer, now: datetime, rng: random.Random) -> ServerSlot:
        """One server's objects: its store (attempts record the server), agent pool,
        registry sync, AMI link and dispatcher."""
        name, campaign = served.server.name, self._campaign
        agents = campaign.agents if served.server.agents is None else served.server.agents
        store = SqlOrderStore(self._engine, campaign=campaign.name, node=self._settings.node,
                              lease=timedelta(seconds=self._settings.claim_lease_s),
                              mapping=dict(self._mapping), server=name)  # fmt: skip
        pool = AgentPool(agents, now, wrap_up_s=campaign.wrap_up_s,
                         miss_pause_after=campaign.agent_miss_pause_after)  # fmt: skip
        built: list[ServerSlot] = []  # the slot, once built, for its AMI's callbacks

        def on_report(report: CallReport) -> None:
            self._on_report(built[0], report)

        def next_turn(report: CallReport) -> None:
            asyncio.get_running_loop().call_soon(on_report, report)

        telephony = AmiTelephony(served.ami, on_report, clock=self._clock,
                                 on_originate_latency=self._latency.observe)  # fmt: skip

        dispatcher = Dispatcher(
            settings=campaign,
            store=store,
            telephony=GuardedTelephony(telephony, next_turn, self._clock),
            agents=pool,
            journal=self._journal,
            screen=self._screen,
            new_attempt_id=lambda: str(uuid.uuid4()),
            jitter=rng.random,
            status_check=self._recheck.check,
        )
        sync = self._agent_registry(name, agents, pool, now)
        dial_round = DialRound(
            dispatcher,
            agent_sync=sync,
            pacer=self._pacer,
            line_room=lambda: self._line_room(built[0]),
            recheck=self._recheck,
            status_reader=self,
            auto_disposition=self._auto_disposition,
            answered=self._take_answered,
            dialling=lambda: built[0].dialling,
            paused=lambda: self._campaigns.is_paused(campaign.name),
            outage=_outage,
        )
        built.append(ServerSlot(name, server_lock(name, campaign.name),
                                served.server.line_cap(self._settings), store, pool, sync,
                                telephony, dispatcher, dial_round))  # fmt: skip
        return built[0]

    def _take_answered(self) -> list[str]:
        """Orders whose call was just answered (the journal notes them as it logs)."""
        answered, self._journal.answered = self._journal.answered, []
        return answered

    def _agent_registry(
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
        return AgentSync(registry, pool, campaign=campaign.name, server=server)

    def _recover(self, slot: ServerSlot) -> None:
        """Attempts a previous owner of this server left live are awaited again (found on
        Asterisk by ChannelId, or settled from AstDB at the first resync); their agents are
        busy. Other servers' attempts belong to their own owners."""
        live = slot.store.live_attempts()
        slot.agent_sync.load(self._clock(), busy={a.agent for a in live})
        slot.dispatcher.recover(live)
        for attempt in live:
            slot.agents.restore(attempt.agent, AgentState.ON_CALL, attempt.started_at)
            slot.telephony.adopt(self._request_for(attempt), attempt.started_at)
            log.info("recovering attempt %s of order %s (agent %s, server %s)",
                     attempt.id, attempt.order_id, attempt.agent, slot.name)  # fmt: skip
        for order_id in self._awaiting_disposition(slot.name):
            slot.round.dispose(order_id, self._clock())

    def _request_for(self, attempt: AttemptRecord) -> OriginateRequest:
        return originate_request(self._campaign, attempt)

    def _awaiting_disposition(self, server: str) -> list[str]:
        if self._settings.auto_disposition == "none":
            return []
        return awaiting_disposition(self._engine, self._campaign.name, server)

    def _listen(self) -> None:
        from twisted.internet import reactor  # noqa: PLC0415 - installed in run_service

        from dialer.storage.views import OrderViews  # noqa: PLC0415
        from dialer.web import site as web  # noqa: PLC0415
        from dialer.web.api.app import build_api  # noqa: PLC0415
        from dialer.web.metrics import MetricsResource  # noqa: PLC0415

        secret = self._settings.intake_secret
        handler = None if secret is None else IntakeHandler(secret, SeenEvents())
        name = self._campaign.name
        metrics = MetricsResource(OrderViews(self._engine, name),
                                  lambda: (self._ami_up(), self._clock()), name,
                                  latency=self._latency, servers=lambda: self._locks.unserved,
                                  outbox_dead=self._outbox.dead_counts)  # fmt: skip
        extra = {b"api": build_api(self._engine, self._ops), b"metrics": metrics}
        site = web.build_site(reactor, handler, self.accept, self.health, self._clock, extra=extra)
        host, port = self._settings.intake_host, self._settings.intake_port
        self._listening = web.listen(reactor, site, host, port)
        self._intake_url = f"http://{host}:{self._listening.getHost().port}"

    def _announce(self) -> None:
        s = self._settings
        servers = ", ".join(f"{slot.name}" + ("" if slot.serving else " (standby)")
                            for slot in self._slots)  # fmt: skip
        agents = sorted({a.id for slot in self._slots for a in slot.agents.all()})
        lines = [
            f"callback-dialer run: campaign {self._campaign.name!r}, node {s.node}, "
            f"server {servers}, agents {', '.join(agents) or '(none)'}",
            f"  log:     {Path(s.log_file).resolve()}",
            f"  healthz: {self._intake_url}/healthz",
            f"  intake:  POST {self._intake_url}/intake"
            + ("" if s.intake_secret else " (off: no intake secret)"),
            "  stop:    Ctrl-C or SIGTERM (calls in progress finish; a second Ctrl-C hurries)",
        ]
        print("\n".join(lines), file=sys.stderr, flush=True)
        log.info("started; healthz %s/healthz", self._intake_url)

    # ---- work ------------------------------------------------------------------------

    def accept(self, orders: list[Order]) -> int:
        """Orders from the CRM (push or pull): their statuses are fresh readings; the
        waiting ones are admitted and dispatch wakes at once."""
        now = self._clock()
        for order in orders:
            status = CrmOrderStatus(
                order.id, order.status, order.state, order.prepaid, order.source
            )
            self._recheck.note(status, now)
        admitted = self._dispatcher.admit([o for o in orders if self._intake.admits(o)], now)
        if admitted:
            log.info("admitted %d new order(s) of %d received", admitted, len(orders))
        self._wake.set()
        return admitted

    def _round(self) -> float:
        """One dispatch round on every server this node serves; returns how long to sleep
        at most (the safety tick unless a round has work sooner)."""
        now = self._clock()
        runs = [(slot.dialling, slot.round.run(now)) for slot in self._slots]
        if any(dialling for dialling, _ in runs):  # a standby server's 1 s look waits then
            runs = [run for run in runs if run[0]]
        tick = self._settings.tick_s
        return min([tick] + [(at - now).total_seconds() for _, at in runs if at is not None])

    def _line_room(self, slot: ServerSlot) -> int:
        own = self._settings.campaign_lines - self._live_calls()
        if own <= 0:
            return 0
        return min(own, slot.line_cap - len(slot.store.live_attempts()))

    def _live_calls(self) -> int:
        """This node's calls in progress, on every server it serves."""
        return sum(slot.dispatcher.live_attempts for slot in self._slots)

    def _ami_up(self) -> bool:
        served = [slot for slot in self._slots if slot.serving]
        return bool(served) and all(slot.telephony.ready for slot in served)

    def read(self, order_ids: list[str], now: datetime) -> None:
        """The rounds' ``StatusReader``: the CRM is read in the pool, off the loop."""
        self._spawn(self._read_statuses(order_ids))

    async def _read_statuses(self, order_ids: list[str]) -> None:
        await asyncio.gather(*(self._read_status(order_id) for order_id in order_ids))
        self._wake.set()

    async def _read_status(self, order_id: str) -> None:
        try:
            status = await self._in_thread(self._crm.read_status, order_id)
        except OrderNotFoundError:
            self._recheck.note_missing(order_id, self._clock())
        except (CrmError, TimeoutError) as exc:
            why = str(exc) or type(exc).__name__
            retry = self._settings.status_retry_s
            log.warning(
                "status of order %s not read (%s); asked again in %s s", order_id, why, retry
            )
            self._recheck.note_failed(order_id, self._clock())
            self._jobs.crm_state = f"status read failed: {why}"
            asyncio.get_running_loop().call_later(self._settings.status_retry_s, self._wake.set)
        else:
            self._recheck.note(status, self._clock())
            self._jobs.crm_answered()
        finally:
            self._recheck.done(order_id)

    async def _in_thread(self, fn: Callable[..., _T], *args: Any) -> _T:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, fn, *args)
        return await asyncio.wait_for(future, self._settings.status_timeout_s)

    # ---- telephony callbacks -----------------------------------------------------------

    def _on_report(self, slot: ServerSlot, report: CallReport) -> None:
        if slot.round.on_report(report):  # a kept one waits for the next round
            self._wake.set()

    def _auto_disposition(self, order_id: str) -> Disposition | None:
        mode = self._settings.auto_disposition
        if mode == "confirmed" or (mode == "scripted" and not isinstance(self._crm, DemoCrm)):
            return Disposition(DispositionKind.CONFIRMED)
        if mode != "scripted" or not isinstance(self._crm, DemoCrm):
            return None
        verdict = self._crm.verdict(order_id)
        return Disposition(
            DispositionKind(verdict.kind), reason=verdict.reason, callback_at=verdict.callback_at
        )

    # ---- health ------------------------------------------------------------------------

    def health(self) -> tuple[bool, Mapping[str, Any]]:
        now = self._clock()
        ready = self._ami_up()
        database = self._database_state()
        readings = NodeReadings(
            now=now,
            campaign=self._campaign.name,
            node=self._settings.node,
            ami_ready=ready,
            database=database,
            crm=self._jobs.crm_state,
            paused=self._paused_state() if database == "ok" else None,
            phase=self._phase,
            leadership=self._locks.leadership,
            unserved=self._locks.unserved,
            live_calls=self._live_calls(),
        )
        return node_health(readings, self._slots)

    def _paused_state(self) -> bool | None:
        try:
            return self._campaigns.is_paused(self._campaign.name)
        except DatabaseUnavailableError:
            return None  # the database went away since it was asked

    def _database_state(self) -> str:
        return database_state(self._engine)


def _outage(exc: BaseException) -> str | None:
    """Why ``exc`` is a database outage (the round keeps its work), or None."""
    return _why(exc) if is_database_down(exc) else None


def _why(exc: BaseException) -> str:
    """One short line saying why the database failed (no SQL, no parameters)."""
    if isinstance(exc, DatabaseUnavailableError) and exc.cause is not None:
        exc = exc.cause  # the library's error a store translated: name it as before
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"
