"""A small asyncio driver for the Dispatcher over real telephony: tests and demos, not the service.

``LiveDispatchLoop`` runs one tick every ``interval_s`` (sooner when a report or a device
state arrives); a tick is one ``DialRound`` (the service's round, without pacing, line caps
or the CRM re-check): apply the telephony reports received since the last tick, sync the
agents with the database, dispatch due orders. Everything happens on the running loop, one
tick at a time, so the synchronous Dispatcher never sees two callers. There is no scheduler, no CRM
intake and no outbox worker here: the service (APScheduler, issue 4) replaces this class.

Wiring (the adapter reports to the loop, the dispatcher dials through the loop's guard)::

    live = LiveDispatchLoop(pool, clock=clock, agent_sync=sync)
    ami = AmiTelephony(settings, live.report, clock=clock)
    ami.watch_agent_devices(campaign.agent_channel_template, live.device)
    ami.watch_accepts(live.accepted)
    dispatcher = Dispatcher(..., telephony=live.guard(ami), agents=pool, ...)
    live.start(dispatcher)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from campaigns.calls import CallReport
from dialer.ami.results import DeviceStatus
from dialer.app.agent_events import AgentEvents, GuardedTelephony
from dialer.app.agent_sync import AgentSync
from dialer.dispatch.agents import AgentPool
from dialer.dispatch.dispatcher import Dispatcher
from dialer.dispatch.ports import Telephony
from dialer.dispatch.round import DialRound

log = logging.getLogger("dialer.live_loop")


class LiveDispatchLoop:
    """Dispatch on a short interval; reports, device states and accepts applied on the loop."""

    def __init__(
        self,
        pool: AgentPool,
        *,
        clock: Callable[[], datetime],
        agent_sync: AgentSync | None = None,
        interval_s: float = 0.5,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._agent_sync = agent_sync
        self._interval_s = interval_s
        self._reports: list[CallReport] = []
        self._round: DialRound | None = None
        self._wake = asyncio.Event()
        self._dispatcher: Dispatcher | None = None
        self._task: asyncio.Task[None] | None = None
        self._events = AgentEvents(pool, clock, self._wake.set)

    def now(self) -> datetime:
        return self._clock()

    def guard(self, telephony: Telephony) -> Telephony:
        return GuardedTelephony(telephony, self.report, self._clock)

    def start(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    # ---- sinks for the telephony adapter (called on the loop) -------------------------

    def report(self, report: CallReport) -> None:
        self._reports.append(report)
        self._wake.set()

    def device(self, agent_id: str, status: DeviceStatus) -> None:
        self._events.device(agent_id, status)
        self._wake.set()

    def accepted(self, attempt_id: str, agent_id: str) -> None:
        self._events.accepted(attempt_id, agent_id)

    # ---- the tick ---------------------------------------------------------------------

    def tick(self) -> int:
        """One round; returns how many attempts it started."""
        dial_round = self._require_round()
        reports, self._reports = self._reports, []
        for report in reports:
            dial_round.report(report)
        dial_round.run(self._clock())
        return dial_round.started

    async def _run(self) -> None:
        while True:
            try:
                self.tick()
            except Exception:
                log.exception("dispatch tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval_s)
            self._wake.clear()

    def _require_round(self) -> DialRound:
        if self._dispatcher is None:
            raise RuntimeError("LiveDispatchLoop.start(dispatcher) was not called")
        if self._round is None or self._round.dispatcher is not self._dispatcher:
            self._round = DialRound(self._dispatcher, agent_sync=self._agent_sync)
        return self._round
