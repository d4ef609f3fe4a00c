"""The node's role as explicit states: per server, for the campaign, and the node's phase.

Pure: no I/O, no clock. Each state type lists the moves it allows; ``to`` returns the next
state or raises ``RoleTransitionError`` for a move that is not allowed::

    ServerRole   STANDBY ──lock taken──▶ SERVING ──lock lost──▶ SUSPENDED
                    ▲                      │  ▲                    │
                    └──────released────────┘  └────lock retaken────┤
                    └─────────────another node owns it─────────────┘
    LeaderRole   FOLLOWER ◀──▶ LEADER
    NodePhase    STARTING ──▶ RUNNING ──▶ STOPPING        (STARTING ──▶ STOPPING too)

The values of ``ServerRole`` are the words /healthz shows under ``servers``.
"""

from __future__ import annotations

import enum
from typing import Self


class RoleTransitionError(ValueError):
    """A move between two states that the state type does not allow."""


class _States(enum.Enum):
    """An enum whose members name the members they may move to (``_moves``)."""

    @classmethod
    def _moves(cls) -> dict[str, tuple[str, ...]]:
        raise NotImplementedError

    def to(self, target: Self) -> Self:
        """The next state; moving to the same state is allowed and changes nothing."""
        if target is not self and target.name not in self._moves()[self.name]:
            raise RoleTransitionError(
                f"{type(self).__name__}: {self.name} cannot move to {target.name}"
            )
        return target


class ServerRole(_States):
    """What this node does for one Asterisk server."""

    STANDBY = "standby"  # another node holds the server's lock; this one waits
    SERVING = "serving"  # this node holds the lock and dials on it
    SUSPENDED = "suspended"  # lost the lock: dials nothing new, tries to take it back

    @classmethod
    def _moves(cls) -> dict[str, tuple[str, ...]]:
        return {
            "STANDBY": ("SERVING",),
            "SERVING": ("SUSPENDED", "STANDBY"),
            "SUSPENDED": ("SERVING", "STANDBY"),
        }

    @property
    def owned(self) -> bool:
        """Serving or suspended: the node has (had) the server and follows its calls."""
        return self is not ServerRole.STANDBY


class LeaderRole(_States):
    """Whether this node runs the campaign's single jobs (CRM poll, outbox, roll-over)."""

    FOLLOWER = "follower"
    LEADER = "leader"

    @classmethod
    def _moves(cls) -> dict[str, tuple[str, ...]]:
        return {"FOLLOWER": ("LEADER",), "LEADER": ("FOLLOWER",)}


class NodePhase(_States):
    """Where the node is in its run: no going back once it stops."""

    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"

    @classmethod
    def _moves(cls) -> dict[str, tuple[str, ...]]:
        return {"STARTING": ("RUNNING", "STOPPING"), "RUNNING": ("STOPPING",), "STOPPING": ()}
