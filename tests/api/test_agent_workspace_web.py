"""Issue 15 §2, the agent's workspace through the real twisted.web site over raw HTTP: the page
and its files, the agent's own state changes, the order card in scope, and the live event
stream (Server-Sent Events) fed by the node's ``AgentFeed``. The browser itself is in
tests/dashboard/test_agent_page_browser.py."""

from __future__ import annotations

import json
import re
import urllib.parse

from agent_web import PASSWORD, PASSWORDS, Browser, answered_by, refusal
from api_harness import Dialer
from http_wire import raw_request
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from campaigns.calls import CallReport, CallResult, OriginateRequest
from dialer.web.agent.events import HEARTBEAT_S


def post_json(browser: Browser, path: str, body: object, **headers: str) -> object:
    sent = {"Content-Type": "application/json", **headers}
    if browser.csrf is not None and "X-CSRF-Token" not in headers:
        sent["X-CSRF-Token"] = browser.csrf
    return browser.send("POST", path, json.dumps(body, ensure_ascii=False).encode(), sent)


def test_the_page_and_its_files_are_served_with_a_strict_policy(browser: Browser) -> None:
    page = browser.get("/agent")
    assert page.status == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert b'src="/agent/static/agent.js"' in page.body
    for name, kind in (("agent.js", "text/javascript"), ("labels.js", "text/javascript"),
                       ("agent.css", "text/css")):  # fmt: skip
        asset = browser.get("/agent/static/" + name)
        assert asset.status == 200 and asset.headers["content-type"].startswith(kind)
    assert browser.get("/agent/static/../resource.py").status == 404
    assert browser.get("/agent/static/nothing.js").status == 404


def test_every_label_the_page_uses_is_in_the_russian_set(browser: Browser) -> None:
    labels = browser.get("/agent/static/labels.js").body.decode()
    ru = set(re.findall(r"^\s+(\w+): ", labels, flags=re.MULTILINE))
    used = set(re.findall(r'data-label="(\w+)"', browser.get("/agent").body.decode()))
    script = browser.get("/agent/static/agent.js").body.decode()
    used |= set(re.findall(r'\bL\("(\w+)"', script))
    assert used and used <= ru, sorted(used - ru)


def test_an_agent_sets_itself_ready_paused_with_a_listed_reason_and_logged_out(
    browser: Browser, dialer: Dialer
) -> None:
    browser.login("1001", PASSWORD)
    paused = post_json(browser, "/agent/state", {"state": "pause", "reason": "обед"})
    assert paused.status == 200, paused.body
    assert (paused.json()["state"], paused.json()["reason"]) == ("paused", "обед")
    assert dialer.call("GET", "/api/v1/agents").json["agents"][0]["paused_reason"] == "обед"
    refusal(post_json(browser, "/agent/state", {"state": "pause", "reason": "покурить"}),
            400, "reason")  # fmt: skip
    refusal(post_json(browser, "/agent/state", {"state": "sleep"}), 400, "state")
    ready = post_json(browser, "/agent/state", {"state": "ready"})
    assert (ready.json()["state"], ready.json()["reason"]) == ("idle", None)
    out = post_json(browser, "/agent/state", {"state": "logout"})
    assert out.json()["state"] == "logged_out"


def test_a_state_change_needs_the_session_and_its_csrf_token(browser: Browser) -> None:
    refusal(post_json(browser, "/agent/state", {"state": "logout"}), 401, "cbd_agent")
    browser.login("1001", PASSWORD)
    refusal(post_json(browser, "/agent/state", {"state": "logout"}, **{"X-CSRF-Token": "x"}),
            403, "X-CSRF-Token")  # fmt: skip
    refusal(post_json(browser, "/agent/state", {"state": "logout"}, Origin="http://evil.test"),
            403, "Origin")  # fmt: skip
    assert browser.get("/agent/me").json()["state"] == "idle"


def test_an_agent_who_owes_a_result_cannot_make_itself_ready_before_giving_it(
    browser: Browser, dialer: Dialer
) -> None:
    agent = answered_by(dialer, "НФ-00123")
    browser.login(agent, PASSWORDS[agent])
    dialer.call("POST", f"/api/v1/agents/{agent}/pause", body={"reason": "обед"})
    me = browser.get("/agent/me").json()
    assert me["awaiting_result"] == ["НФ-00123"]
    refused = refusal(post_json(browser, "/agent/state", {"state": "ready"}), 409, "state")
    assert "НФ-00123" in refused["error"]
    body = {"kind": "confirmed"}
    done = dialer.call("POST", "/api/v1/orders/НФ-00123/disposition", role="crm", body=body)
    assert done.status == 200, done.json
    assert post_json(browser, "/agent/state", {"state": "ready"}).status == 200


