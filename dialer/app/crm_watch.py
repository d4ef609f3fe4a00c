"""The CRM's state as /healthz shows it (``state``): the poll and the status reads report to
it, and a CRM that answers again after failures hurries the outbox."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from dialer.delivery.outbox import OutboxWorker

log = logging.getLogger("dialer.service")  # the log lines ops grep name the service

Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]


class CrmWatch:
    """``state`` is "not asked yet", "ok" or why the last CRM call failed."""

    def __init__(
        self,
        outbox: OutboxWorker,
        *,
        executor: ThreadPoolExecutor,
        clock: Callable[[], datetime],
        spawn: Spawn,
        stopping: Callable[[], bool],
        why: Callable[[BaseException], str],
    ) -> None:
        self._outbox, self._executor, self._clock = outbox, executor, clock
        self._spawn, self._stopping, self._why = spawn, stopping, why
        self.state = "not asked yet"

    def failed(self, state: str) -> None:
        """A CRM call failed; ``state`` says which and why (e.g. "poll failed: …")."""
        self.state = state

    def answered(self) -> None:
        """A CRM read succeeded. After failures, the outcomes waiting out their backoff are
        made due, so the next flush delivers them (one flush at a time: never two)."""
        failing = self.state not in ("ok", "not asked yet")
        self.state = "ok"
        if failing and not self._stopping():
            self._spawn(self._outbox_due_now())

    async def _outbox_due_now(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            moved = await loop.run_in_executor(
                self._executor, lambda: self._outbox.due_now(self._clock())
            )
        except Exception as exc:  # the flush keeps its backoff; nothing is lost
            log.warning("CRM answers again, but the outbox was not hurried: %s", self._why(exc))
            return
        log.info("CRM answers again: %d outcome(s) waiting out a backoff are due now", moved)
