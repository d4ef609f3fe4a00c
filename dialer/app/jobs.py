"""The node's periodic jobs on APScheduler: the CRM poll, the outbox flush, the dispatch
safety tick, following answered orders' results in the CRM and the day roll-over; the
leader's jobs run only while the node leads.

The poll reports the CRM's state to ``dialer.app.crm_watch.CrmWatch``. With an adapter
that reads changes since a cursor (``IncrementalIntake``: RetailCRM's ``orders/history``) the
poll runs at the adapter's interval, hands every changed order to ``accept`` (a status change
is a fresh reading for the pre-dial re-check, like a push) and only then keeps the new
cursor in the store: a crash between the two reads the same changes again (admission is
idempotent), never loses one.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from campaigns.orders import Order
from campaigns.settings import CampaignSettings
from crm_adapter.errors import CrmError
from crm_adapter.port import CrmAdapter, IncrementalIntake, IntakeChanges, IntakeFilter
from dialer.app.crm_watch import CrmWatch, Spawn
from dialer.config.service import ServiceSettings
from dialer.delivery.outbox import OutboxWorker
from dialer.dispatch.status_recheck import StatusRecheck
from dialer.recordings.files import RecordingFiles
from dialer.storage.errors import DatabaseUnavailableError

log = logging.getLogger("dialer.service")  # the log lines ops grep name the service
_MAX_PULL = 10_000
FOLLOW_CRM_S = 1.0  # answered orders' CRM reads are looked at this often (issue 15 §3)
CLEAN_AT_HOUR = 3  # the recordings clean-up runs at 03:00 in the campaign's zone
STOP_FLUSH_S = 10.0  # at stop: the flush in progress, then the final flush, each at most


class CursorStore(Protocol):
    """Where the intake cursor is kept (``dialer.storage.cursors.SqlCursorStore``)."""

    def get(self, name: str) -> str | None: ...

    def put(self, name: str, value: str, now: datetime) -> None: ...


class PeriodicJobs:
    """Schedules the jobs and runs them; ``leader`` and ``stopping`` are asked at each run."""

    def __init__(
        self,
        settings: ServiceSettings,
        campaign: CampaignSettings,
        *,
        clock: Callable[[], datetime],
        crm: CrmAdapter,
        crm_watch: CrmWatch,
        intake: IntakeFilter,
        outbox: OutboxWorker,
        recheck: StatusRecheck,
        executor: ThreadPoolExecutor,
        accept: Callable[[list[Order]], int],
        follow_crm: Callable[[], None],
        queue_summary: Callable[[], Sequence[tuple[str, str | None, int]]],
        wake: Callable[[], None],
        leader: Callable[[], bool],
        stopping: Callable[[], bool],
        spawn: Spawn,
        why: Callable[[BaseException], str],
        cursors: CursorStore | None = None,
        intakes: Mapping[str, IntakeFilter] | None = None,
    ) -> None:
        """``intakes``: with several campaigns, each one's filter by name (the poll pulls
        with each in turn, each with its own cursor); None: ``intake`` of ``campaign``."""
        self._cursors = cursors
        self._intakes = dict(intakes) if intakes else {campaign.name: intake}
        self._settings, self._campaign, self._clock = settings, campaign, clock
        self._crm, self._intake, self._outbox, self._recheck = crm, intake, outbox, recheck
        self._crm_watch = crm_watch
        self._executor, self._accept, self._queue_summary = executor, accept, queue_summary
        self._follow_crm = follow_crm
        self._wake, self._leader, self._stopping = wake, leader, stopping
        self._spawn, self._why = spawn, why
        self._scheduler: Any = None
        self._flushing: asyncio.Task[None] | None = None  # the outbox flush in progress

    # ---- the schedule --------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler  # noqa: PLC0415

        s = self._settings
        defaults = {
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": int(s.misfire_grace_s),
        }
        scheduler = AsyncIOScheduler(event_loop=loop, job_defaults=defaults, timezone=UTC)
        now = self._clock()
        if s.poll_interval_s > 0:
            scheduler.add_job(self.poll, "interval", seconds=self.poll_interval_s(), id="crm-poll",
                              next_run_time=now)  # fmt: skip
        scheduler.add_job(self._wake, "interval", seconds=s.tick_s, id="dispatch-tick")
        scheduler.add_job(self.follow_crm, "interval", seconds=FOLLOW_CRM_S, id="crm-results")
        scheduler.add_job(self.flush_tick, "interval", seconds=s.outbox_interval_s,
                          id="outbox-flush", next_run_time=now)  # fmt: skip
        scheduler.add_job(self.day_rollover, "cron", hour=0, minute=0, id="day-rollover",
                          timezone=self._campaign.default_tz)  # fmt: skip
        if s.recordings_retention_days > 0:  # every node: the files are on its own disk
            zone = self._campaign.default_tz
            scheduler.add_job(self.clean_recordings, "cron", hour=CLEAN_AT_HOUR, minute=0,
                              id="recordings-clean", timezone=zone)  # fmt: skip
        scheduler.start()
        self._scheduler = scheduler

    def shutdown(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)

    def run_leader_jobs_now(self) -> None:
        if self._scheduler is None:
            return  # not scheduled yet: the first runs are due at once anyway
        now = self._clock()
        for job_id in ("crm-poll", "outbox-flush"):
            if self._scheduler.get_job(job_id) is not None:
                self._scheduler.modify_job(job_id, next_run_time=now)

    # ---- recordings past retention -------------------------------------------------------

    async def clean_recordings(self) -> None:
        """Deletes recordings older than ``[service] recordings_retention_days`` (nightly)."""
        s = self._settings
        files = RecordingFiles(Path(s.recordings_dir), s.recordings_retention_days)
        loop = asyncio.get_running_loop()
        try:
            removed = await loop.run_in_executor(self._executor, files.clean, self._clock())
        except OSError as exc:
            log.warning("recordings clean-up in %s failed: %s", s.recordings_dir, exc)
            return
        log.info("recordings clean-up: %d file(s) older than %d days deleted from %s",
                 len(removed), s.recordings_retention_days, s.recordings_dir)  # fmt: skip

    # ---- the CRM poll --------------------------------------------------------------------

    def poll_interval_s(self) -> float:
        """``[service] poll_interval_s``, or the adapter's own with incremental intake."""
        incremental = self._incremental()
        if incremental is None:
            return self._settings.poll_interval_s
        return incremental.poll_interval_s

    def _incremental(self) -> IncrementalIntake | None:
        crm = self._crm
        return crm if self._cursors is not None and isinstance(crm, IncrementalIntake) else None

    async def poll(self) -> None:
        if not self._leader():
            return  # the leader polls the CRM
        for name, intake in self._intakes.items():
            await self._poll_one(name, intake)

    async def _poll_one(self, name: str, intake: IntakeFilter) -> None:
        """One campaign's pull (``name``'s cursor, ``intake``'s filter)."""
        incremental = self._incremental()
        if incremental is not None:
            await self._poll_changes(incremental, f"crm-intake:{name}", intake)
            return

        def fetch() -> list[Order]:
            return list(itertools.islice(self._crm.fetch_waiting(intake), _MAX_PULL))

        loop = asyncio.get_running_loop()
        try:
            orders = await loop.run_in_executor(self._executor, fetch)
        except CrmError as exc:
            log.warning("CRM poll failed: %s", exc)
            self._crm_watch.failed(f"poll failed: {exc}")
            return
        self._crm_watch.answered()
        try:
            self._accept(orders)
        except DatabaseUnavailableError as exc:
            log.warning("pulled orders not admitted: database unavailable (%s)", self._why(exc))

    async def _poll_changes(self, crm: IncrementalIntake, name: str, intake: IntakeFilter) -> None:
        cursors = self._cursors
        assert cursors is not None  # noqa: S101 - _incremental() checked it

        def fetch() -> IntakeChanges | None:
            return crm.fetch_changes(intake, cursors.get(name))

        loop = asyncio.get_running_loop()
        try:
            changes = await loop.run_in_executor(self._executor, fetch)
        except CrmError as exc:
            log.warning("CRM poll failed: %s", exc)
            self._crm_watch.failed(f"poll failed: {exc}")
            return
        except DatabaseUnavailableError as exc:
            log.warning("CRM poll skipped: database unavailable (%s)", self._why(exc))
            return
        self._crm_watch.answered()
        if changes is None:
            return
        for order_id in changes.gone:  # deleted in the CRM: leaves the queue undialled
            self._recheck.note_missing(order_id, self._clock())
        try:
            self._accept(list(changes.orders))
            if changes.cursor is not None:
                cursor, now = changes.cursor, self._clock()
                await loop.run_in_executor(self._executor, cursors.put, name, cursor, now)
        except DatabaseUnavailableError as exc:
            log.warning("pulled orders not admitted: database unavailable (%s); the same "
                        "changes are read again", self._why(exc))  # fmt: skip

    async def follow_crm(self) -> None:
        """The leader reads the CRM for answered orders' results (``CrmResults.tick``), on
        the loop: the reads themselves go to the thread pool."""
        if not self._leader() or self._stopping():
            return
        try:
            self._follow_crm()
        except DatabaseUnavailableError as exc:
            log.warning("CRM results not followed: database unavailable (%s)", self._why(exc))

    # ---- the outbox flush ----------------------------------------------------------------

    async def flush_tick(self) -> None:
        """The scheduler's outbox job: start a flush unless one still runs. The flush is the
        service's own task, so stopping the scheduler never cancels it half-way."""
        idle = self._flushing is None or self._flushing.done()
        if self._leader() and not self._stopping() and idle:
            self._flushing = self._spawn(self.flush_outbox())

    async def last_flush(self) -> None:
        """At stop: let the flush in progress end (up to ``STOP_FLUSH_S``; never cancelled:
        its thread would go on delivering), then flush once more. Two outbox workers never
        run at once (docs/crm.md), and nothing here raises into a clean stop."""
        running = self._flushing
        if running is not None and not running.done():
            log.info("stopping: waiting for the outbox flush in progress")
            done, _ = await asyncio.wait({running}, timeout=STOP_FLUSH_S)
            if not done:
                log.warning("stopping: the outbox flush still runs after %.0f s; no final flush "
                            "(what it has not delivered goes out at the next start)",
                            STOP_FLUSH_S)  # fmt: skip
                return
        await self.flush_outbox(stop_waiting_after=STOP_FLUSH_S)

    async def flush_outbox(self, *, stop_waiting_after: float | None = None) -> None:
        """Deliver the due outcomes in the pool; logs what went wrong, never raises. One
        outbox worker at a time (docs/crm.md): the leader's, and a slow flush is waited for
        (a timeout would leave its thread delivering beside the next flush)."""
        if not self._leader():
            return
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(
                self._executor, lambda: self._outbox.deliver_due(self._clock())
            )
        except RuntimeError:
            return  # the pool is shut down (stopping)
        limit = stop_waiting_after or max(self._settings.outbox_interval_s * 6, 30.0)
        done, _ = await asyncio.wait({future}, timeout=limit)
        if not done and stop_waiting_after:
            log.warning("stopping: the final outbox flush still runs after %.0f s; not waited "
                        "for", limit)  # fmt: skip
            return
        if not done:
            log.warning("outbox flush still running after %.0f s (a slow CRM?); no other flush "
                        "starts before it ends", limit)  # fmt: skip
            await asyncio.wait({future})
        self._flushed(future)

    def _flushed(self, future: asyncio.Future[int]) -> None:
        try:
            delivered = future.result()
        except DatabaseUnavailableError as exc:
            log.warning("outbox flush: database unavailable (%s); it goes on later", self._why(exc))
            return
        except Exception:
            log.exception("outbox flush failed; it goes on at the next flush")
            return
        if delivered:
            log.info("outbox: %d outcome(s) delivered to the CRM", delivered)

    # ---- the day roll-over ---------------------------------------------------------------

    async def day_rollover(self) -> None:
        """At midnight in the campaign's zone: log the queue by phase, forget old readings,
        and dispatch (retries deferred to the new day's window are due)."""
        self._wake()
        if not self._leader():
            return  # the leader logs the queue; every node's dispatch woke above
        now = self._clock()
        self._recheck.forget_older_than(now - timedelta(days=1))
        rows = self._queue_summary()
        summary = ", ".join(f"{phase}/{outcome or '-'}: {n}" for phase, outcome, n in rows)
        log.info("day roll-over: %s", summary or "no orders")
        self._wake()