def test_with_results_from_the_crm_the_agent_owes_none_and_the_page_gives_none(
    browser: Browser, dialer: Dialer
) -> None:
    """disposition_source = "crm": the agent works in the CRM's card; the page neither holds
    the agent for a result nor takes one (it would be written back over the CRM's own)."""
    dialer.ops.change_settings({"disposition_source": "crm"}, replace=False)
    agent = answered_by(dialer, "НФ-00123")
    browser.login(agent, PASSWORDS[agent])
    me = browser.get("/agent/me").json()
    assert (me["awaiting_result"], me["disposition_source"]) == ([], "crm")
    dialer.call("POST", f"/api/v1/agents/{agent}/pause", body={"reason": "обед"})
    assert post_json(browser, "/agent/state", {"state": "ready"}).status == 200
    path = "/agent/orders/" + urllib.parse.quote("НФ-00123") + "/result"
    refusal(post_json(browser, path, {"result": "confirmed"}), 409, "result")
    assert dialer.call("GET", "/api/v1/orders/НФ-00123").json["phase"] == "awaiting_disposition"


def test_the_card_of_the_agents_own_call_and_no_other(browser: Browser, dialer: Dialer) -> None:
    agent = answered_by(dialer, "НФ-00123")
    browser.login(agent, PASSWORDS[agent])
    path = "/agent/orders/" + urllib.parse.quote("НФ-00123") + "/card"
    card = browser.get(path).json()
    api = dialer.call("GET", "/api/v1/orders/НФ-00123/card").json
    assert card == {**api, "phase": "awaiting_disposition", "horizon_start": "2026-03-10"}
    assert card["customer_time"]["zones"][0]["zone"] == "Europe/Moscow"
    other = "1002" if agent == "1001" else "1001"
    intruder = Browser(dialer)
    intruder.login(other, PASSWORDS[other])
    refusal(intruder.get(path), 403, "id")
    assert browser.get(path + "/more").status == 404


class Stream:
    """One open connection to ``GET /agent/events``: what the server wrote so far."""

    def __init__(self, browser: Browser) -> None:
        self.channel = browser.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40001))
        self.transport = StringTransport()
        self.channel.makeConnection(self.transport)
        headers = {b"Cookie": f"cbd_agent={browser.cookie}".encode()}
        self.channel.dataReceived(raw_request(b"GET", b"/agent/events", headers, b""))

    def events(self) -> list[tuple[str, dict[str, object]]]:
        text = self.transport.value().decode()
        found = re.findall(r"event: (\w+)\r?\ndata: (\{.*?\})\r?\n", text)
        return [(name, json.loads(data)) for name, data in found]

    def close(self) -> None:
        self.channel.connectionLost(Failure(ConnectionDone()))


def request(order: str, agent: str) -> OriginateRequest:
    return OriginateRequest("att-9", order, agent, "79165830421", "", 30, 10)


def test_the_event_stream_pushes_the_agents_call_stages_and_nobody_elses(
    browser: Browser, dialer: Dialer
) -> None:
    browser.login("1001", PASSWORD)
    stream = Stream(browser)
    head = stream.transport.value().decode()
    assert "content-type: text/event-stream" in head.lower() and "retry: 2000" in head
    assert stream.events() == [("hello", {"state": {"state": "idle", "reason": None},
                                          "call": None})]  # fmt: skip
    dialer.feed.offered(request("НФ-7", "1001"))
    dialer.feed.offered(OriginateRequest("att-8", "x-1", "1002", "79165830422", "", 30, 10))
    dialer.feed.accepted("att-9", "1001")
    dialer.feed.answered("att-9")
    dialer.feed.ended(CallReport("att-9", CallResult.ANSWERED, dialer.now))
    calls = [(data["stage"], data["order"]) for name, data in stream.events() if name == "call"]
    assert calls == [("offered", "НФ-7"), ("accepted", "НФ-7"), ("answered", "НФ-7"),
                     ("ended", "НФ-7")]  # fmt: skip
    assert stream.events()[-1][1]["result"] == "answered"
    stream.close()
    assert dialer.feed.listeners("1001") == 0


def test_a_page_opened_mid_call_learns_the_call_at_once(browser: Browser, dialer: Dialer) -> None:
    dialer.feed.offered(request("o-5", "1001"))
    dialer.feed.accepted("att-9", "1001")
    browser.login("1001", PASSWORD)
    stream = Stream(browser)
    hello = stream.events()[0][1]
    assert hello["call"] == {"stage": "accepted", "order": "o-5", "attempt": "att-9",
                             "result": None, "at": hello["call"]["at"]}  # fmt: skip
    stream.close()


def test_the_heartbeat_keeps_the_stream_and_brings_a_state_the_feed_did_not_see(
    browser: Browser, dialer: Dialer
) -> None:
    browser.login("1001", PASSWORD)
    stream = Stream(browser)
    dialer.call("POST", "/api/v1/agents/1001/pause", body={"reason": "обучение"})
    dialer.reactor.advance(HEARTBEAT_S)
    assert ": ping" in stream.transport.value().decode()
    name, data = stream.events()[-1]
    assert (name, data["state"], data["reason"]) == ("state", "paused", "обучение")
    dialer.reactor.advance(HEARTBEAT_S)
    assert [n for n, _ in stream.events()].count("state") == 1  # no change: no event
    stream.close()
    assert not dialer.reactor.getDelayedCalls()  # the heartbeat stopped with the stream


def test_the_event_stream_without_a_session_is_a_json_401(browser: Browser) -> None:
    refusal(browser.get("/agent/events"), 401, "cbd_agent")
