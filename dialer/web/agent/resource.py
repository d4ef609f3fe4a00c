"""The ``/agent`` edge on twisted.web: sign-in, sign-out, who am I, one of my orders.

    POST /agent/login       {"agent", "password"} (JSON or an HTML form) -> the session cookie
    POST /agent/logout      ends the session (X-CSRF-Token required)
    GET  /agent/me          the agent, its state and the CSRF token; 401 without a session
    GET  /agent/orders/{id} the order as GET /api/v1/orders/{id}, only within the agent's scope
    GET  /agent/callbacks   «Мои перезвоны»: the agent's own callbacks still to make
    GET  /agent/orders/{id}/card  the order card (as GET /api/v1/orders/{id}/card), in scope
    POST /agent/state       {"state": "ready" | "pause" | "logout", "reason"} (X-CSRF-Token)
    GET  /agent/events      the agent's live events (Server-Sent Events, ``events.py``)
    GET  /agent, /agent/static/NAME   the workspace page and its files (``page.py``)
    POST /agent/orders/{id}/result  a result button (X-CSRF-Token; ``results.py``)
    GET  /agent/result-options      the buttons' problems, the window, the calling days
    GET  /agent/phone       the agent's own softphone settings (WSS URL, SIP URI, password;
                            ``phone.py``)

Thin: parse, call ``AgentAuth`` or the read views, serialise. Every refusal is JSON
``{"error", "field"}`` like the ops API; the database being down is a 503; only a bug is a
(logged) 500. The cookie is ``cbd_agent``: HttpOnly, SameSite=Strict, Path=/agent, Max-Age
the session's lifetime, Secure when ``[service] agent_cookie_secure``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from twisted.web.resource import Resource

from dialer.agent_auth.errors import AgentLocked, WrongCredentials
from dialer.agent_auth.scope import facts_of, may_access
from dialer.agent_auth.service import AgentAuth
from dialer.app.operations import OperationError, Operations
from dialer.storage.agent_auth import SessionRecord
from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.card import OrderCards
from dialer.storage.errors import DatabaseUnavailableError
from dialer.storage.views import OrderViews
from dialer.web.agent.events import EventStreams
from dialer.web.agent.guard import check_csrf, check_origin, unstorable_id
from dialer.web.agent.page import agent_pages
from dialer.web.agent.phone import PhoneSettings
from dialer.web.agent.results import AgentResults
from dialer.web.agent.state import change_state, session_extras
from dialer.web.api.errors import ApiError
from dialer.web.api.resource import operation_error
from dialer.web.api.router import MAX_BODY, Reply, json_object

COOKIE = "cbd_agent"
log = logging.getLogger("dialer.agent")
_FORM = "application/x-www-form-urlencoded"


class AgentResource(Resource):
    """Mounted at ``/agent``."""

    isLeaf = True

    def __init__(
        self,
        auth: AgentAuth,
        agents: SqlAgentRegistry,
        views: OrderViews,
        ops: Operations,
        *,
        cards: OrderCards,
        streams: EventStreams,
        secure: bool,
        phone: PhoneSettings | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._auth, self._agents, self._views, self._secure = auth, agents, views, secure
        self._ops, self._cards, self._streams = ops, cards, streams
        self._phone = phone or PhoneSettings()
        self._pages = agent_pages(connect=self._phone.ws_origin())
        self._results = AgentResults(views, ops)
        self._routes: dict[tuple[str, str], Callable[[Any, list[str]], Reply]] = {
            ("POST", "login"): self._login,
            ("POST", "logout"): self._logout,
            ("GET", "me"): self._me,
            ("GET", "orders"): self._order,
            ("GET", "callbacks"): self._callbacks,
            ("POST", "state"): self._state,
            ("POST", "orders/result"): self._result,
            ("GET", "result-options"): self._result_options,
            ("GET", "phone"): self._phone_settings,
        }

    def render(self, request: Any) -> bytes | object:
        return json_answer(request, self._answer, log)

    def _answer(self, request: Any) -> Reply | object:
        """A page, the event stream, or a JSON route's reply."""
        if request.method == b"GET":
            segments = [_text(s, "path") for s in request.postpath]
            page = self._pages.answer(request, segments)
            if page is not None:
                return page
            if segments == ["events"]:
                return self._streams.open(request, self._signed_in(request).agent_id)
        return self._handle(request)

    def _handle(self, request: Any) -> Reply:
        segments = [_text(s, "path") for s in request.postpath]
        if segments and segments[-1] == "":
            segments = segments[:-1]
        if len(segments) == 3 and (segments[0], segments[2]) == ("orders", "result"):  # noqa: PLR2004
            segments = ["orders/result", segments[1]]
        method = _text(request.method, "method")
        known = [m for (m, name) in self._routes if segments[:1] == [name]]
        if not known or not _shape_ok(segments):
            raise ApiError(404, f"no such path: /agent/{'/'.join(segments)}")
        if method not in known:
            raise ApiError(405, f"method {method} not allowed here; use {', '.join(known)}")
        if method == "POST":
            check_origin(_header(request, b"origin"), _header(request, b"host"))
        return self._routes[(method, segments[0])](request, segments[1:])

    def _login(self, request: Any, rest: list[str]) -> Reply:
        del rest
        data = _login_fields(request)
        try:
            opened = self._auth.sign_in(data["agent"], data["password"])
        except WrongCredentials as exc:
            raise ApiError(401, str(exc), "password") from None
        except AgentLocked as exc:
            request.setHeader(b"retry-after", str(_seconds_until(self._auth, exc)).encode())
            raise ApiError(429, str(exc), "agent") from None
        record = opened.record
        max_age = int(self._auth.ttl.total_seconds())
        request.setHeader(b"set-cookie", _cookie(opened.secret, max_age, secure=self._secure))
        return Reply(_session_body(record))

    def _logout(self, request: Any, rest: list[str]) -> Reply:
        del rest
        record = self._signed_in(request)
        check_csrf(_header(request, b"x-csrf-token"), record.csrf_token)
        self._auth.sign_out(record)
        request.setHeader(b"set-cookie", _cookie("", 0, secure=self._secure))
        return Reply({"agent": record.agent_id, "signed_out": True})

    def _me(self, request: Any, rest: list[str]) -> Reply:
        del rest
        record = self._signed_in(request)
        agent = self._agents.get(record.agent_id)
        body = _session_body(record)
        body.update(name=agent.display_name, state=agent.state.value,
                    reason=agent.paused_reason,
                    **session_extras(self._ops, self._views, record.agent_id))  # fmt: skip
        return Reply(body)

    def _order(self, request: Any, rest: list[str]) -> Reply:
        record = self._signed_in(request)
        order_id = rest[0]
        order = None if unstorable_id(order_id) else self._views.detail(order_id)
        if not may_access(record.agent_id, facts_of(order)):
            raise ApiError(403, f"order {order_id!r} is not one of agent "
                                f"{record.agent_id}'s current or owned orders", "id")  # fmt: skip
        if rest[1:] == ["card"] and order is not None:  # None was refused above
            now, zone = self._ops.now(), self._ops.settings.default_tz
            card = self._cards.card(order_id, now, default_tz=zone) or {}
            return Reply({**card, "phase": order["phase"], "horizon_start": order["horizon_start"]})
        return Reply(order)

    def _state(self, request: Any, rest: list[str]) -> Reply:
        """Ready, a pause with a reason from the campaign's list, or logged out."""
        del rest
        record = self._signed_in(request)
        check_csrf(_header(request, b"x-csrf-token"), record.csrf_token)
        change_state(self._ops, self._views, record.agent_id, json_object(_body(request)))
        return self._me(request, [])

    def _callbacks(self, request: Any, rest: list[str]) -> Reply:
        """«Мои перезвоны»: the signed-in agent's own callbacks still to make."""
        del rest
        record = self._signed_in(request)
        return Reply({"agent": record.agent_id, "callbacks": self._views.owned_callbacks(
            record.agent_id)})  # fmt: skip

    def _result(self, request: Any, rest: list[str]) -> Reply:
        """A result button (``results.py``): session, then the CSRF token, then the rest."""
        record = self._signed_in(request)
        check_csrf(_header(request, b"x-csrf-token"), record.csrf_token)
        body = request.content.read(MAX_BODY + 1) if request.content is not None else b""
        return self._results.give(record.agent_id, rest[0], body)

    def _result_options(self, request: Any, rest: list[str]) -> Reply:
        """``?order=ID``: the options of that order's campaign."""
        del rest
        self._signed_in(request)
        order = (request.args or {}).get(b"order")
        return self._results.options(_text(order[-1], "order") if order else None)

    def _phone_settings(self, request: Any, rest: list[str]) -> Reply:
        """The signed-in agent's own softphone settings, never another agent's."""
        del rest
        record = self._signed_in(request)
        return Reply(self._phone.for_agent(record.agent_id))

    def _signed_in(self, request: Any) -> SessionRecord:
        secret = request.getCookie(COOKIE.encode())
        record = None if not secret else self._auth.session(_text(secret, COOKIE))
        if record is None:
            raise ApiError(401, "not signed in, or the session expired: POST /agent/login", COOKIE)
        return record


