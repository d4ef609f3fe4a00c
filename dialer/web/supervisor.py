"""Supervisors' dashboard sign-in (issue 19) and their sessions as ops API callers.

    POST /supervisor/login   {"login", "password"} (JSON or an HTML form) -> the cookie
    POST /supervisor/logout  ends the session (X-CSRF-Token required)
    GET  /supervisor/me      who is signed in, their extension and the CSRF token; 401 without

The same sign-in as the agents' (``dialer.agent_auth``: scrypt hashes, five wrong passwords
lock for a minute, fixed-lifetime sessions) over the supervisors' own tables. The cookie is
``cbd_supervisor``: HttpOnly, SameSite=Strict, Path=/ (it must reach ``/api``), Max-Age the
session's lifetime, Secure when ``[service] agent_cookie_secure``. ``SupervisorSessions``
lets the ops API (``dialer.web.api.resource``) take that cookie as a caller holding READ,
OPS and SUPERVISE, with the CSRF token and the Origin checked on every method but GET; an
agent's session (``cbd_agent``) presented there is refused with 403.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twisted.web.resource import Resource

from dialer.agent_auth.errors import AgentLocked, WrongCredentials
from dialer.agent_auth.passwords import PasswordHasher
from dialer.agent_auth.service import AgentAuth
from dialer.app.operations import Operations
from dialer.app.supervision import Actor, CallSpy, SpyRefused, Supervision
from dialer.storage.agent_auth import SUPERVISORS, SessionRecord, SqlAgentAuthStore
from dialer.storage.audit import SqlAuditLog
from dialer.storage.campaign_views import order_views
from dialer.storage.engine import Database
from dialer.storage.supervisors import SqlSupervisors, UnknownSupervisorError
from dialer.web.agent.guard import check_csrf, check_origin
from dialer.web.agent.resource import COOKIE as AGENT_COOKIE
from dialer.web.agent.resource import _header, _login_fields, _seconds_until, _text, json_answer
from dialer.web.api.errors import ApiError
from dialer.web.api.router import SUPERVISOR, Caller, Reply

COOKIE = "cbd_supervisor"
log = logging.getLogger("dialer.supervisor")


class SupervisorSessions:
    """The ops API's view of the sessions: a supervisor's cookie is a caller."""

    def __init__(self, auth: AgentAuth, agent_auth: AgentAuth) -> None:
        self._auth, self._agent_auth = auth, agent_auth

    def signed_in(self, request: Any) -> SessionRecord | None:
        secret = cookie(request, COOKIE)
        return None if not secret else self._auth.session(secret)

    def caller(self, request: Any) -> Caller | None:
        record = self.signed_in(request)
        if record is not None:
            if request.method not in (b"GET", b"HEAD"):
                check_origin(_header(request, b"origin"), _header(request, b"host"))
                check_csrf(_header(request, b"x-csrf-token"), record.csrf_token)
            return Caller(record.agent_id, "supervisor", SUPERVISOR)
        agent_secret = cookie(request, AGENT_COOKIE)
        if agent_secret and self._agent_auth.session(agent_secret):
            raise ApiError(403, "an agent's session may not use the ops API; sign in as a "
                                "supervisor", AGENT_COOKIE)  # fmt: skip
        return None


class SupervisorResource(Resource):
    """Mounted at ``/supervisor``."""

    isLeaf = True

    def __init__(
        self, auth: AgentAuth, sessions: SupervisorSessions, supervisors: SqlSupervisors,
        supervision: Supervision, *, secure: bool,
    ) -> None:  # fmt: skip
        super().__init__()  # type: ignore[no-untyped-call]
        self._auth, self._sessions, self._supervisors = auth, sessions, supervisors
        self._supervision, self._secure = supervision, secure
        self._routes: dict[tuple[str, str], Callable[[Any], Reply]] = {
            ("POST", "login"): self._login,
            ("POST", "logout"): self._logout,
            ("GET", "me"): self._me,
        }

    def render(self, request: Any) -> bytes | object:
        return json_answer(request, self._handle, log)

    def _handle(self, request: Any) -> Reply:
        segments = [_text(s, "path") for s in request.postpath]
        if segments and segments[-1] == "":
            segments = segments[:-1]
        method = _text(request.method, "method")
        known = [m for (m, name) in self._routes if segments == [name]]
        if not known:
            raise ApiError(404, f"no such path: /supervisor/{'/'.join(segments)}")
        if method not in known:
            raise ApiError(405, f"method {method} not allowed here; use {', '.join(known)}")
        if method == "POST":
            check_origin(_header(request, b"origin"), _header(request, b"host"))
        return self._routes[(method, segments[0])](request)

    def _login(self, request: Any) -> Reply:
        data = _login_fields(request, "login")
        try:
            opened = self._auth.sign_in(data["login"], data["password"])
        except WrongCredentials:
            raise ApiError(401, "unknown supervisor or wrong password", "password") from None
        except AgentLocked as exc:
            request.setHeader(b"retry-after", str(_seconds_until(self._auth, exc)).encode())
            raise ApiError(429, str(exc), "login") from None
        record = opened.record
        self._supervision.record(Actor(record.agent_id, "supervisor"), "sign_in")
        max_age = int(self._auth.ttl.total_seconds())
        request.setHeader(b"set-cookie", _cookie(opened.secret, max_age, secure=self._secure))
        return Reply(self._body(record))

    def _logout(self, request: Any) -> Reply:
        record = self._signed_in(request)
        check_csrf(_header(request, b"x-csrf-token"), record.csrf_token)
        self._auth.sign_out(record)
        self._supervision.record(Actor(record.agent_id, "supervisor"), "sign_out")
        request.setHeader(b"set-cookie", _cookie("", 0, secure=self._secure))
        return Reply({"supervisor": record.agent_id, "signed_out": True})

    def _me(self, request: Any) -> Reply:
        return Reply(self._body(self._signed_in(request)))

    def _signed_in(self, request: Any) -> SessionRecord:
        record = self._sessions.signed_in(request)
        if record is None:
            raise ApiError(401, "not signed in, or the session expired: POST "
                                "/supervisor/login", COOKIE)  # fmt: skip
        return record

    def _body(self, record: SessionRecord) -> dict[str, Any]:
        try:
            supervisor = self._supervisors.get(record.agent_id)
            name, extension = supervisor.display_name, supervisor.extension
        except UnknownSupervisorError:  # removed meanwhile: the session ends with it
            name, extension = record.agent_id, None
        return {
            "supervisor": record.agent_id,
            "name": name,
            "extension": extension,
            "csrf_token": record.csrf_token,
            "expires_at": record.expires_at.isoformat(timespec="seconds"),
        }


def cookie(request: Any, name: str) -> str | None:
    """The value of cookie ``name`` in the request's ``Cookie`` header(s), else None."""
    for header in request.requestHeaders.getRawHeaders(b"cookie") or ():
        for part in _text(header, "Cookie").split(";"):
            key, found, value = part.strip().partition("=")
            if found and key == name:
                return value
    return None


