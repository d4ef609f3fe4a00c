"""The API's twisted.web edge: bearer auth, routing, JSON errors; never a stack trace.

Order of checks: a missing or unknown token is 401 (with ``WWW-Authenticate``), an unknown
path 404, a wrong method 405, a role without the route's permission 403; then the handler.
``OperationError`` from ``dialer.app.operations`` becomes 404 / 409 / 400, ``ApiError`` its own
status, and anything else a logged 500 with a one-line JSON body.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from twisted.web.resource import Resource

from dialer.app.operations import ConflictError, NotFoundError, OperationError
from dialer.storage.tokens import SqlTokenStore, TokenRecord
from dialer.web.api.errors import ApiError
from dialer.web.api.router import ALLOWED, ApiRequest, BoundRoute, Reply, find

log = logging.getLogger("dialer.api")


class ApiResource(Resource):
    """Mounted at ``/api``; serves ``/api/v1/...`` from the bound routes."""

    isLeaf = True

    def __init__(self, routes: list[BoundRoute], tokens: SqlTokenStore) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._routes = routes
        self._tokens = tokens

    def render(self, request: Any) -> bytes:
        try:
            reply = self._handle(request)
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
        token = self._authenticate(request)
        method = _text(request.method, "method")
        bound, params = find(self._routes, method, segments)
        if bound.route.permission not in ALLOWED[token.role]:
            raise ApiError(403, f"a {token.role.value} token may not {method} this path")
        query = {_text(k, "query"): _text(v[-1], "query") for k, v in request.args.items()}
        body = request.content.read() if request.content is not None else b""
        return bound(ApiRequest(method, params, query, body, token))

    def _authenticate(self, request: Any) -> TokenRecord:
        header = request.getHeader(b"authorization")
        if header is None:
            raise ApiError(401, "missing Authorization: Bearer <token>", "Authorization")
        scheme, _, secret = _text(header, "Authorization").partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(401, "Authorization must be 'Bearer <token>'", "Authorization")
        token = self._tokens.authenticate(secret.strip())
        if token is None:
            raise ApiError(401, "unknown or revoked token", "Authorization")
        return token


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
