"""Builds the API resource from its parts: the operations, the read views, the tokens, the
agents' sign-in and the supervisors' (their sessions are API callers too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dialer.agent_auth.service import AgentAuth
from dialer.app.operations import Operations
from dialer.app.reports import Reports
from dialer.app.why import WhyLive
from dialer.catalog.ports import CampaignCatalog
from dialer.recordings.files import DEFAULT_RECORDINGS_DIR, RecordingFiles
from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.audit import SqlAuditLog
from dialer.storage.campaign_views import order_cards, order_views
from dialer.storage.engine import Database
from dialer.storage.recordings import SqlRecordings
from dialer.storage.reports import SqlReportReads
from dialer.storage.tokens import SqlTokenStore
from dialer.web.api.agents import AgentsApi
from dialer.web.api.campaign_catalog import CampaignCatalogApi, campaign_edits
from dialer.web.api.campaigns import CampaignApi
from dialer.web.api.events import EventsApi, LiveHub, LiveState
from dialer.web.api.live import LiveApi
from dialer.web.api.openapi import OpenApi
from dialer.web.api.orders import OrdersApi
from dialer.web.api.outbox import OutboxApi
from dialer.web.api.recordings import RecordingsApi
from dialer.web.api.reports import ReportsApi
from dialer.web.api.resource import ApiResource
from dialer.web.api.router import bind
from dialer.web.api.schemas import SchemasApi
from dialer.web.api.stats import StatsApi
from dialer.web.api.supervise import SuperviseApi
from dialer.web.api.why import WhyApi, why_service
from dialer.web.supervisor import SupervisorWeb, build_supervisors


def build_api(
    engine: Database, ops: Operations, agent_auth: AgentAuth,
    supervisors: SupervisorWeb | None = None, recordings: RecordingFiles | None = None,
    *, why: WhyLive | None = None, reactor: Any = None, catalog: CampaignCatalog | None = None,
    crm_kind: object = None,
) -> ApiResource:  # fmt: skip
    """The ``/api`` resource serving every ``/api/v1`` route; ``supervisors``: the
    supervisors' sign-in and listen service (none: built here, with no call to spy on);
    ``recordings``: the recordings directory (none: the default, kept forever); ``why``: the
    node's line cap and CRM re-check for «почему не звоним?» (none: unknown);
    ``reactor`` times the live event streams (none: ``GET /events`` answers 503);
    ``catalog``: the campaigns edited at ``/campaigns`` (none: the database's); ``crm_kind``:
    the service's ``[crm] kind``, whose stock defaults a new campaign takes (as in a file)."""
    supervisors = supervisors or build_supervisors(engine, ops, agent_auth)
    views = order_views(engine, ops.campaigns)  # by id and the live lists: every campaign's
    cards = order_cards(engine, ops.campaigns, order_url=ops.order_url)
    routes = bind(
        OrdersApi(ops, views, cards),
        AgentsApi(ops, SqlAgentRegistry(engine), agent_auth),
        CampaignApi(ops),
        OutboxApi(ops, engine),
        StatsApi(ops, views),
        LiveApi(ops, views),
        SchemasApi(),
        SuperviseApi(supervisors.supervision, ops.settings.default_tz),
        RecordingsApi(
            SqlRecordings(engine, ops.campaign),
            recordings or RecordingFiles(Path(DEFAULT_RECORDINGS_DIR)),
            SqlAuditLog(engine),
            agent_auth.now,
            ops.settings.default_tz,
        ),
        WhyApi(why_service(engine, ops, why)),
    )
    reports = Reports(SqlReportReads(engine), SqlAuditLog(engine), ops.now,
                      ops.settings.default_tz)  # fmt: skip
    routes += bind(ReportsApi(reports))
    routes += bind(CampaignCatalogApi(campaign_edits(engine, ops, catalog, crm_kind)))  # issue 21
    hub = None if reactor is None else LiveHub(LiveState(list(routes)).read, reactor)
    routes += bind(EventsApi(hub))
    routes += bind(OpenApi(routes))  # extends in place: the document lists itself too
    return ApiResource(routes, SqlTokenStore(engine), supervisors.sessions)
