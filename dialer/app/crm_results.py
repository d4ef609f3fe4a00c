"""Results that come from the CRM on the running node (issue 15 §3): answered orders are
followed in the CRM — from pushes and polls (``noted``) and from status reads with backoff
(``tick``) — and what the agent did there becomes the order's result, written nothing back.

Only for the campaigns with ``disposition_source`` "crm" or "both": in a service with
several, each campaign by its own settings, its results through its own dispatcher. The
policy (what a reading means, when to read again) is ``campaigns.crm_results``. The orders
followed and the end of their calls come from the database at every tick, so a restart,
another server's call or an agent's result given first (then the order no longer awaits
one) need no bookkeeping here.
A read that fails is logged and shown on /healthz; the next read of the backoff tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from campaigns.crm_results import crm_verdict, follows_crm, next_read_at
from campaigns.dispositions import Disposition
from campaigns.lifecycle import TransitionError
from crm_adapter.errors import CrmError
from crm_adapter.port import CrmAdapter, CrmOrderStatus
from dialer.app.crm_watch import CrmWatch, Spawn
from dialer.app.server_slot import ServerSlots
from dialer.dispatch.dispatcher import Dispatcher, DispatchError
from dialer.storage.engine import Database
from dialer.storage.errors import DatabaseUnavailableError
from dialer.storage.order_admin import awaiting_since

log = logging.getLogger("dialer.service")  # the log lines ops grep name the service


class CrmResults:
    """Follows answered orders in the CRM and applies the results it finds there."""

    def __init__(
        self,
        crm: CrmAdapter,
        slots: ServerSlots,
        engine: Database,
        crm_watch: CrmWatch,
        *,
        read_timeout_s: float,
        executor: ThreadPoolExecutor,
        clock: Callable[[], datetime],
        spawn: Spawn,
        wake: Callable[[], None],
    ) -> None:
        self._crm, self._slots, self._engine, self._crm_watch = crm, slots, engine, crm_watch
        self._timeout_s, self._executor = read_timeout_s, executor
        self._clock, self._spawn, self._wake = clock, spawn, wake
        self._awaiting: dict[str, tuple[str, datetime]] = {}  # order → campaign, call end
        self._last_read: dict[str, datetime] = {}
        self._in_flight: set[str] = set()

    def tick(self) -> None:
        """Read the CRM for the answered orders whose next read is due."""
        followed = self._followed()
        if not followed:
            return
        now = self._clock()
        self._refresh(followed)
        for order_id, (campaign, ended) in sorted(self._awaiting.items()):
            settings = followed[campaign].settings
            due = next_read_at(ended, self._last_read.get(order_id), settings)
            if due is not None and due <= now and order_id not in self._in_flight:
                self._last_read[order_id] = now
                self._in_flight.add(order_id)
                self._spawn(self._read(order_id))

    def noted(self, statuses: list[CrmOrderStatus]) -> None:
        """Orders the CRM pushed or a poll brought: a known order awaiting its result
        whose status or callback time now says one gets it. A database outage propagates
        (a push is then refused and sent again)."""
        followed = self._followed()
        if not followed:
            return
        mapped = {
            status
            for dispatcher in followed.values()
            for status in (*dispatcher.settings.crm_confirmed_statuses,
                           *dispatcher.settings.crm_refused_statuses)
        }  # fmt: skip
        telling = [s for s in statuses if s.status in mapped or s.callback_at is not None]
        if not telling:
            return
        self._refresh(followed)
        for status in telling:
            self._decide(status, followed)

    def _followed(self) -> dict[str, Dispatcher]:
        """The campaigns whose results are followed in the CRM ("crm" or "both"), each by
        name with the dispatcher its results go to; their settings as they are now."""
        return {
            name: dispatcher
            for name, dispatcher in self._slots.first.dispatchers().items()
            if follows_crm(dispatcher.settings)
        }

    def _refresh(self, followed: dict[str, Dispatcher]) -> None:
        self._awaiting = {
            order_id: (campaign, ended)
            for campaign in followed
            for order_id, ended in awaiting_since(self._engine, campaign).items()
        }
        self._last_read = {k: v for k, v in self._last_read.items() if k in self._awaiting}

    def _decide(self, status: CrmOrderStatus, followed: dict[str, Dispatcher]) -> None:
        found = self._awaiting.get(status.order_id)
        if found is None:
            return  # not awaiting a result (never answered, or its result is in)
        campaign, ended = found
        dispatcher = followed.get(campaign)
        if dispatcher is None:
            return  # its campaign stopped following the CRM since the last refresh
        result = crm_verdict(
            status.status, status.callback_at, call_ended_at=ended, settings=dispatcher.settings
        )
        if result is not None:
            self._apply(status.order_id, result, dispatcher)

    def _apply(self, order_id: str, result: Disposition, dispatcher: Dispatcher) -> None:
        now = self._clock()
        try:
            dispatcher.on_disposition(order_id, result, now, from_crm=True)
        except (TransitionError, DispatchError) as exc:
            log.info("CRM result of order %s ignored: %s", order_id, exc)  # the first won
            return
        log.info("order %s: %s from the CRM (nothing written back)", order_id,
                 result.kind.value)  # fmt: skip
        del self._awaiting[order_id]
        for slot in self._slots:  # the agent who talked may sit in another server's pool
            slot.agents.result_given(order_id, now)
        self._wake()

    async def _read(self, order_id: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self._executor, self._crm.read_status, order_id)
            status = await asyncio.wait_for(future, self._timeout_s)
        except (CrmError, TimeoutError) as exc:
            why = str(exc) or type(exc).__name__
            log.warning("CRM result of order %s not read (%s); read again later", order_id,
                        why)  # fmt: skip
            self._crm_watch.failed(f"status read failed: {why}")
            return
        finally:
            self._in_flight.discard(order_id)
        self._crm_watch.answered()
        try:
            self._decide(status, self._followed())
        except DatabaseUnavailableError as exc:
            log.warning("CRM result of order %s not applied: %s; read again later", order_id,
                        exc)  # fmt: skip
