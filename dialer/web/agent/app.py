"""Builds the ``/agent`` resource from its parts: sign-in, the agents table, the read views."""

from __future__ import annotations

from dialer.agent_auth.service import AgentAuth
from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.engine import Database
from dialer.storage.views import OrderViews
from dialer.web.agent.resource import AgentResource


def build_agent(engine: Database, campaign: str, auth: AgentAuth, *, secure: bool) -> AgentResource:
    """The ``/agent`` resource (its cookie ``Secure`` when ``secure``)."""
    views = OrderViews(engine, campaign)
    return AgentResource(auth, SqlAgentRegistry(engine), views, secure=secure)
