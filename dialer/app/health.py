"""The /healthz body: what a node reports about itself, from a snapshot the service takes.

``NodeHealth`` gathers the readings (database, pause, the node's role) at each request;
``node_health`` (pure) turns them into the verdict and the JSON body, whose keys and values
ops and the tests read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dialer.app.control import NodeControl
from dialer.app.crm_watch import CrmWatch
from dialer.app.lock_watch import LockSupervisor
from dialer.app.node_role import LeaderRole, NodePhase, ServerRole
from dialer.app.server_slot import ServerSlot, ServerSlots
from dialer.storage.errors import DatabaseUnavailableError


@dataclass(frozen=True)
class NodeReadings:
    """What the node knows at ``now`` besides its server slots."""

    now: datetime
    campaign: str
    node: str
    ami_ready: bool
    database: str  # "ok" or why not
    crm: str
    paused: bool | None  # None when the database was not asked or did not answer
    phase: NodePhase
    leadership: LeaderRole
    unserved: Mapping[str, bool] | None  # the leader's finding; None on other nodes
    live_calls: int


def node_health(
    readings: NodeReadings, slots: Sequence[ServerSlot]
) -> tuple[bool, Mapping[str, Any]]:
    """(healthy, body): a standby is healthy waiting; a node without the database, stopping,
    or that lost a server lock is not."""
    r = readings
    suspended = any(slot.suspended for slot in slots)
    standby = not any(slot.role.owned for slot in slots)
    stopping = r.phase is NodePhase.STOPPING
    healthy = (r.ami_ready or standby) and not stopping and r.database == "ok"
    healthy = healthy and not suspended  # lost a server lock: not dialling there
    agents = [agent for slot in slots for agent in slot.agents.all()]
    body = {
        "status": ("standby" if standby else "ok") if healthy else "unavailable",
        "ami": "standby" if standby else "ready" if r.ami_ready else "down",
        "database": r.database,
        "crm": r.crm,
        "paused": r.paused if r.database == "ok" else None,
        "kept_results": sum(slot.round.kept for slot in slots),
        "stopping": stopping,
        "campaign": r.campaign,
        "node": r.node,
        "server": slots[0].name,
        "servers": {slot.name: slot.state for slot in slots},
        "standby_for": [slot.name for slot in slots if slot.role is ServerRole.STANDBY],
        "unserved": _unserved_names(r.unserved),
        "leader": r.leadership is LeaderRole.LEADER,
        "standby": standby,
        "suspended": suspended,
        "live_calls": r.live_calls,
        "agents_idle": sum(slot.agents.idle_count(r.now) for slot in slots),
        "agents": {a.id: a.state.value for a in agents},
        "at": r.now.isoformat(),
    }
    return healthy, body


def _unserved_names(unserved: Mapping[str, bool] | None) -> list[str] | None:
    """Servers nobody serves, as the leader found them; None on other nodes."""
    if unserved is None:
        return None
    return sorted(name for name, nobody in unserved.items() if nobody)


class NodeHealth:
    """Takes the node's readings at each /healthz request and gives ``node_health``'s answer."""

    def __init__(
        self,
        *,
        campaign: str,
        node: str,
        slots: ServerSlots,
        control: NodeControl,
        locks: LockSupervisor,
        crm_watch: CrmWatch,
        database_state: Callable[[], str],
        paused: Callable[[str], bool],
        clock: Callable[[], datetime],
    ) -> None:
        self._campaign, self._node, self._slots, self._control = campaign, node, slots, control
        self._locks, self._crm_watch, self._database_state = locks, crm_watch, database_state
        self._paused, self._clock = paused, clock

    def __call__(self) -> tuple[bool, Mapping[str, Any]]:
        database = self._database_state()
        readings = NodeReadings(
            now=self._clock(),
            campaign=self._campaign,
            node=self._node,
            ami_ready=self._slots.ami_up(),
            database=database,
            crm=self._crm_watch.state,
            paused=self._paused_state() if database == "ok" else None,
            phase=self._control.phase,
            leadership=self._locks.leadership,
            unserved=self._locks.unserved,
            live_calls=self._slots.live_calls(),
        )
        return node_health(readings, list(self._slots))

    def _paused_state(self) -> bool | None:
        try:
            return self._paused(self._campaign)
        except DatabaseUnavailableError:
            return None  # the database went away since it was asked
