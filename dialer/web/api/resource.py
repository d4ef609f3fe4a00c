"""The API's twisted.web edge: bearer auth, routing, JSON errors; never a stack trace.

Order of checks: a missing or unknown token is 401 (with ``WWW-Authenticate``), an unknown
path 404, a wrong method 405, a role without the route's permission 403; then the handler.

Callers: an ``Authorization: Bearer`` token when the header is present (machines; it wins),
else a supervisor's dashboard session (``sessions``: the ``cbd_supervisor`` cookie, holding
READ, OPS and SUPERVISE; every method but GET also needs the session's ``X-CSRF-Token`` and
a same-origin ``Origin`` when one is sent). An agent's workspace session is refused with 403
on every route: agents are known but never ops.
``OperationError`` from ``dialer.app.operations`` becomes 404 / 409 / 400, ``ApiError`` its own
status, and anything else a logged 500 with a one-line JSON body.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Protocol

from twisted.web.resource import Resource

from dialer.app.operations import ConflictError, NotFoundError, OperationError
from dialer.storage.tokens import Role, SqlTokenStore, TokenRecord
from dialer.web.api.errors import ApiError
from dialer.web.api.events import Streamed as EventStream
from dialer.web.api.router import READ, ApiRequest, BoundRoute, Caller, Reply, Streamed, find

log = logging.getLogger("dialer.api")


class SessionCallers(Protocol):
    def caller(self, request: Any) -> Caller | None:
        """The caller of a request without ``Authorization`` by its session cookie, else None
        (no session); ApiError for a session refused here (an agent's, a bad CSRF token)."""


class ApiResource(Resource):
    """Mounted at ``/api``; serves ``/api/v1/...`` from the bound routes."""

    isLeaf = True

    def __init__(
        self, routes: list[BoundRoute], tokens: SqlTokenStore,
        sessions: SessionCallers | None = None,
    ) -> None:  # fmt: skip
        super().__init__()  # type: ignore[no-untyped-call]
        self._routes = routes
        self._tokens = tokens
        self._sessions = sessions

    def render(self, request: Any) -> Any:
        try:
            reply = self._handle(request)
            if isinstance(reply.data, EventStream):  # GET /events: a long response (events.py)
                return reply.data.open(request, lambda: self._still_allowed(request))
        except ApiError as exc:
            reply = Reply(exc.body(), exc.status)
            if exc.status == 401:  # noqa: PLR2004 - HTTP status
                request.setHeader(b"www-authenticate", b'Bearer realm="callback-dialer"')
        except OperationError as exc:
            reply = Reply(operation_error(exc).body(), operation_error(exc).status)
        except Exception:
            log.exception("API request %s %r failed", request.method, request.uri)
            reply = Reply({"error": "internal error; see the service log"}, 500)
        request.setResponseCode(reply.status)
        request.setHeader(b"content-type", reply.content_type.encode("ascii"))
        request.setHeader(b"cache-control", b"no-store")
        for name, value in reply.headers.items():
            request.setHeader(name.encode("ascii"), value.encode("ascii"))
        if isinstance(reply.data, Streamed):
            return reply.data.send(request)
        if isinstance(reply.data, bytes):
            return reply.data
        return json.dumps(reply.data, ensure_ascii=False, sort_keys=True).encode("utf-8")

    def _handle(self, request: Any) -> Reply:
        segments = [_text(s, "path") for s in request.postpath]
        if not segments or segments[0] != "v1":
            raise ApiError(404, f"no such path: /api/{'/'.join(segments)}")
        segments = segments[1:]
        if segments and segments[-1] == "":
            segments = segments[:-1]
        token, caller = self._authenticate(request)
        method = _text(request.method, "method")
        bound, params = find(self._routes, method, segments)
        if bound.route.permission not in caller.permissions:
            who = f"a {token.role.value} token" if caller.kind == "token" else f"a {caller.kind}"
            raise ApiError(403, f"{who} may not {method} this path")
        query = {_text(k, "query"): _text(v[-1], "query") for k, v in request.args.items()}
        body = request.content.read() if request.content is not None else b""
        return bound(ApiRequest(method, params, query, body, token, caller, _headers(request)))

    def _still_allowed(self, request: Any) -> bool:
        """Whether a stream's caller would still be let in now (session, token, READ)."""
        try:
            return READ in self._authenticate(request)[1].permissions
        except ApiError:
            return False

    def _authenticate(self, request: Any) -> tuple[TokenRecord, Caller]:
        header = request.getHeader(b"authorization")
        if header is None and self._sessions is not None:
            caller = self._sessions.caller(request)
            if caller is not None:
                stand_in = TokenRecord(f"{caller.kind}:{caller.name}", Role.VIEWER,
                                       created_at=_EPOCH, revoked_at=None)  # fmt: skip
                return stand_in, caller
        if header is None:
            raise ApiError(401, "missing Authorization: Bearer <token> (or sign in as a "
                                "supervisor on the dashboard)", "Authorization")  # fmt: skip
        scheme, _, secret = _text(header, "Authorization").partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(401, "Authorization must be 'Bearer <token>'", "Authorization")
        token = self._tokens.authenticate(secret.strip())
        if token is None:
            raise ApiError(401, "unknown or revoked token", "Authorization")
        return token, Caller.of_token(token)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _headers(request: Any) -> dict[str, str]:
    """The request's headers a handler may read (lower-case names, the last value)."""
    return {name.decode("latin-1").lower(): values[-1].decode("latin-1")
            for name, values in request.requestHeaders.getAllRawHeaders()}  # fmt: skip


def operation_error(exc: OperationError) -> ApiError:
    if isinstance(exc, NotFoundError):
        return ApiError(404, str(exc), exc.field)
    if isinstance(exc, ConflictError):
        return ApiError(409, str(exc), exc.field)
    return ApiError(400, str(exc), exc.field)


def _text(value: bytes | str, field: str) -> str:
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, f"{field} is not UTF-8", field) from None
