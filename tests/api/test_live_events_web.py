"""``GET /api/v1/events`` (issue 19, pushed live state) over raw HTTP through the real
twisted.web site: who may open it (a supervisor's session, a bearer token; never an agent's
session), the ``live`` event at once and after a change, the heartbeat re-checking the
caller (a signed-out session and a revoked token are cut off), and a client that stops
reading holding one pending state and finally being disconnected."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from agent_web import OWN, PASSWORD, refusal
from agent_web import Browser as AgentBrowser
from api_harness import NOW, Dialer
from http_wire import exchange, raw_request
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from dialer.agent_auth.passwords import PasswordHasher
from dialer.storage.supervisors import SqlSupervisors
from dialer.storage.tokens import SqlTokenStore
from dialer.web import site as web
from dialer.web.agent.app import build_agent
from dialer.web.api.app import build_api
from dialer.web.api.events import HEARTBEAT_S, LIVE_ROUTES, MAX_STALLED_BEATS, TICK_S
from dialer.web.supervisor import build_supervisors

SUPERVISOR_PASSWORD = "наблюдатель-1"  # noqa: S105 - a test password


class Site:
    """The site as the composition root builds it, its reactor the dialer's test clock."""

    def __init__(self, dialer: Dialer) -> None:
        self.dialer = dialer
        self.parts = build_supervisors(dialer.engine, dialer.ops, dialer.agent_auth,
                                       hasher=PasswordHasher(n=2**10))  # fmt: skip
        self.site = web.build_site(
            dialer.reactor, None, lambda _: 0, lambda: (True, {}), lambda: dialer.now,
            extra={b"api": build_api(dialer.engine, dialer.ops, dialer.agent_auth, self.parts,
                                     reactor=dialer.reactor),
                   b"supervisor": self.parts.resource,
                   b"agent": build_agent(dialer.engine, dialer.ops, dialer.agent_auth,
                                         dialer.feed, reactor=dialer.reactor, secure=False)},
        )  # fmt: skip

    def sign_in(self) -> tuple[str, str]:
        """Anna's session cookie and CSRF token."""
        body = json.dumps({"login": "anna", "password": SUPERVISOR_PASSWORD}).encode()
        reply = exchange(self.site, raw_request(b"POST", b"/supervisor/login",
                                                {b"Origin": OWN.encode()}, body))  # fmt: skip
        assert reply.status == 200, reply.body
        cookie = reply.headers["set-cookie"].split(";")[0]
        return cookie, reply.json()["csrf_token"]


class Stream:
    """One open connection to ``GET /api/v1/events``: what the server wrote so far."""

    def __init__(self, site: Site, **headers: str) -> None:
        self.channel = site.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40002))
        self.transport = StringTransport()
        self.channel.makeConnection(self.transport)
        sent = {k.encode(): v.encode() for k, v in headers.items()}
        self.channel.dataReceived(raw_request(b"GET", b"/api/v1/events", sent, b""))

    @property
    def text(self) -> str:
        return self.transport.value().decode()

    def events(self, name: str = "live") -> list[dict[str, Any]]:
        found = re.findall(r"event: (\w+)\r?\ndata: (\{.*?\})\r?\n\r?\n", self.text)
        return [json.loads(data) for event, data in found if event == name]

    def close(self) -> None:
        self.channel.connectionLost(Failure(ConnectionDone()))


@pytest.fixture
def site(dialer: Dialer) -> Site:
    SqlSupervisors(dialer.engine).add("anna", NOW, name="Анна", extension="201")
    s = Site(dialer)
    s.parts.auth.set_password("anna", SUPERVISOR_PASSWORD)
    return s


def bearer(dialer: Dialer, role: str) -> str:
    return f"Bearer {dialer.tokens[role]}"


def test_a_supervisor_session_gets_the_live_state_at_once_as_the_get_routes_answer_it(
    site: Site, dialer: Dialer
) -> None:
    dialer.admit("НФ-00123")
    cookie, _ = site.sign_in()
    stream = Stream(site, Cookie=cookie)
    head = stream.text.lower()
    assert "200 ok" in head.splitlines()[0] and "content-type: text/event-stream" in head
    assert "retry: 2000" in stream.text
    [live] = stream.events()
    assert set(live) == set(LIVE_ROUTES)
    for part, path in LIVE_ROUTES.items():
        polled = dialer.call("GET", "/api/v1" + path).json
        assert {k: v for k, v in live[part].items() if k != "at"} == {
            k: v for k, v in polled.items() if k != "at"}, part  # fmt: skip
    assert live["queue"]["total"] == 1
    stream.close()


def test_an_event_arrives_after_a_change_and_none_while_nothing_changes(
    site: Site, dialer: Dialer
) -> None:
    stream = Stream(site, Authorization=bearer(dialer, "viewer"))
    assert len(stream.events()) == 1
    dialer.reactor.advance(TICK_S)
    dialer.now = dialer.now.replace(second=30)  # only the "at" stamps move: no change
    dialer.reactor.advance(TICK_S)
    assert len(stream.events()) == 1
    dialer.admit("НФ-00124")
    dialer.call("POST", "/api/v1/campaign/pause", body={"reason": "обед"})
    dialer.reactor.advance(TICK_S)
    last = stream.events()[-1]
    assert len(stream.events()) == 2
    assert last["queue"]["total"] == 1 and last["campaign"]["paused"] is True
    stream.close()