def json_answer(
    request: Any, handle: Callable[[Any], Reply | object], log: logging.Logger
) -> bytes | object:
    """``handle(request)``'s reply as JSON, ``no-store`` (anything but a ``Reply``, e.g. a
    page, as it is); a refusal as ``{"error", "field"}`` (``ApiError``, ``OperationError``),
    the database down as 503, anything else a logged 500."""
    try:
        answer = handle(request)
        if not isinstance(answer, Reply):
            return answer
        reply = answer
    except ApiError as exc:
        reply = Reply(exc.body(), exc.status)
    except OperationError as exc:
        refused = operation_error(exc)
        reply = Reply(refused.body(), refused.status)
    except DatabaseUnavailableError:
        reply = Reply({"error": "database unavailable; try again shortly"}, 503)
    except Exception:
        log.exception("request %s %r failed", request.method, request.uri)
        reply = Reply({"error": "internal error; see the service log"}, 500)
    request.setResponseCode(reply.status)
    request.setHeader(b"content-type", b"application/json; charset=utf-8")
    request.setHeader(b"cache-control", b"no-store")
    return json.dumps(reply.data, ensure_ascii=False, sort_keys=True).encode("utf-8")


def _shape_ok(segments: list[str]) -> bool:
    if segments[0] == "orders/result":
        return len(segments) == 2  # noqa: PLR2004
    if segments[0] == "orders":
        return len(segments) == 2 or (len(segments) == 3 and segments[2] == "card")  # noqa: PLR2004
    return len(segments) == 1