def _cookie(secret: str, max_age: int, *, secure: bool) -> bytes:
    flags = f"{COOKIE}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}"
    return (flags + ("; Secure" if secure else "")).encode("ascii")


class NoSpy:
    """``CallSpy`` of a site with no telephony (tests of the API alone): always refused."""

    def spy(self, attempt_id: str, extension: str, options: str) -> None:
        del extension, options
        raise SpyRefused(f"call {attempt_id}: no telephony on this site")


@dataclass(frozen=True, slots=True)
class SupervisorWeb:
    """The supervisors' parts of the site: their sign-in, the API's session callers, the
    audited listen service and the ``/supervisor`` resource."""

    auth: AgentAuth
    sessions: SupervisorSessions
    supervision: Supervision
    resource: SupervisorResource


def build_supervisors(
    engine: Database, ops: Operations, agent_auth: AgentAuth, spy: CallSpy | None = None,
    *, secure: bool = False, hasher: PasswordHasher | None = None,
) -> SupervisorWeb:  # fmt: skip
    """The supervisors' parts over ``engine``: sessions as long as the agents'
    (``agent_auth.ttl``) on the same clock; ``spy`` reaches the calls (none: refused)."""
    auth = AgentAuth(SqlAgentAuthStore(engine, SUPERVISORS), hasher or PasswordHasher(),
                     clock=agent_auth.now, ttl=agent_auth.ttl)  # fmt: skip
    supervisors = SqlSupervisors(engine)
    views = order_views(engine, ops.campaigns)  # a call of any campaign may be listened to
    supervision = Supervision(live_calls=views.live_calls, supervisors=supervisors,
                              audit=SqlAuditLog(engine), spy=spy or NoSpy(),
                              clock=agent_auth.now)  # fmt: skip
    sessions = SupervisorSessions(auth, agent_auth)
    resource = SupervisorResource(auth, sessions, supervisors, supervision, secure=secure)
    return SupervisorWeb(auth, sessions, supervision, resource)
