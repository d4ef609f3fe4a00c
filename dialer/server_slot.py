"""One Asterisk server as a node sees it: its lock, AMI link, agents, store and dispatcher.

A node stands by for one server (``[ami]``) or several (``[ami.servers.NAME]``); it serves
each one whose lock it holds, with one AMI connection per served server, and waits as a hot
standby for the others (docs/deployment.md). The composition root (``dialer.service``)
builds one ``ServerSlot`` per server and moves it between the states below.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialer.agent_sync import AgentSync
from dialer.agents import AgentPool
from dialer.ami_ import AmiTelephony
from dialer.dial_round import DialRound
from dialer.dispatcher import Dispatcher
from dialer.storage.orders import SqlOrderStore

SERVING, STANDBY, SUSPENDED = "serving", "standby", "suspended"


@dataclass(eq=False)
class ServerSlot:
    """The per-server objects; ``serving``: this node holds the lock and dials on it;
    ``suspended``: it lost the lock, dials nothing new and tries to take it back."""

    name: str
    lock: str
    line_cap: int
    store: SqlOrderStore
    agents: AgentPool
    agent_sync: AgentSync
    telephony: AmiTelephony
    dispatcher: Dispatcher
    round: DialRound  # the only driver of its dialling; keeps work while the DB is down
    serving: bool = False
    suspended: bool = False

    @property
    def state(self) -> str:
        if self.suspended:
            return SUSPENDED
        return SERVING if self.serving else STANDBY

    @property
    def dialling(self) -> bool:
        """Serving with AMI ready: its dispatcher may originate."""
        return self.serving and self.telephony.ready


def server_lock(server: str, campaign: str) -> str:
    """The coordinator's name for "this server, for this campaign"."""
    return f"server:{server}:{campaign}"
