"""One Asterisk server as a node sees it: its lock, AMI link, agents, store and dispatcher.

A node stands by for one server (``[ami]``) or several (``[ami.servers.NAME]``); it serves
each one whose lock it holds, with one AMI connection per served server, and waits as a hot
standby for the others (docs/deployment.md). The composition root (``dialer.app.root``)
builds one ``ServerSlot`` per server (``dialer.app.slot_factory``), keeps them in
``ServerSlots`` and moves each between the states below.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from dialer.ami.telephony import AmiTelephony
from dialer.app.agent_sync import AgentSync
from dialer.app.node_role import ServerRole
from dialer.dispatch.agents import AgentPool
from dialer.dispatch.dispatcher import Dispatcher
from dialer.dispatch.round import DialRound
from dialer.storage.orders import SqlOrderStore


@dataclass(eq=False)
class ServerSlot:
    """The per-server objects and this node's ``role`` for the server (``ServerRole``)."""

    name: str
    lock: str
    line_cap: int
    store: SqlOrderStore
    agents: AgentPool
    agent_sync: AgentSync
    telephony: AmiTelephony
    dispatcher: Dispatcher
    round: DialRound  # the only driver of its dialling; keeps work while the DB is down
    role: ServerRole = ServerRole.STANDBY

    def move(self, role: ServerRole) -> None:
        """To ``role``; a move ``ServerRole`` does not allow raises ``RoleTransitionError``."""
        self.role = self.role.to(role)

    @property
    def serving(self) -> bool:
        """This node holds the lock and dials on it."""
        return self.role is ServerRole.SERVING

    @property
    def suspended(self) -> bool:
        """It lost the lock, dials nothing new and tries to take it back."""
        return self.role is ServerRole.SUSPENDED

    @property
    def state(self) -> str:
        """The word /healthz shows for the server."""
        return self.role.value

    @property
    def dialling(self) -> bool:
        """Serving with AMI ready: its dispatcher may originate."""
        return self.serving and self.telephony.ready


def server_lock(server: str, campaign: str) -> str:
    """The coordinator's name for "this server, for this campaign"."""
    return f"server:{server}:{campaign}"


class ServerSlots:
    """The node's slots, one per server it stands by for, and what they share: the
    campaign's line cap over all of them and the node's dispatch round over all of them."""

    def __init__(self, *, campaign_lines: int, tick_s: float) -> None:
        self._slots: list[ServerSlot] = []
        self._campaign_lines = campaign_lines
        self._tick_s = tick_s

    def add(self, slot: ServerSlot) -> None:
        self._slots.append(slot)

    def __iter__(self) -> Iterator[ServerSlot]:
        return iter(self._slots)

    def __len__(self) -> int:
        return len(self._slots)

    def __getitem__(self, index: int) -> ServerSlot:
        return self._slots[index]

    @property
    def first(self) -> ServerSlot:
        """Admission and ops go through the first server's dispatcher (neither dials)."""
        return self._slots[0]

    def live_calls(self) -> int:
        """This node's calls in progress, on every server it serves."""
        return sum(slot.dispatcher.live_attempts for slot in self._slots)

    def ami_up(self) -> bool:
        served = [slot for slot in self._slots if slot.serving]
        return bool(served) and all(slot.telephony.ready for slot in served)

    def line_room(self, slot: ServerSlot) -> int:
        """How many more calls ``slot`` may start: the campaign's lines over the node, then
        the server's own cap (trunk or ``[ami.servers.NAME] lines``)."""
        own = self._campaign_lines - self.live_calls()
        if own <= 0:
            return 0
        return min(own, slot.line_cap - len(slot.store.live_attempts()))

    def run_rounds(self, now: datetime) -> float:
        """One dispatch round on every server this node serves; returns how long to sleep
        at most (the safety tick unless a round has work sooner)."""
        runs = [(slot.dialling, slot.round.run(now)) for slot in self._slots]
        if any(dialling for dialling, _ in runs):  # a standby server's 1 s look waits then
            runs = [run for run in runs if run[0]]
        return min(
            [self._tick_s] + [(at - now).total_seconds() for _, at in runs if at is not None]
        )
