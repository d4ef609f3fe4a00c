"""Telephony events that concern agents, and a guard that turns refused dials into reports."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from campaigns.calls import CallReport, CallResult, OriginateRequest
from dialer.ami.results import DeviceStatus
from dialer.dispatch.agents import AgentPool, AgentState
from dialer.dispatch.ports import ReportSink, Telephony

log = logging.getLogger("dialer.agent_events")


class GuardedTelephony:
    """Telephony whose refused requests (a bad dial template or value) come back as FAILED
    reports to ``sink`` instead of exceptions inside ``Dispatcher.dispatch``. The sink is
    called at once, inside ``dispatch``: it must not call back into the dispatcher then
    (queue the report, or hand it to the next loop turn)."""

    def __init__(
        self,
        telephony: Telephony,
        sink: ReportSink,
        clock: Callable[[], datetime],
        *,
        offered: Callable[[OriginateRequest], None] | None = None,
    ) -> None:
        """``offered`` hears each request the telephony took (the agent's phone rings)."""
        self._telephony = telephony
        self._sink = sink
        self._clock = clock
        self._offered = offered

    def originate(self, request: OriginateRequest) -> None:
        try:
            self._telephony.originate(request)
            if self._offered is not None:
                self._offered(request)
        except ValueError as exc:
            log.error("originate refused for %s: %s", request.attempt_id, exc)
            report = CallReport(
                request.attempt_id,
                CallResult.FAILED,
                self._clock(),
                detail=f"refused before dialling: {exc}",
            )
            self._sink(report)


class AgentEvents:
    """Device states and accepts from the adapter, applied to the pool; ``changed`` is
    called when an agent may have become free (the driver wakes dispatch)."""

    def __init__(
        self, pool: AgentPool, clock: Callable[[], datetime], changed: Callable[[], None]
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._changed = changed

    def device(self, agent_id: str, status: DeviceStatus) -> None:
        if status.reachable is False:
            self._pool.device_unavailable(agent_id, self._clock())
        elif status.reachable:
            self._pool.device_available(agent_id, self._clock())
            self._changed()

    def accepted(self, attempt_id: str, agent_id: str) -> None:
        """The agent pressed 1 (or spoke): ringing → on call."""
        del attempt_id
        if self._pool.knows(agent_id) and self._pool.get(agent_id).state is AgentState.RINGING:
            self._pool.connected(agent_id, self._clock())
