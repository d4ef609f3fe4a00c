"""GET /api/v1/orders/{id}/why over raw HTTP through the real twisted.web site (issue 19):
ids in any script URL-encoded, 404 naming the id, 403 for viewer and CRM tokens and agents'
sessions, each look-up in the audit log; the node's live facts (line cap, CRM re-check)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from agent_web import OWN, PASSWORD, refusal
from agent_web import Browser as AgentBrowser
from api_harness import Dialer
from http_wire import WireResponse, exchange, raw_request
from test_supervisor_web import Site, site
from twisted.internet.task import Clock

from dialer.app.why import WhyLive
from dialer.storage.audit import SqlAuditLog
from dialer.web import site as web
from dialer.web.api.app import build_api

__all__ = ["site"]  # the signed-in supervisors' site fixture
ORDER = "НФ-00123"


def path(order_id: str) -> str:
    return f"/api/v1/orders/{quote(order_id, safe='')}/why"


def token(dialer: Dialer, role: str) -> str:
    return f"Bearer {dialer.tokens[role]}"


def get(the_site: Any, order_id: str, **headers: str) -> WireResponse:
    sent = {k.replace("_", "-").encode(): v.encode() for k, v in headers.items()}
    return exchange(the_site, raw_request(b"GET", path(order_id).encode(), sent, b""))


def test_an_ops_token_gets_a_cyrillic_ids_explanation_and_the_look_up_is_audited(
    dialer: Dialer, site: Site
) -> None:
    dialer.admit(ORDER)
    reply = get(site.site, ORDER, Authorization=token(dialer, "ops"))
    assert reply.status == 200, reply.body
    data = reply.json()
    assert (data["order_id"], data["state"]) == (ORDER, "due_now")
    assert data["facts"]["queue_position"] == 1
    assert data["sentences"][0].startswith("Часовой пояс клиента: Europe/Moscow")
    [entry] = SqlAuditLog(dialer.engine).entries()
    assert (entry.actor, entry.actor_kind, entry.action, entry.order_id, entry.detail) == (
        "ops", "token", "why", ORDER, "due_now",
    )  # fmt: skip


def test_a_signed_in_supervisor_asks_and_is_audited_by_name(dialer: Dialer, site: Site) -> None:
    dialer.admit(ORDER)
    dialer.admit("НФ-00124", phone="+79165830422", minutes_ago=4)
    assert site.login().status == 200
    reply = site.send("GET", path("НФ-00124"))
    assert reply.status == 200, reply.body
    assert reply.json()["facts"]["queue_position"] == 2  # the older order is called first
    actions = [(e.actor, e.actor_kind, e.action, e.order_id)
               for e in SqlAuditLog(dialer.engine).entries() if e.action == "why"]  # fmt: skip
    assert actions == [("anna", "supervisor", "why", "НФ-00124")]


def test_an_unknown_id_is_404_naming_it_and_not_audited(dialer: Dialer, site: Site) -> None:
    reply = get(site.site, "НФ-404", Authorization=token(dialer, "ops"))
    data = refusal(reply, 404, "id")
    assert "НФ-404" in data["error"]
    assert SqlAuditLog(dialer.engine).entries() == []


@pytest.mark.parametrize("role", ["viewer", "crm"])
def test_viewer_and_crm_tokens_get_403(dialer: Dialer, site: Site, role: str) -> None:
    dialer.admit(ORDER)
    reply = get(site.site, ORDER, Authorization=token(dialer, role))
    assert reply.status == 403, reply.body
    assert SqlAuditLog(dialer.engine).entries() == []


def test_an_agents_session_gets_403(dialer: Dialer, site: Site) -> None:
    dialer.admit(ORDER)
    dialer.agent_auth.set_password("1001", PASSWORD)
    agent = AgentBrowser(dialer)
    assert agent.login("1001", PASSWORD).status == 200
    refusal(get(site.site, ORDER, Cookie=f"cbd_agent={agent.cookie}", Origin=OWN), 403, "cbd_agent")


def live_site(dialer: Dialer, live: WhyLive) -> Any:
    api = build_api(dialer.engine, dialer.ops, dialer.agent_auth, why=live)
    return web.build_site(Clock(), None, lambda _: 0, lambda: (True, {}), lambda: dialer.now,
                          extra={b"api": api})  # fmt: skip


def test_the_nodes_crm_recheck_hold_is_explained(dialer: Dialer) -> None:
    dialer.admit(ORDER)
    held = live_site(
        dialer, WhyLive(line_cap=10, held=lambda oid: "asked" if oid == ORDER else None)
    )
    data = get(held, ORDER, Authorization=token(dialer, "ops")).json()
    assert (data["state"], data["facts"]["recheck"]) == ("held_recheck", "asked")


def test_a_full_line_cap_is_explained(dialer: Dialer) -> None:
    dialer.admit("A-1")
    dialer.sync.sync(dialer.now)
    assert dialer.dispatcher.dispatch(dialer.now) == 1  # A-1's call is live: one line in use
    dialer.now += timedelta(seconds=1)
    dialer.admit(ORDER, phone="+79165830422")
    data = get(live_site(dialer, WhyLive(line_cap=1)), ORDER, Authorization=token(dialer, "ops"))
    body = data.json()
    assert (body["state"], body["facts"]["lines_in_use"], body["facts"]["line_cap"]) == (
        "line_cap", 1, 1,
    )  # fmt: skip


def test_the_openapi_document_lists_the_why_route(dialer: Dialer) -> None:
    paths = dialer.call("GET", "/api/v1/openapi.json").json["paths"]
    assert "/api/v1/orders/{id}/why" in paths
