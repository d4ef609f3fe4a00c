"""Builds the API resource from its parts: the operations, the read views, the tokens."""

from __future__ import annotations

from dialer.api.agents import AgentsApi
from dialer.api.campaigns import CampaignApi
from dialer.api.live import LiveApi
from dialer.api.openapi import OpenApi
from dialer.api.orders import OrdersApi
from dialer.api.outbox import OutboxApi
from dialer.api.resource import ApiResource
from dialer.api.router import bind
from dialer.api.stats import StatsApi
from dialer.operations import Operations
from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.engine import Database
from dialer.storage.tokens import SqlTokenStore
from dialer.storage.views import OrderViews


def build_api(engine: Database, ops: Operations) -> ApiResource:
    """The ``/api`` resource serving every ``/api/v1`` route."""
    views = OrderViews(engine, ops.campaign)
    routes = bind(
        OrdersApi(ops, views),
        AgentsApi(ops, SqlAgentRegistry(engine)),
        CampaignApi(ops),
        OutboxApi(ops, engine),
        StatsApi(ops, views),
        LiveApi(ops, views),
    )
    routes += bind(OpenApi(routes))  # extends in place: the document lists itself too
    return ApiResource(routes, SqlTokenStore(engine))
