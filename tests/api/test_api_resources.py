"""Agents, the campaign, the outbox, stats, the CSV export, /metrics and the OpenAPI document."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from api_harness import Dialer
from sqlalchemy import update
from sqlalchemy.orm import Session

from dialer.storage.campaigns import SqlCampaignStore
from dialer.storage.catalog import SqlCampaignCatalog
from dialer.storage.models import OutboxRow


def test_agents_are_listed_and_controlled_through_the_table(dialer: Dialer) -> None:
    agents = dialer.call("GET", "/api/v1/agents", role="viewer").json["agents"]
    assert [(a["id"], a["state"]) for a in agents] == [("1001", "idle"), ("1002", "idle")]
    paused = dialer.call("POST", "/api/v1/agents/1001/pause", body={"reason": "обед"}).json
    assert (paused["agent"]["state"], paused["agent"]["paused_reason"]) == ("paused", "обед")
    dialer.sync.sync(dialer.now)
    assert dialer.pool.get("1001").state.value == "paused"
    assert dialer.call("POST", "/api/v1/agents/1001/resume").json["agent"]["state"] == "idle"
    assert dialer.call("POST", "/api/v1/agents/1002/logout").json["agent"]["state"] == "logged_out"
    assert dialer.call("POST", "/api/v1/agents/1002/login").json["changed"] is True


def test_agent_requests_refused_with_the_reason(dialer: Dialer) -> None:
    assert dialer.call("POST", "/api/v1/agents/9999/login").status == 404
    response = dialer.call("POST", "/api/v1/agents/1001/pause", body={})
    assert (response.status, response.json["field"]) == (400, "reason")
    dialer.call("POST", "/api/v1/agents/1002/logout")
    assert dialer.call("POST", "/api/v1/agents/1002/pause", body={"reason": "x"}).status == 409


def test_pausing_the_campaign_is_persisted_for_the_dispatch_round(dialer: Dialer) -> None:
    campaign = dialer.call("GET", "/api/v1/campaign", role="viewer").json
    assert (campaign["name"], campaign["paused"]) == ("shop", False)
    assert dialer.call("POST", "/api/v1/campaign/pause", body={}).json["field"] == "reason"
    paused = dialer.call("POST", "/api/v1/campaign/pause", body={"reason": "линия"}).json
    assert (paused["paused"], paused["paused_reason"]) == (True, "линия")
    assert SqlCampaignStore(dialer.engine).is_paused("shop")
    assert dialer.call("POST", "/api/v1/campaign/resume").json["paused"] is False
    assert not SqlCampaignStore(dialer.engine).is_paused("shop")


def test_settings_are_validated_by_the_campaign_loader_naming_the_field(dialer: Dialer) -> None:
    url = "/api/v1/campaign/settings"
    for body, field in [
        ({"window": {"start": "25:00"}}, "campaign.window.start"),
        ({"ring_timeout_s": "long"}, "campaign.ring_timeout_s"),
        ({"surprise": 1}, "campaign.surprise"),
        ({"default_tz": "Mars/Base"}, "campaign.default_tz"),
        ({"name": "other"}, "campaign.name"),
    ]:
        response = dialer.call("PATCH", url, body=body)
        assert (response.status, response.json["field"]) == (400, field), body
    changed = dialer.call("PATCH", url, body={"window": {"start": "11:00"}, "ring_timeout_s": 25})
    assert changed.status == 200
    assert changed.json["settings"]["window"] == {**changed.json["settings"]["window"],
                                                  "start": "11:00", "end": "23:59"}  # fmt: skip
    assert dialer.dispatcher.settings.ring_timeout_s == 25
    assert changed.json["stored_settings"]["ring_timeout_s"] == 25
    replaced = dialer.call("PUT", url, body={"name": "shop", "agents": ["1001"]}).json
    assert replaced["settings"]["window"]["start"] == "10:00"  # defaults again


def test_settings_changed_through_the_api_are_versions_in_the_database(dialer: Dialer) -> None:
    """The file no longer wins at the next start: each change is a catalog version saying
    who made it, and the refused ones write nothing (issue 21)."""
    url = "/api/v1/campaign/settings"
    assert dialer.call("PATCH", url, body={"window": {"start": "11:00"}}).status == 200
    assert dialer.call("PATCH", url, body={"window": {"start": "25:00"}}).status == 400
    history = SqlCampaignCatalog(dialer.engine).history("shop")
    newest = history[0]
    assert [(v.version, v.author[:6]) for v in history] == [(1, "token:")]
    assert json.loads(newest.settings_json)["window"]["start"] == "11:00"
    other_node = {**json.loads(newest.settings_json), "ring_timeout_s": 44}
    SqlCampaignCatalog(dialer.engine).update(
        "shop", json.dumps(other_node, sort_keys=True), author="cli:root", now=dialer.now
    )
    patched = dialer.call("PATCH", url, body={"wrap_up_s": 5}).json["stored_settings"]
    assert (patched["ring_timeout_s"], patched["wrap_up_s"]) == (44, 5)  # merged over v2
    assert dialer.dispatcher.settings.ring_timeout_s == 44
    assert [v.version for v in SqlCampaignCatalog(dialer.engine).history("shop")] == [3, 2, 1]


def test_dead_deliveries_are_listed_and_replayed(dialer: Dialer) -> None:
    dialer.admit("o1")
    dialer.answer("o1")
    dialer.call("POST", "/api/v1/orders/o1/disposition", body={"kind": "confirmed"})
    with Session(dialer.engine) as session, session.begin():
        session.execute(update(OutboxRow).values(dead=True, tries=7, last_error="CRM down"))
    dead = dialer.call("GET", "/api/v1/outbox/dead", role="viewer").json["dead"]
    assert [(d["order_id"], d["last_error"]) for d in dead] == [("o1", "CRM down")]
    for body in ({}, {"ids": [1], "all": True}, {"ids": "1"}, {"all": "yes"}):
        assert dialer.call("POST", "/api/v1/outbox/replay", body=body).status == 400, body
    replayed = dialer.call("POST", "/api/v1/outbox/replay", body={"ids": [dead[0]["id"], 99]})
    assert replayed.json == {"replayed": [dead[0]["id"]], "not_dead": [99]}
    assert dialer.call("GET", "/api/v1/outbox/dead").json["dead"] == []


def test_stats_count_a_days_calls_by_result_hour_and_agent(dialer: Dialer) -> None:
    dialer.admit("o1")
    dialer.answer("o1")
    dialer.call("POST", "/api/v1/orders/o1/disposition", body={"kind": "confirmed"})
    stats = dialer.call("GET", "/api/v1/stats", query={"date": "2026-03-10"}).json
    assert stats["calls"] == 1
    assert stats["calls_by_result"] == {"answered": 1}
    assert stats["calls_by_hour"] == {"12": 1}  # 09:00 UTC is 12:00 in Moscow
    assert list(stats["calls_by_agent"].values()) == [1]
    assert stats["outcomes_by_kind"] == {"confirmed": 1}
    assert dialer.call("GET", "/api/v1/stats", query={"date": "2026-03-11"}).json["calls"] == 0
    bad = dialer.call("GET", "/api/v1/stats", query={"date": "10.03.2026"})
    assert (bad.status, bad.json["field"]) == (400, "date")


def test_outcomes_export_as_csv_for_a_date_range(dialer: Dialer) -> None:
    dialer.admit("o1")
    dialer.answer("o1")
    dialer.call(
        "POST", "/api/v1/orders/o1/disposition", body={"kind": "refused", "reason": "Дорого"}
    )
    response = dialer.call("GET", "/api/v1/outcomes.csv", query={"from": "2026-03-10"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.body.decode())))
    assert [(r["order_id"], r["kind"], r["problem"]) for r in rows] == [("o1", "refused", "Дорого")]
    empty = dialer.call("GET", "/api/v1/outcomes.csv",
                        query={"from": "2026-03-11", "to": "2026-03-12"})  # fmt: skip
    assert len(empty.body.decode().splitlines()) == 1
    bad = dialer.call(
        "GET", "/api/v1/outcomes.csv", query={"from": "2026-03-12", "to": "2026-03-11"}
    )
    assert (bad.status, bad.json["field"]) == (400, "to")


def test_metrics_in_prometheus_text_format(dialer: Dialer) -> None:
    dialer.admit("o1")
    dialer.admit("o2", phone="+79165830422")
    dialer.answer("o1")
    dialer.call("POST", "/api/v1/orders/o1/disposition", body={"kind": "confirmed"})
    dialer.now += timedelta(seconds=30)
    response = dialer.call("GET", "/metrics", role=None)
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.body.decode()
    assert 'callback_dialer_calls_total{campaign="shop",result="answered"} 1' in text
    assert 'callback_dialer_orders{campaign="shop",phase="dialing"} 1' in text
    assert 'callback_dialer_agents{campaign="shop",state="ringing"} 1' not in text  # table view
    assert 'callback_dialer_outbox_pending{dead="false"} 1' in text
    assert "callback_dialer_outbox_oldest_age_seconds 30" in text
    assert "callback_dialer_ami_connected 1" in text


def test_the_openapi_document_describes_every_route(dialer: Dialer) -> None:
    doc = dialer.call("GET", "/api/v1/openapi.json", role="viewer").json
    assert doc["openapi"].startswith("3.")
    described = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    api = dialer.site.resource.children[b"api"]
    assert described == {(b.route.method, "/api/v1" + b.route.path) for b in api._routes}
    assert "/api/v1/orders/{id}/disposition" in doc["paths"]
    assert "/api/v1/agents/{id}/password" in doc["paths"]
    assert len(described) >= 19


def test_the_queue_is_counted_by_the_operator_tabs_and_live_calls_listed(dialer: Dialer) -> None:
    dialer.admit("o1")
    dialer.admit("o2", phone="+79165830422")
    queue = dialer.call("GET", "/api/v1/queue", role="viewer").json
    assert queue["total"] == 2
    assert [t["title"] for t in queue["tabs"]][:3] == ["Новый", "Быстрый перезвон", "В работе"]
    assert {t["tab"]: t["count"] for t in queue["tabs"]}["new"] == 2
    assert dialer.call("GET", "/api/v1/calls/live", role="viewer").json["calls"] == []
    dialer.sync.sync(dialer.now)
    assert dialer.dispatcher.dispatch(dialer.now) == 2
    calls = dialer.call("GET", "/api/v1/calls/live", role="viewer").json["calls"]
    assert sorted((c["order_id"], c["name"]) for c in calls) == [("o1", "Ирина"), ("o2", "Ирина")]
    assert {c["agent"] for c in calls} == {"1001", "1002"}
    stats = dialer.call("GET", "/api/v1/stats", role="viewer").json
    assert stats["calls_by_hour_result"] == {"12": {"live": 2}}  # 09:00 UTC in Moscow


def test_the_dashboard_page_is_served_at_the_root_without_a_token(dialer: Dialer) -> None:
    page = dialer.call("GET", "/", role=None)
    assert page.status == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    text = page.body.decode("utf-8")
    for needle in ("Пауза", "Продолжить", "нет результата", "/static/dashboard.js"):
        assert needle in text
    assert "<script>" not in text  # no inline script: the policy would block it
    script = dialer.call("GET", "/static/dashboard.js", role=None)
    assert script.status == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    code = script.body.decode("utf-8")
    for needle in ("X-CSRF-Token", "/supervisor", "/calls/live", "/queue",
                   "/calls/awaiting-result"):  # fmt: skip
        assert needle in code
    assert "sessionStorage" not in code  # issue 19: a supervisor's HttpOnly cookie, no token
    spying = dialer.call("GET", "/static/supervise.js", role=None)
    assert spying.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "/listen" in spying.body.decode("utf-8")
    assert "/static/why.js" in text  # issue 19: «почему не звоним?», served like the rest
    why = dialer.call("GET", "/static/why.js", role=None)
    assert why.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "/why`" in why.body.decode("utf-8")
    style = dialer.call("GET", "/static/dashboard.css", role=None)
    assert style.headers["content-type"] == "text/css; charset=utf-8"
    for path in ("/static/nothing.js", "/static/../api/v1/campaign", "/static/", "/x/y"):
        assert dialer.call("GET", path, role=None).status == 404, path
