"""Builds the ``/agent`` resource from its parts: sign-in, the agents table, the read views,
the order cards and the node's live feed."""

from __future__ import annotations

from typing import Any

from dialer.agent_auth.service import AgentAuth
from dialer.app.agent_feed import AgentFeed
from dialer.app.operations import Operations
from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.campaign_views import order_cards, order_views
from dialer.storage.engine import Database
from dialer.web.agent.events import EventStreams
from dialer.web.agent.phone import PhoneSettings
from dialer.web.agent.resource import AgentResource


def build_agent(
    engine: Database,
    ops: Operations,
    auth: AgentAuth,
    feed: AgentFeed,
    *,
    reactor: Any,
    secure: bool,
    phone: PhoneSettings | None = None,
) -> AgentResource:
    """The ``/agent`` resource of ``ops``' campaign (its cookie ``Secure`` when ``secure``);
    an agent's actions (state, results) go through ``ops`` like the ops API's. ``reactor``
    times the event streams' heartbeats; ``phone``: the agents' softphone (none when
    absent)."""
    # several campaigns: a shared agent's order is read in its own campaign
    views, agents = order_views(engine, ops.campaigns), SqlAgentRegistry(engine)
    cards = order_cards(engine, ops.campaigns, order_url=ops.order_url)
    return AgentResource(auth, agents, views, ops, cards=cards,
                         streams=EventStreams(feed, agents, reactor), secure=secure,
                         phone=phone or PhoneSettings())  # fmt: skip
