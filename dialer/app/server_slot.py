"""One Asterisk server as a node sees it: its lock, AMI link, agents, store and dispatcher.

A node stands by for one server (``[ami]``) or several (``[ami.servers.NAME]``); it serves
each one whose lock it holds, with one AMI connection per served server, and waits as a hot
standby for the others (docs/deployment.md). The composition root (``dialer.app.root``)
builds one ``ServerSlot`` per server (``dialer.app.slot_factory``), keeps them in
``ServerSlots`` and moves each between the states below.

A service with several campaigns (docs/campaigns.md) still has one slot per server: one AMI
link and one agent pool shared by the campaigns, and per campaign a store, a dispatcher and
a dial round (``dialer.dispatch.campaign_offer.CampaignRounds``, run in the offer order).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from campaigns.settings import CampaignSettings
from dialer.ami.telephony import AmiTelephony
from dialer.app.agent_sync import AgentSync
from dialer.app.node_role import ServerRole
from dialer.dispatch.agents import AgentPool
from dialer.dispatch.campaign_offer import CampaignRounds, line_room
from dialer.dispatch.dispatcher import Dispatcher
from dialer.storage.orders import SqlOrderStore


@dataclass(eq=False)
class ServerSlot:
    """The per-server objects and this node's ``role`` for the server (``ServerRole``)."""

    name: str
    lock: str
    line_cap: int
    store: SqlOrderStore  # the first campaign's; its live attempts are the server's
    agents: AgentPool  # shared by every campaign on the server
    agent_sync: AgentSync
    telephony: AmiTelephony
    dispatcher: Dispatcher  # the first campaign's (the file's first): admission, ops
    round: CampaignRounds  # the only driver of its dialling; keeps work while the DB is down
    role: ServerRole = ServerRole.STANDBY
    stores: dict[str, SqlOrderStore] = field(default_factory=dict)  # by campaign

    def dispatchers(self) -> dict[str, Dispatcher]:
        """Each campaign's dispatcher on this server, by name."""
        return {lane.name: lane.round.dispatcher for lane in self.round.lanes}

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

    def live_calls(self, campaign: str | None = None) -> int:
        """This node's calls in progress (of ``campaign`` when given), on every server it
        serves."""
        return sum(
            dispatcher.live_attempts
            for slot in self._slots
            for name, dispatcher in slot.dispatchers().items()
            if campaign is None or name == campaign
        )

    def ami_up(self) -> bool:
        served = [slot for slot in self._slots if slot.serving]
        return bool(served) and all(slot.telephony.ready for slot in served)

    def line_room(self, slot: ServerSlot, campaign: CampaignSettings) -> int:
        """How many more calls ``campaign`` may start on ``slot``: its ``lines`` on the
        server (unset: ``campaign_lines`` over the node, as with one campaign), then the
        server's own cap (trunk or ``[ami.servers.NAME] lines``) over every campaign."""
        if campaign.lines is None:
            own_cap, own_live = self._campaign_lines, self.live_calls(campaign.name)
        else:
            own_cap = campaign.lines
            own_live = slot.dispatchers()[campaign.name].live_attempts
        if own_cap - own_live <= 0:
            return 0  # no database read when the campaign is full
        return line_room(own_live, own_cap, len(slot.store.live_attempts()), slot.line_cap)

    def run_rounds(self, now: datetime) -> float:
        """One dispatch round on every server this node serves; returns how long to sleep
        at most (the safety tick unless a round has work sooner)."""
        runs = [(slot.dialling, slot.round.run(now)) for slot in self._slots]
        if any(dialling for dialling, _ in runs):  # a standby server's 1 s look waits then
            runs = [run for run in runs if run[0]]
        return min(
            [self._tick_s] + [(at - now).total_seconds() for _, at in runs if at is not None]
        )
