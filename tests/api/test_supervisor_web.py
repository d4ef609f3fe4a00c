"""Supervisors over raw HTTP through the real twisted.web site (issue 19): the dashboard
sign-in (cookie flags, lockout, expiry, CSRF and Origin), a supervisor's session as an ops API
caller, listen / whisper / barge with a fake call spy, and the audit log; agents' sessions
and viewer tokens refused."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from agent_web import OWN, PASSWORD, refusal
from agent_web import Browser as AgentBrowser
from api_harness import NOW, Dialer
from http_wire import WireResponse, exchange, raw_request
from twisted.internet.task import Clock

from dialer.agent_auth.passwords import PasswordHasher
from dialer.app.supervision import SpyRefused
from dialer.commands.supervisors import line
from dialer.storage.audit import SqlAuditLog
from dialer.storage.supervisors import SqlSupervisors
from dialer.web import site as web
from dialer.web.agent.app import build_agent
from dialer.web.api.app import build_api
from dialer.web.supervisor import build_supervisors

SUPERVISOR_PASSWORD = "наблюдатель-1"  # noqa: S105 - a test password
COOKIE = re.compile(
    r"cbd_supervisor=([A-Za-z0-9_-]{40,}); HttpOnly; SameSite=Strict; Path=/; Max-Age=43200"
)


@dataclass
class FakeSpy:
    """The call spy of the node, as a recorder; ``refuse`` makes it refuse."""

    calls: list[tuple[str, str, str]] = field(default_factory=list)
    refuse: str | None = None

    def spy(self, attempt_id: str, extension: str, options: str) -> None:
        if self.refuse is not None:
            raise SpyRefused(self.refuse)
        self.calls.append((attempt_id, extension, options))


class Site:
    """The site with the supervisors' parts, and one browser's cookies per role."""

    def __init__(self, dialer: Dialer) -> None:
        self.dialer, self.spy = dialer, FakeSpy()
        self.parts = build_supervisors(dialer.engine, dialer.ops, dialer.agent_auth, self.spy,
                                       hasher=PasswordHasher(n=2**10))  # fmt: skip
        self.site = web.build_site(
            Clock(), None, lambda _: 0, lambda: (True, {}), lambda: dialer.now,
            extra={b"api": build_api(dialer.engine, dialer.ops, dialer.agent_auth, self.parts),
                   b"supervisor": self.parts.resource,
                   b"agent": build_agent(dialer.engine, dialer.ops, dialer.agent_auth,
                                         dialer.feed, reactor=dialer.reactor, secure=False)},
        )  # fmt: skip
        self.cookie: str | None = None
        self.csrf: str | None = None

    def send(self, method: str, path: str, body: Any = None, **headers: str) -> WireResponse:
        sent = {k.replace("_", "-").encode(): v.encode() for k, v in headers.items()}
        if self.cookie is not None and b"Cookie" not in sent:
            sent[b"Cookie"] = f"cbd_supervisor={self.cookie}".encode()
        data = b"" if body is None else json.dumps(body).encode()
        return exchange(self.site, raw_request(method.encode(), path.encode(), sent, data))

    def login(self, login: str = "anna", password: str = SUPERVISOR_PASSWORD) -> WireResponse:
        reply = self.send("POST", "/supervisor/login", {"login": login, "password": password},
                          Origin=OWN)  # fmt: skip
        if reply.status == 200:
            match = COOKIE.fullmatch(reply.headers["set-cookie"])
            assert match is not None, reply.headers["set-cookie"]
            self.cookie, self.csrf = match.group(1), reply.json()["csrf_token"]
        return reply

    def listen(self, attempt_id: str, mode: Any = "listen", **headers: str) -> WireResponse:
        sent = {"X_CSRF_Token": self.csrf or "", "Origin": OWN, **headers}
        return self.send("POST", f"/api/v1/calls/{attempt_id}/listen", {"mode": mode}, **sent)


@pytest.fixture
def site(dialer: Dialer) -> Site:
    supervisors = SqlSupervisors(dialer.engine)
    supervisors.add("anna", NOW, name="Анна", extension="201")
    supervisors.add("boris", NOW)  # no extension
    s = Site(dialer)
    for who in ("anna", "boris"):
        s.parts.auth.set_password(who, SUPERVISOR_PASSWORD)
    return s


def live_call(dialer: Dialer, order_id: str = "A-1") -> str:
    """Dial ``order_id`` and leave the call live (no report yet); its attempt id."""
    dialer.admit(order_id)
    dialer.sync.sync(dialer.now)
    assert dialer.dispatcher.dispatch(dialer.now) >= 1
    return next(r.attempt_id for r in dialer.telephony.originated if r.order_id == order_id)


# ---- sign-in ------------------------------------------------------------------------------


def test_sign_in_sets_an_httponly_samesite_strict_cookie_and_me_shows_the_extension(
    site: Site,
) -> None:
    reply = site.login()
    assert reply.status == 200 and COOKIE.fullmatch(reply.headers["set-cookie"])
    me = site.send("GET", "/supervisor/me").json()
    assert me == {"supervisor": "anna", "name": "Анна", "extension": "201",
                  "csrf_token": site.csrf, "expires_at": "2026-03-10T21:00:00+00:00"}  # fmt: skip


def test_five_wrong_passwords_lock_the_supervisor_for_a_minute(site: Site) -> None:
    for _ in range(5):
        refusal(site.login(password="wrong password"), 401, "password")  # noqa: S106
    locked = site.login()
    assert refusal(locked, 429, "login") and locked.headers["retry-after"] == "60"
    site.dialer.now += timedelta(seconds=60)
    assert site.login().status == 200


def test_an_unknown_supervisor_and_an_agent_id_are_refused_alike(site: Site) -> None:
    assert refusal(site.login("nobody"), 401, "password")["error"] == (
        "unknown supervisor or wrong password")  # fmt: skip
    site.dialer.agent_auth.set_password("1001", PASSWORD)
    refusal(site.login("1001", PASSWORD), 401, "password")  # an agent is no supervisor


def test_a_foreign_origin_cannot_sign_in(site: Site) -> None:
    reply = site.send("POST", "/supervisor/login", {"login": "anna",
                      "password": SUPERVISOR_PASSWORD}, Origin="https://evil.example")  # fmt: skip
    refusal(reply, 403, "Origin")


def test_the_session_expires_and_sign_out_ends_it(site: Site) -> None:
    site.login()
    assert site.send("GET", "/api/v1/calls/live").status == 200
    refusal(site.send("POST", "/supervisor/logout"), 403, "X-CSRF-Token")
    assert site.send("POST", "/supervisor/logout", X_CSRF_Token=site.csrf or "").status == 200
    audited = [(e.actor, e.action) for e in SqlAuditLog(site.dialer.engine).entries()]
    assert audited == [("anna", "sign_out"), ("anna", "sign_in")]
    refusal(site.send("GET", "/api/v1/calls/live"), 401, "Authorization")
    site.login()
    site.dialer.now += timedelta(hours=12)
    refusal(site.send("GET", "/supervisor/me"), 401, "cbd_supervisor")
    refusal(site.send("GET", "/api/v1/calls/live"), 401, "Authorization")


# ---- the session as an API caller -----------------------------------------------------------


def test_a_supervisor_may_read_and_act_but_every_write_needs_csrf_and_own_origin(
    site: Site,
) -> None:
    attempt = live_call(site.dialer)
    site.login()
    assert site.send("GET", "/api/v1/calls/live").json()["calls"][0]["id"] == attempt
    refusal(site.listen(attempt, X_CSRF_Token=""), 403, "X-CSRF-Token")
    refusal(site.listen(attempt, X_CSRF_Token="forged"), 403, "X-CSRF-Token")  # noqa: S106
    refusal(site.listen(attempt, Origin="https://evil.example"), 403, "Origin")
    assert site.spy.calls == []
    assert site.listen(attempt).status == 202


def test_a_supervisor_holds_no_crm_permission(site: Site) -> None:
    site.login()
    reply = site.send("POST", "/api/v1/intake", {"orders": []}, X_CSRF_Token=site.csrf or "")
    assert reply.status == 403, reply.body


def test_a_bearer_token_wins_over_the_supervisor_cookie(site: Site) -> None:
    attempt = live_call(site.dialer)
    site.login()
    viewer = f"Bearer {site.dialer.tokens['viewer']}"
    assert site.listen(attempt, Authorization=viewer).status == 403
    assert site.spy.calls == []


def test_an_agents_session_gets_403_on_the_whole_ops_api(site: Site, dialer: Dialer) -> None:
    attempt = live_call(dialer)
    dialer.agent_auth.set_password("1001", PASSWORD)
    agent = AgentBrowser(dialer)
    assert agent.login("1001", PASSWORD).status == 200
    cookie = f"cbd_agent={agent.cookie}"
    for method, path in (("POST", f"/api/v1/calls/{attempt}/listen"), ("GET", "/api/v1/audit"),
                         ("GET", "/api/v1/calls/live")):  # fmt: skip
        reply = site.send(method, path, {"mode": "listen"}, Cookie=cookie, Origin=OWN)
        refusal(reply, 403, "cbd_agent")
    assert site.spy.calls == []


@pytest.mark.parametrize("role", ["viewer", "crm"])
def test_viewer_and_crm_tokens_get_403_on_supervise_routes(dialer: Dialer, role: str) -> None:
    attempt = live_call(dialer)
    listen = dialer.call("POST", f"/api/v1/calls/{attempt}/listen", role=role,
                         body={"mode": "listen"})  # fmt: skip
    assert listen.status == 403 and listen.json["error"]
    assert dialer.call("GET", "/api/v1/audit", role=role).status == 403


# ---- listen, whisper, barge -----------------------------------------------------------------


@pytest.mark.parametrize(("mode", "options"), [("listen", "qE"), ("whisper", "qwE"),
                                               ("barge", "qBE")])  # fmt: skip
def test_each_mode_rings_the_extension_with_its_chanspy_options_and_is_audited(
    site: Site, mode: str, options: str
) -> None:
    attempt = live_call(site.dialer)
    site.login()
    reply = site.listen(attempt, mode)
    assert reply.status == 202
    assert reply.json() == {"attempt_id": attempt, "mode": mode, "extension": "201",
                            "agent": "1001", "order_id": "A-1", "status": "ringing"}  # fmt: skip
    assert site.spy.calls == [(attempt, "201", options)]
    entries = site.send("GET", "/api/v1/audit").json()["entries"]
    used = [e for e in entries if e["action"] == mode]
    assert used == [{"at": "2026-03-10T09:00:00+00:00", "actor": "anna",
                     "actor_kind": "supervisor", "action": mode, "result": "accepted",
                     "attempt_id": attempt, "order_id": "A-1", "agent_id": "1001",
                     "detail": "ringing extension 201"}]  # fmt: skip
    assert {e["action"] for e in entries} == {mode, "sign_in"}


@pytest.mark.parametrize("mode", ["spy", "", None, 1, ["listen"], "LISTEN", "listen,qB"])
def test_a_bad_mode_is_400_naming_mode(site: Site, mode: Any) -> None:
    attempt = live_call(site.dialer)
    site.login()
    refusal(site.listen(attempt, mode), 400, "mode")
    assert site.spy.calls == []


@pytest.mark.parametrize(
    "attempt_id",
    ["..%2F..%2Fetc%2Fpasswd", "%3Cscript%3Ealert(1)%3C%2Fscript%3E", "a" * 5000, "%00",
     "att-1,qB", "PJSIP%2F1001"],
)  # fmt: skip
def test_an_id_no_attempt_can_have_is_404_and_reaches_nothing(site: Site, attempt_id: str) -> None:
    live_call(site.dialer)
    site.login()
    reply = site.listen(attempt_id)
    assert reply.status in (404, 409), reply.body
    assert reply.json()["error"] and reply.status < 500
    assert site.spy.calls == []


def test_a_call_that_is_not_live_is_409_and_audited_as_refused(site: Site) -> None:
    site.dialer.admit("A-1")
    attempt = site.dialer.answer("A-1")  # answered and over: no longer live
    site.login()
    refusal(site.listen(attempt), 409, "attempt_id")
    refusal(site.listen("0fedcba9-0000"), 409, "attempt_id")
    entries = SqlAuditLog(site.dialer.engine).entries()
    refused = [e for e in entries if e.action == "listen"]
    assert [e.result for e in refused] == ["refused", "refused"]
    assert "not live" in (refused[0].detail or "")


def test_a_supervisor_without_an_extension_is_409_naming_it(site: Site) -> None:
    attempt = live_call(site.dialer)
    site.login("boris")
    refusal(site.listen(attempt), 409, "extension")
    assert site.spy.calls == []


def test_an_ops_token_has_no_phone_so_it_is_409(dialer: Dialer) -> None:
    attempt = live_call(dialer)
    reply = dialer.call("POST", f"/api/v1/calls/{attempt}/listen", body={"mode": "barge"})
    assert reply.status == 409 and reply.json["field"] == "extension"
    audit = dialer.call("GET", "/api/v1/audit").json["entries"]
    assert [(e["actor"], e["actor_kind"], e["result"]) for e in audit] == [
        ("ops", "token", "refused")]  # fmt: skip


def test_a_refusal_of_the_server_carrying_the_call_is_409(site: Site) -> None:
    attempt = live_call(site.dialer)
    site.spy.refuse = f"call {attempt} is not carried by this node"
    site.login()
    assert "not carried" in refusal(site.listen(attempt), 409, "attempt_id")["error"]


# ---- the audit log --------------------------------------------------------------------------


def test_the_audit_is_filtered_by_dates_and_bad_dates_are_400(site: Site) -> None:
    attempt = live_call(site.dialer)
    site.login()
    site.listen(attempt, "whisper")

    def count(**query: str) -> int:
        path = "/api/v1/audit?" + "&".join(f"{k}={v}" for k, v in query.items())
        return len(site.send("GET", path).json()["entries"])

    assert count(since="2026-03-10") == 2
    assert count(since="2026-03-11") == 0
    assert count(since="2026-03-01", until="2026-03-09") == 0
    assert count(since="2026-03-10T08:59:00%2B00:00", until="2026-03-10") == 2
    for bad in ("yesterday", "2026-13-01", "2026-03-10T09:00:00"):
        refusal(site.send("GET", f"/api/v1/audit?since={bad}"), 400, "since")
    entry = SqlAuditLog(site.dialer.engine).entries()[0]
    assert line(entry) == (
        f"2026-03-10 09:00:00 supervisor anna: whisper (суфлёр) agent 1001 "
        f"order A-1 attempt {attempt}: accepted (ringing extension 201)"
    )


def test_the_openapi_document_lists_the_supervise_routes(dialer: Dialer) -> None:
    paths = dialer.call("GET", "/api/v1/openapi.json").json["paths"]
    listen = paths["/api/v1/calls/{attempt_id}/listen"]["post"]
    assert listen["description"] == "Roles: ops; a signed-in supervisor."
    assert listen["requestBody"]["content"]["application/json"]["schema"]["properties"]["mode"][
        "enum"] == ["listen", "whisper", "barge"]  # fmt: skip
    assert "get" in paths["/api/v1/audit"]


def test_removing_a_supervisor_ends_their_sessions(site: Site) -> None:
    site.login()
    assert site.send("GET", "/supervisor/me").status == 200
    SqlSupervisors(site.dialer.engine).remove("anna")
    refusal(site.send("GET", "/supervisor/me"), 401, "cbd_supervisor")
    refusal(site.send("GET", "/api/v1/calls/live"), 401, "Authorization")
