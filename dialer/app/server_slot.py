"""One Asterisk server as a node sees it: its lock, AMI link, agents, store and dispatcher.

A node stands by for one server (``[ami]``) or several (``[ami.servers.NAME]``); it serves
each one whose lock it holds, with one AMI connection per served server, and waits as a hot
standby for the others (docs/deployment.md). The composition root (``dialer.app.service``)
builds one ``ServerSlot`` per server and moves it between the states below.
"""

from __future__ import annotations

from dataclasses import dataclass

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
