"""Lock supervision: the campaign's leader lock and each server's lock, and the moves of the
node's role they cause (take a server over, lose it, take it back, give up to another node).

Every coordinator call runs on its own thread, bounded; a database that does not answer
counts as "not held" and never kills the loop. The roles are ``dialer.app.node_role`` states.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from dialer.app.node_role import LeaderRole, ServerRole
from dialer.app.server_slot import ServerSlot, server_lock
from dialer.storage.coordination import CoordinationUnavailableError, Coordinator

log = logging.getLogger("dialer.service")  # the log lines ops grep name the service
LOCK_CHECK_S = 1.0  # how often a node tries or re-verifies its locks
_LOCK_CALL_TIMEOUT_S = 10.0
EXIT_LOST_SERVER = 3


class LockSupervisor:
    """Holds the node's leadership and the leader's finding of unserved servers; moves the
    slots' roles as their locks come and go."""

    def __init__(
        self,
        coordinator: Coordinator,
        slots: Sequence[ServerSlot],
        *,
        node: str,
        campaign: str,
        executor: ThreadPoolExecutor,
        agent_servers: Callable[[], set[str]],
        serve: Callable[[ServerSlot], Awaitable[int]],
        stop_with: Callable[[int, bool], None],
        became_leader: Callable[[], None],
        wake: Callable[[], None],
        spawn: Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]],
        stopping: Callable[[], bool],
        why: Callable[[BaseException], str],
    ) -> None:
        self._coordinator, self._slots, self._node, self._campaign = (
            coordinator, slots, node, campaign
        )  # fmt: skip
        self._executor, self._agent_servers, self._serve = executor, agent_servers, serve
        self._stop_with, self._became_leader, self._wake = stop_with, became_leader, wake
        self._spawn, self._stopping, self._why = spawn, stopping, why
        self._coordination = ThreadPoolExecutor(max_workers=1, thread_name_prefix="locks")
        self._leader_lock = f"leader:{campaign}"
        self.leadership = LeaderRole.FOLLOWER
        self.unserved: dict[str, bool] | None = None  # the leader's finding: server → unserved

    @property
    def leads(self) -> bool:
        return self.leadership is LeaderRole.LEADER

    async def try_server(self, slot: ServerSlot) -> bool:
        """At start: take the server's lock if nobody holds it."""
        return await self._locked(self._coordinator.try_acquire, slot.lock)

    async def _locked(self, call: Callable[[str], bool], name: str) -> bool:
        """A coordinator call on its own thread, bounded; no answer counts as "no"."""
        return bool(await self._ask(call, name))

    async def _ask(self, call: Callable[[str], bool], name: str) -> bool | None:
        """A coordinator call on its own thread, bounded; None when the database did not
        answer (nobody can tell who holds the lock)."""
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self._coordination, call, name)
            return await asyncio.wait_for(future, _LOCK_CALL_TIMEOUT_S)
        except (TimeoutError, RuntimeError, CoordinationUnavailableError) as exc:
            log.warning("lock %s: no answer from the database (%s)", name, self._why(exc))
            return None
        except Exception:  # a coordinator bug must not kill the loop; the lock is "not held"
            log.exception("lock %s: check failed", name)
            return None

    async def watch(self) -> None:
        while not self._stopping():
            await asyncio.sleep(LOCK_CHECK_S)
            if self._stopping():
                return
            await self.check_leader()
            for slot in self._slots:
                await self._check_server(slot)
            self.unserved = await self._find_unserved() if self.leads else None

    async def check_leader(self) -> None:
        if self.leads:
            if not await self._locked(self._coordinator.holds, self._leader_lock):
                self.leadership = self.leadership.to(LeaderRole.FOLLOWER)
                log.warning("lost leadership of campaign %s: node %s stops the crm poll, "
                            "outbox and day roll-over", self._campaign, self._node)  # fmt: skip
        elif not self._stopping() and await self._locked(
            self._coordinator.try_acquire, self._leader_lock
        ):
            self.leadership = self.leadership.to(LeaderRole.LEADER)
            log.info("leader: node %s now runs crm poll, outbox, day roll-over (campaign %s)",
                     self._node, self._campaign)  # fmt: skip
            self._became_leader()

    async def _check_server(self, slot: ServerSlot) -> None:
        if slot.serving and not await self._locked(self._coordinator.holds, slot.lock):
            slot.move(ServerRole.SUSPENDED)  # no new dial from this moment
            log.error("lost the lock of server %s (database connection lost?): node %s "
                      "dials nothing new, keeps following its calls, and takes the lock "
                      "back if no other node took it",
                      slot.name, self._node)  # fmt: skip
        if slot.suspended:
            await self._take_back(slot)
        elif (
            not slot.serving
            and not self._stopping()
            and await self._locked(self._coordinator.try_acquire, slot.lock)
        ):
            slot.move(ServerRole.SERVING)  # before the task runs: the next check must not spawn it
            self._spawn(self._take_over(slot))

    async def _take_back(self, slot: ServerSlot) -> None:
        """After losing the server lock: retake it while nobody else has (a PostgreSQL
        restart); if another node holds it now, that node adopts this node's calls, so this
        one stops at once and exits 3 for its supervisor."""
        got = await self._ask(self._coordinator.try_acquire, slot.lock)
        if got is None or self._stopping():
            return  # the database does not answer yet: go on waiting, dial nothing
        if got:
            slot.move(ServerRole.SERVING)
            log.info("server %s: node %s holds its lock again; dialling resumes",
                     slot.name, self._node)  # fmt: skip
            self._wake()
            return
        log.error("server %s is owned by another node now: node %s stops and exits (%d) for "
                  "its supervisor to restart it", slot.name, self._node,
                  EXIT_LOST_SERVER)  # fmt: skip
        slot.move(ServerRole.STANDBY)
        self._stop_with(EXIT_LOST_SERVER, True)

    async def _take_over(self, slot: ServerSlot) -> None:
        """Serve the server as its new owner (AMI may take a while: locks go on being
        checked meanwhile)."""
        if self._stopping():
            return  # the lock is released with the others at close
        if await self._serve(slot) != 0:
            self._stop_with(1, False)

    async def _find_unserved(self) -> dict[str, bool] | None:
        """The leader's look at every server of the campaign (its own, and those agents are
        bound to): True for one whose lock nobody holds. None when the database cannot tell."""
        known = {slot.name for slot in self._slots}
        try:
            known |= await asyncio.get_running_loop().run_in_executor(
                self._executor, self._agent_servers
            )
        except Exception as exc:  # the lock checks go on; the finding waits for the database
            log.warning("servers of campaign %s not read: %s", self._campaign, self._why(exc))
            return None
        found: dict[str, bool] = {}
        for server in sorted(known):
            held = await self._ask(self._coordinator.is_held, server_lock(server, self._campaign))
            if held is None:
                return None
            found[server] = not held
        return found

    async def release(self) -> None:
        """After AMI is closed: a standby may take the server over from here."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                loop.run_in_executor(self._coordination, self._coordinator.close),
                _LOCK_CALL_TIMEOUT_S,
            )
        self.leadership = self.leadership.to(LeaderRole.FOLLOWER)
        for slot in self._slots:
            if slot.serving:  # a suspended one stays so, as it was
                slot.move(ServerRole.STANDBY)
        self._coordination.shutdown(wait=False, cancel_futures=True)