def _body(request: Any) -> bytes:
    body: bytes = request.content.read(MAX_BODY + 1) if request.content is not None else b""
    return body


def _login_fields(request: Any, who: str = "agent") -> dict[str, str]:
    """The sign-in's ``who`` (the account id) and ``password``, from JSON or an HTML form."""
    body = _body(request)
    content_type = (_header(request, b"content-type") or "").split(";")[0].strip().lower()
    data = _form(body) if content_type == _FORM else json_object(body)
    fields = {}
    for name in (who, "password"):
        value = data.get(name)
        if not isinstance(value, str) or not value:
            raise ApiError(400, f"{name}: required, a non-empty string", name)
        fields[name] = value
    return fields


def _form(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_BODY:
        raise ApiError(413, f"the body is larger than {MAX_BODY} bytes", "body")
    try:
        parsed = parse_qs(body.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "the form body is not URL-encoded UTF-8", "body") from None
    return {name: values[-1] for name, values in parsed.items()}


def _cookie(secret: str, max_age: int, *, secure: bool) -> bytes:
    flags = f"{COOKIE}={secret}; HttpOnly; SameSite=Strict; Path=/agent; Max-Age={max_age}"
    return (flags + ("; Secure" if secure else "")).encode("ascii")


def _session_body(record: SessionRecord) -> dict[str, Any]:
    return {
        "agent": record.agent_id,
        "csrf_token": record.csrf_token,
        "expires_at": record.expires_at.isoformat(timespec="seconds"),
    }


def _seconds_until(auth: AgentAuth, exc: AgentLocked) -> int:
    return max(1, int(-(-(exc.until - auth.now()).total_seconds() // 1)))


def _header(request: Any, name: bytes) -> str | None:
    value = request.getHeader(name)
    return None if value is None else _text(value, name.decode("ascii"))


def _text(value: bytes | str, field: str) -> str:
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, f"{field} is not UTF-8", field) from None
