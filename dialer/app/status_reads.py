"""The rounds' ``StatusReader`` on the running node: CRM status reads in the thread pool,
each bounded by ``status_timeout_s``, so a CRM that does not answer never stops the loop.

Answers go to the ``StatusRecheck``; a failed read is asked again after ``status_retry_s``
(the order is never dialled unchecked) and shows on /healthz through ``CrmWatch``. An
adapter that reads many statuses at once (``BatchStatusReads``: RetailCRM, 100 orders a
request) gets the round's orders in one read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from crm_adapter.errors import CrmError, OrderNotFoundError
from crm_adapter.port import BatchStatusReads, CrmAdapter
from dialer.app.crm_watch import CrmWatch, Spawn
from dialer.config.service import ServiceSettings
from dialer.dispatch.status_recheck import StatusRecheck

log = logging.getLogger("dialer.service")  # the log lines ops grep name the service


class CrmStatusReads:
    """Reads the statuses a round asked for; wakes dispatch when the answers are in."""

    def __init__(
        self,
        crm: CrmAdapter,
        recheck: StatusRecheck,
        crm_watch: CrmWatch,
        settings: ServiceSettings,
        *,
        executor: ThreadPoolExecutor,
        clock: Callable[[], datetime],
        spawn: Spawn,
        wake: Callable[[], None],
    ) -> None:
        self._crm, self._recheck, self._crm_watch = crm, recheck, crm_watch
        self._timeout_s, self._retry_s = settings.status_timeout_s, settings.status_retry_s
        self._executor, self._clock, self._spawn, self._wake = executor, clock, spawn, wake

    def read(self, order_ids: list[str], now: datetime) -> None:
        """The ``StatusReader`` port: the CRM is read in the pool, off the loop."""
        del now
        self._spawn(self._read_all(order_ids))

    async def _read_all(self, order_ids: list[str]) -> None:
        crm = self._crm
        if isinstance(crm, BatchStatusReads) and len(order_ids) > 1:
            await self._read_batch(crm, order_ids)
        else:
            await asyncio.gather(*(self._read(order_id) for order_id in order_ids))
        self._wake()

    async def _read_batch(self, crm: BatchStatusReads, order_ids: list[str]) -> None:
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self._executor, crm.read_statuses, order_ids)
            found = await asyncio.wait_for(future, self._timeout_s)
        except (CrmError, TimeoutError) as exc:
            why = str(exc) or type(exc).__name__
            log.warning("statuses of %d orders not read (%s); asked again in %s s",
                        len(order_ids), why, self._retry_s)  # fmt: skip
            for order_id in order_ids:
                self._recheck.note_failed(order_id, self._clock())
            self._crm_watch.failed(f"status read failed: {why}")
            loop.call_later(self._retry_s, self._wake)
        else:
            now = self._clock()
            for order_id in order_ids:
                status = found.get(order_id)
                if status is None:
                    self._recheck.note_missing(order_id, now)
                else:
                    self._recheck.note(status, now)
            self._crm_watch.answered()
        finally:
            for order_id in order_ids:
                self._recheck.done(order_id)

    async def _read(self, order_id: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self._executor, self._crm.read_status, order_id)
            status = await asyncio.wait_for(future, self._timeout_s)
        except OrderNotFoundError:
            self._recheck.note_missing(order_id, self._clock())
        except (CrmError, TimeoutError) as exc:
            why = str(exc) or type(exc).__name__
            log.warning(
                "status of order %s not read (%s); asked again in %s s", order_id, why,
                self._retry_s,
            )  # fmt: skip
            self._recheck.note_failed(order_id, self._clock())
            self._crm_watch.failed(f"status read failed: {why}")
            loop.call_later(self._retry_s, self._wake)
        else:
            self._recheck.note(status, self._clock())
            self._crm_watch.answered()
        finally:
            self._recheck.done(order_id)
