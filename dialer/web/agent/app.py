"""Builds the ``/agent`` resource from its parts: sign-in, the agents table, the read views."""

from __future__ import annotations

from dialer.agent_auth.service import AgentAuth
from dialer.app.operations import Operations
from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.engine import Database
from dialer.storage.views import OrderViews
from dialer.web.agent.resource import AgentResource


def build_agent(
    engine: Database, ops: Operations, auth: AgentAuth, *, secure: bool
) -> AgentResource:
    """The ``/agent`` resource of ``ops``' campaign (its cookie ``Secure`` when ``secure``);
    an agent's actions (state, results) go through ``ops`` like the ops API's."""
    views = OrderViews(engine, ops.campaign)
    return AgentResource(auth, SqlAgentRegistry(engine), views, ops, secure=secure)
