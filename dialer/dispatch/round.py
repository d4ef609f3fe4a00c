"""One dispatch round on one server: the only driver of ``Dispatcher.dispatch``.

The service (once per served server), the live test loop and the simulator all run this
object; it is synchronous and takes ``now`` as an argument. A round, in this order:

1. applies the telephony reports queued since the last round (``report``) and the
   reports and dispositions kept while the database was down;
2. stops there when the server may not dial (not served, AMI down, campaign paused);
3. syncs the agents with the registry, takes the pacing allowance (cps) and the line
   room (campaign, trunk, server caps) and dials at most that many due orders; the
   never-touch re-check runs inside the dispatcher, and the orders it could not vouch
   for are handed to the ``StatusReader`` port (the service reads the CRM in a thread,
   the simulator asks its simulated CRM);
4. returns when it next has work without a new event, or None (an event wakes it).

Reports applied as they arrive (``on_report``) get their automatic disposition at once;
a report or disposition the store cannot take because the database is down is kept and
applied again, in its order, at the start of every round.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from campaigns.calls import CallReport
from campaigns.dispositions import Disposition
from dialer.dispatch.dispatcher import Dispatcher, DispatchError
from dialer.dispatch.pacing import Pacer
from dialer.dispatch.status_recheck import StatusRecheck

log = logging.getLogger("dialer.service")
NOT_DIALLING_WAKE = timedelta(seconds=1)  # a server that may not dial is looked at again
PACED_WAKE_MIN = timedelta(seconds=0.01)

Outage = Callable[[BaseException], "str | None"]
"""Why ``exc`` is a database outage (work is kept and applied later), or None (a bug)."""


def no_outage(exc: BaseException) -> str | None:
    return None


class AgentSyncing(Protocol):
    """Brings the agent pool in line with the agents table
    (``dialer.app.agent_sync.AgentSync``)."""

    def sync(self, now: datetime) -> object: ...


class StatusReader(Protocol):
    """Reads CRM statuses the re-check asked for; answers go to its ``StatusRecheck``
    (``note``, ``note_missing`` or ``note_failed``, then ``done``) and wake the driver."""

    def read(self, order_ids: list[str], now: datetime) -> None: ...


class DialRound:
    """One server's dispatch round (see the module docstring)."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        agent_sync: AgentSyncing | None = None,
        pacer: Pacer | None = None,
        line_room: Callable[[], int] | None = None,
        recheck: StatusRecheck | None = None,
        status_reader: StatusReader | None = None,
        auto_disposition: Callable[[str], Disposition | None] | None = None,
        dialling: Callable[[], bool] | None = None,
        paused: Callable[[], bool] | None = None,
        outage: Outage = no_outage,
    ) -> None:
        self.dispatcher = dispatcher
        self._agent_sync = agent_sync
        self._pacer = pacer
        self._line_room = line_room
        self._recheck = recheck
        self._status_reader = status_reader
        self._auto = auto_disposition
        self._dialling = dialling
        self._paused = paused
        self._outage = outage
        self._received: list[CallReport] = []
        self.kept_reports: list[CallReport] = []
        self.kept_dispositions: dict[str, tuple[Disposition | None, datetime]] = {}
        self.started = 0  # attempts the last round started

    @property
    def kept(self) -> int:
        """Results and dispositions waiting for the database."""
        return len(self.kept_reports) + len(self.kept_dispositions)

    # ---- events between rounds ---------------------------------------------------------

    def report(self, report: CallReport) -> None:
        """Queue a report for the next round."""
        self._received.append(report)

    def on_report(self, report: CallReport) -> bool:
        """Apply a report now; False when it was kept for later (the database is down)."""
        try:
            awaiting = self.dispatcher.on_report(report)
        except DispatchError:
            log.exception("report for an unknown attempt ignored")
            return True
        except Exception as exc:
            why = self._outage(exc)
            if why is None:
                raise
            log.warning("result of attempt %s kept until the database is back (%s)",
                        report.attempt_id, why)  # fmt: skip
            self.kept_reports.append(report)
            return False
        if awaiting is not None:
            self.dispose(awaiting, report.ended_at)
        return True

    def dispose(self, order_id: str, now: datetime, disposition: Disposition | None = None) -> None:
        """Apply an agent's verdict (or the automatic one when ``disposition`` is None)."""
        chosen = disposition if disposition is not None else self._auto_for(order_id)
        if chosen is None:
            return
        try:
            self.dispatcher.on_disposition(order_id, chosen, now)
        except (DispatchError, ValueError) as exc:
            log.error("disposition of order %s failed: %s", order_id, exc)
        except Exception as exc:
            why = self._outage(exc)
            if why is None:
                raise
            log.warning("disposition of order %s kept until the database is back (%s)",
                        order_id, why)  # fmt: skip
            self.kept_dispositions[order_id] = (disposition, now)

    # ---- the round ---------------------------------------------------------------------

    def run(self, now: datetime) -> datetime | None:
        """One round at ``now``; returns when it next has work without a new event."""
        self.started = 0
        self._apply_received()
        self._apply_kept()
        if self._dialling is not None and not self._dialling():
            return now + NOT_DIALLING_WAKE
        if self._paused is not None and self._paused():
            return None  # paused by ops (POST /api/v1/campaign/pause): nothing is originated
        return self._dial(now)

    def _dial(self, now: datetime) -> datetime | None:
        cps_room = None if self._pacer is None else self._pacer.allowance(now)
        limit = _least(cps_room, None if self._line_room is None else self._line_room())
        self._sync(now)
        started = self.dispatcher.dispatch(now, limit=limit) if limit is None or limit > 0 else 0
        self.started = started
        if self._pacer is not None:
            self._pacer.spend(started)
        if started:
            self._sync(now)
        self._ask_statuses(now)
        next_at = self.dispatcher.next_wakeup(now)
        if next_at is None:
            return None
        if next_at > now:
            return next_at
        if self._pacer is not None and limit == cps_room and limit is not None and started >= limit:
            return now + max(PACED_WAKE_MIN, timedelta(seconds=self._pacer.wait_s()))
        return None  # due work waits for an agent, a line or a status: each wakes us

    def _sync(self, now: datetime) -> None:
        if self._agent_sync is not None:
            self._agent_sync.sync(now)

    def _ask_statuses(self, now: datetime) -> None:
        if self._recheck is None or self._status_reader is None:
            return
        wanted = self._recheck.take_wanted(now)
        if wanted:
            self._status_reader.read(wanted, now)

    def _apply_received(self) -> None:
        received, self._received = self._received, []
        for report in received:
            try:
                awaiting = self.dispatcher.on_report(report)
            except DispatchError:
                log.exception("report for an unknown attempt ignored")
                continue
            if awaiting is not None:
                self.dispose(awaiting, report.ended_at)

    def _apply_kept(self) -> None:
        """Apply again, in their order, the results and dispositions the database could
        not take; stops at the first that still fails (raising its error)."""
        while self.kept_reports:
            report = self.kept_reports[0]
            awaiting = None
            try:
                awaiting = self.dispatcher.on_report(report)
            except DispatchError:
                log.exception("kept result of an unknown attempt dropped")
            else:
                log.info("kept result of attempt %s applied", report.attempt_id)
            self.kept_reports.pop(0)
            if awaiting is not None:
                self.kept_dispositions[awaiting] = (None, report.ended_at)
        while self.kept_dispositions:
            order_id, (given, at) = next(iter(self.kept_dispositions.items()))
            disposition = given if given is not None else self._auto_for(order_id)
            if disposition is not None:
                try:
                    self.dispatcher.on_disposition(order_id, disposition, at)
                except (DispatchError, ValueError) as exc:
                    log.error("kept disposition of order %s failed: %s", order_id, exc)
            del self.kept_dispositions[order_id]

    def _auto_for(self, order_id: str) -> Disposition | None:
        return None if self._auto is None else self._auto(order_id)


def _least(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    return a if b is None else min(a, b)
