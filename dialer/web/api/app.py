"""Builds the API resource from its parts: the operations, the read views, the tokens and
the agents' sign-in."""

from __future__ import annotations

from dialer.agent_auth.service import AgentAuth
from dialer.app.operations import Operations
from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.card import OrderCards
from dialer.storage.engine import Database
from dialer.storage.numbering import SqlNumberingLookup
from dialer.storage.tokens import SqlTokenStore
from dialer.storage.views import OrderViews
from dialer.web.api.agents import AgentsApi
from dialer.web.api.campaigns import CampaignApi
from dialer.web.api.live import LiveApi
from dialer.web.api.openapi import OpenApi
from dialer.web.api.orders import OrdersApi
from dialer.web.api.outbox import OutboxApi
from dialer.web.api.resource import ApiResource
from dialer.web.api.router import bind
from dialer.web.api.schemas import SchemasApi
from dialer.web.api.stats import StatsApi


def build_api(engine: Database, ops: Operations, agent_auth: AgentAuth) -> ApiResource:
    """The ``/api`` resource serving every ``/api/v1`` route."""
    views = OrderViews(engine, ops.campaign)
    cards = OrderCards(
        engine, ops.campaign, numbering=SqlNumberingLookup(engine), order_url=ops.order_url
    )
    routes = bind(
        OrdersApi(ops, views, cards),
        AgentsApi(ops, SqlAgentRegistry(engine), agent_auth),
        CampaignApi(ops),
        OutboxApi(ops, engine),
        StatsApi(ops, views),
        LiveApi(ops, views),
        SchemasApi(),
    )
    routes += bind(OpenApi(routes))  # extends in place: the document lists itself too
    return ApiResource(routes, SqlTokenStore(engine))