def test_the_heartbeat_is_a_comment_and_the_reads_stop_with_the_last_stream(
    site: Site, dialer: Dialer
) -> None:
    first = Stream(site, Authorization=bearer(dialer, "ops"))
    second = Stream(site, Authorization=bearer(dialer, "viewer"))
    dialer.reactor.advance(HEARTBEAT_S)
    assert ": ping" in first.text and ": ping" in second.text
    first.close()
    assert dialer.reactor.getDelayedCalls()  # the second still listens
    second.close()
    assert not dialer.reactor.getDelayedCalls()  # nobody listens: nothing is read


def test_a_signed_out_session_is_cut_off_at_the_next_heartbeat(site: Site, dialer: Dialer) -> None:
    cookie, csrf = site.sign_in()
    stream = Stream(site, Cookie=cookie)
    out = exchange(site.site, raw_request(b"POST", b"/supervisor/logout", {
        b"Cookie": cookie.encode(), b"X-CSRF-Token": csrf.encode(), b"Origin": OWN.encode()},
        b"{}"))  # fmt: skip
    assert out.status == 200
    dialer.reactor.advance(HEARTBEAT_S)
    [bye] = stream.events("bye")
    assert "sign in again" in bye["reason"]
    assert stream.text.endswith("0\r\n\r\n")  # the chunked response is finished
    dialer.admit("НФ-00125")
    dialer.reactor.advance(TICK_S)
    assert len(stream.events()) == 1  # nothing more after the bye
    assert not dialer.reactor.getDelayedCalls()


def test_a_revoked_token_is_cut_off_at_the_next_heartbeat(site: Site, dialer: Dialer) -> None:
    stream = Stream(site, Authorization=bearer(dialer, "viewer"))
    kept = Stream(site, Authorization=bearer(dialer, "ops"))
    SqlTokenStore(dialer.engine).revoke("viewer", NOW)
    dialer.reactor.advance(HEARTBEAT_S)
    assert len(stream.events("bye")) == 1
    assert kept.events("bye") == [] and ": ping" in kept.text
    kept.close()


@pytest.mark.parametrize("authorization", ["Bearer nope", None])
def test_no_caller_or_an_unknown_token_is_a_json_401(site: Site, authorization: str | None) -> None:
    headers = {} if authorization is None else {b"Authorization": authorization.encode()}
    reply = exchange(site.site, raw_request(b"GET", b"/api/v1/events", headers, b""))
    refusal(reply, 401, "Authorization")


def test_an_agents_session_is_a_json_403(site: Site, dialer: Dialer) -> None:
    dialer.agent_auth.set_password("1001", PASSWORD)
    agent = AgentBrowser(dialer)
    assert agent.login("1001", PASSWORD).status == 200
    headers = {b"Cookie": f"cbd_agent={agent.cookie}".encode()}
    reply = exchange(site.site, raw_request(b"GET", b"/api/v1/events", headers, b""))
    refusal(reply, 403, "cbd_agent")


def test_only_get_is_allowed(site: Site, dialer: Dialer) -> None:
    headers = {b"Authorization": bearer(dialer, "ops").encode()}
    reply = exchange(site.site, raw_request(b"POST", b"/api/v1/events", headers, b"{}"))
    assert reply.status == 405


def test_a_site_without_a_reactor_answers_503_not_a_stream(dialer: Dialer) -> None:
    reply = dialer.call("GET", "/api/v1/events")
    assert reply.status == 503 and "poll" in reply.json["error"]


def test_a_client_that_stops_reading_keeps_one_pending_state_then_is_cut_off(
    site: Site, dialer: Dialer
) -> None:
    stream = Stream(site, Authorization=bearer(dialer, "ops"))
    stream.transport.producer.pauseProducing()  # its socket's buffer is full: it reads nothing
    written = len(stream.text)
    for n in (1, 2, 3):
        dialer.admit(f"НФ-{n}", phone=f"+7916583042{n}")
        dialer.reactor.advance(TICK_S)
    assert len(stream.text) == written  # nothing written while it does not read
    stream.transport.producer.resumeProducing()
    assert [e["queue"]["total"] for e in stream.events()] == [0, 3]  # only the newest
    stream.transport.producer.pauseProducing()
    for _ in range(MAX_STALLED_BEATS - 1):
        dialer.reactor.advance(HEARTBEAT_S)
    assert not stream.transport.disconnecting  # a slow reader is given time
    dialer.reactor.advance(HEARTBEAT_S)
    assert stream.transport.disconnected  # aborted: no buffer grows for it
    dialer.admit("НФ-4")
    dialer.reactor.advance(TICK_S)
    assert not dialer.reactor.getDelayedCalls()  # the hub let go of it
