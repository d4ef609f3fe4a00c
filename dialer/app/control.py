"""The node's run as one object: its phase, the stop and wake-up signals, its exit code and
the background tasks it owns.

Every other part of the node asks it (``stopping``), signals through it (``wake``,
``stop_with``) and starts its coroutines with ``spawn`` so the stop can cancel them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from dialer.app.node_role import NodePhase

log = logging.getLogger("dialer.service")  # the log lines ops grep name the service


class NodeControl:
    """Phase (``NodePhase``), stop and wake events, exit code, "hurry" and the tasks."""

    def __init__(self) -> None:
        self.stop_requested = asyncio.Event()
        self.woken = asyncio.Event()  # something may have changed: run a round now
        self.phase = NodePhase.STARTING
        self.exit_code = 0
        self.hurry = False  # how to stop: without waiting for calls in progress
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def stopping(self) -> bool:
        return self.phase is NodePhase.STOPPING

    def move(self, phase: NodePhase) -> None:
        """To ``phase``; a move ``NodePhase`` does not allow raises ``RoleTransitionError``."""
        self.phase = self.phase.to(phase)

    def wake(self) -> None:
        self.woken.set()

    def stop_with(self, exit_code: int, hurry: bool) -> None:
        """Stop for the lock supervisor: ``exit_code`` for the node's supervisor."""
        self.exit_code = exit_code
        self.hurry = self.hurry or hurry
        self.stop_requested.set()

    def on_signal(self) -> None:
        """SIGINT/SIGTERM: the first stops dialling, a second one stops waiting for calls."""
        if self.stop_requested.is_set():
            log.warning("second stop signal: not waiting for calls in progress")
            self.hurry = True
        log.info("stop requested: no new dials; calls in progress finish")
        self.stop_requested.set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def cancel_tasks(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
