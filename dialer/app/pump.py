"""The wake-up pump: runs the dispatch rounds whenever something wakes it, or at the latest
when the rounds asked to be run again.

Anything that may give dispatch work (an order admitted, a call report, an agent free, the
safety tick) sets the pump's ``wake`` event; the pump runs one round and sleeps until the
next wake-up or the delay the round returned, whichever comes first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from dialer.storage.errors import DatabaseUnavailableError

log = logging.getLogger("dialer.service")  # the log lines ops grep name the service


class WakePump:
    """Runs ``round_`` (which returns how long it may sleep, in seconds) until stopping."""

    def __init__(
        self,
        wake: asyncio.Event,
        round_: Callable[[], float],
        *,
        tick_s: float,
        stopping: Callable[[], bool],
        why: Callable[[BaseException], str],
    ) -> None:
        self._wake = wake
        self._round = round_
        self._tick_s = tick_s
        self._stopping = stopping
        self._why = why

    async def run(self) -> None:
        while not self._stopping():
            self._wake.clear()
            delay = self._one_round()
            if self._stopping():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def _one_round(self) -> float:
        """The round's delay; after a failure, the safety tick (at most 1 s)."""
        try:
            return self._round()
        except DatabaseUnavailableError as exc:
            log.warning("database unavailable (%s); dispatch waits", self._why(exc))
        except Exception:
            log.exception("dispatch round failed")
        return min(self._tick_s, 1.0)
