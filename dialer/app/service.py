"""The dialing service: one asyncio loop for AMI, scheduler and web edge.

``run_service(config)`` installs Twisted's asyncio reactor on a new loop (before anything
imports ``twisted.internet.reactor``), owns the only clock, has the composition root
(``dialer.app.root``) wire every object by its constructor, and runs ``Service`` until
SIGINT/SIGTERM or the ``--for`` duration ends.

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
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from crm_adapter.port import CrmAdapter
from dialer.app.control import NodeControl
from dialer.app.edge import WebEdge
from dialer.app.jobs import PeriodicJobs
from dialer.app.lock_watch import LOCK_CHECK_S, LockSupervisor
from dialer.app.node_role import NodePhase
from dialer.app.pump import WakePump
from dialer.app.server_slot import ServerSlot, ServerSlots
from dialer.app.server_start import ServerStarter
from dialer.config.service import ServiceConfig, ServiceSettings
from dialer.storage.engine import Database
from dialer.storage.errors import DatabaseUnavailableError

log = logging.getLogger("dialer.service")


def run_service(config: ServiceConfig, *, duration_s: float | None = None) -> int:
    """Run the service until a signal (or ``duration_s``); returns the exit code."""
    loop = asyncio.new_event_loop()
    from twisted.internet import asyncioreactor  # noqa: PLC0415 - before the reactor import

    asyncioreactor.install(loop)  # type: ignore[no-untyped-call]
    asyncio.set_event_loop(loop)
    _configure_logging(Path(config.service.log_file))
    from dialer.app.root import build_service  # noqa: PLC0415 - the root imports twisted.web

    try:
        service = build_service(config, lambda: datetime.now(UTC))
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


class Service:
    """Runs the wired node: ``run`` starts its parts, waits for the stop and stops them."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        control: NodeControl,
        slots: ServerSlots,
        locks: LockSupervisor,
        jobs: PeriodicJobs,
        starter: ServerStarter,
        edge: WebEdge,
        pump: WakePump,
        closing: tuple[ThreadPoolExecutor, CrmAdapter, Database],
    ) -> None:
        self._settings, self._control, self._slots, self._locks = settings, control, slots, locks
        self._jobs, self._starter, self._edge, self._pump = jobs, starter, edge, pump
        self._executor, self._crm, self._engine = closing

    async def run(self, duration_s: float | None) -> int:
        control = self._control
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, control.on_signal)
        await self._locks.check_leader()
        if not await self._take_servers():
            await self._close()
            return 1
        self._edge.listen()
        self._jobs.start(loop)
        control.spawn(self._pump.run())
        control.spawn(self._locks.watch())
        self._edge.announce()
        control.move(NodePhase.RUNNING)
        try:
            await asyncio.wait_for(control.stop_requested.wait(), duration_s)
        except TimeoutError:
            log.info("the --for duration of %s s is over; stopping", duration_s)
        await self._shutdown()
        return control.exit_code

    async def _take_servers(self) -> bool:
        """Serve each server whose lock is free, stand by for the others; False when an
        AMI refused the login (the node stops with exit 1)."""
        for slot in self._slots:
            if not await self._locks.try_server(slot):
                self._log_standby(slot)
            elif await self._starter.serve(slot) != 0:
                return False
        return True

    def _log_standby(self, slot: ServerSlot) -> None:
        log.info("standby: server %s is owned by another node; node %s waits and takes "
                 "over when it goes (retrying every %.0f s)",
                 slot.name, self._settings.node, LOCK_CHECK_S)  # fmt: skip

    async def _shutdown(self) -> None:
        control = self._control
        control.move(NodePhase.STOPPING)
        control.wake()
        await self._edge.stop()
        self._jobs.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.shutdown_grace_s
        while self._slots.live_calls() and loop.time() < deadline and not control.hurry:
            await asyncio.sleep(0.2)
        left = self._slots.live_calls()
        if left:
            log.warning(
                "handing back %d call(s) still in progress: the next start finds them on "
                "Asterisk by ChannelId and finishes their bookkeeping", left,
            )  # fmt: skip
        await self._jobs.last_flush()
        await self._close()
        log.info("stopped")

    async def _close(self) -> None:
        await self._control.cancel_tasks()
        for slot in self._slots:
            await slot.telephony.close()
        await self._locks.release()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._crm.close()
        self._engine.dispose()
