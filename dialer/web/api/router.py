"""A small klein-style router: routes declared on a resource class, bound to its instance.

    class OrdersApi:
        router = Router()

        def __init__(self, ops: Operations) -> None: ...

        @router.route("GET", "/orders/{id}", READ, "One order")
        def one(self, request: ApiRequest) -> Reply: ...

Each route carries what the OpenAPI document says about it (summary, parameters, body).

Why not klein itself (issue 14 asked): klein matches the path before any handler runs and
answers an unknown path or method with werkzeug's HTML error pages, so keeping the API's
contract (401 before 404/405/403, every error a JSON body naming the field, 405 listing the
allowed methods, a trailing slash served rather than redirected) would need an auth wrapper
plus error handlers per status, and the OpenAPI document would need a second table beside
klein's routes for permission, summary, query and body. That is more code than these ~150
lines, and a web framework with werkzeug as new dependencies for no behaviour gained. The
shape is klein's (a router as a class attribute, the service injected), so switching later
touches only this module and ``resource.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from crm_adapter.transport import json_text
from dialer.storage.tokens import Role, TokenRecord
from dialer.web.api.errors import ApiError

READ, CRM, OPS = "read", "crm", "ops"
SUPERVISE = "supervise"  # hear calls, play recordings, agents' reports: never a viewer's
ALLOWED: Mapping[Role, frozenset[str]] = {
    Role.OPS: frozenset({READ, CRM, OPS, SUPERVISE}),
    Role.CRM: frozenset({READ, CRM}),
    Role.VIEWER: frozenset({READ}),
}
SUPERVISOR: frozenset[str] = frozenset({READ, OPS, SUPERVISE})  # a signed-in supervisor
MAX_BODY = 1_000_000


@dataclass(frozen=True, slots=True)
class Caller:
    """Who calls the API: an API token (``kind`` "token", its name) or a signed-in supervisor
    (``kind`` "supervisor", their id), and the permissions they hold."""

    name: str
    kind: str
    permissions: frozenset[str]

    @classmethod
    def of_token(cls, token: TokenRecord) -> Caller:
        return cls(token.name, "token", ALLOWED[token.role])


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """What a handler gets: the path's parameters, the query, the body and the caller.

    ``token`` is the bearer token's record (for a supervisor's session, a stand-in named
    ``supervisor:<id>`` with the viewer role: read ``caller`` for who and what they may)."""

    method: str
    params: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    token: TokenRecord
    who: Caller | None = None  # None: the token's own (``Caller.of_token``)
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names, last value

    @property
    def caller(self) -> Caller:
        return self.who if self.who is not None else Caller.of_token(self.token)

    def json(self) -> dict[str, Any]:
        """The body as a JSON object, else 400 naming ``body``."""
        return json_object(self.body)


def json_object(body: bytes) -> dict[str, Any]:
    """``body`` as a JSON object, else 413 (over ``MAX_BODY``) or 400 naming ``body``; a
    leading UTF-8 byte-order mark is dropped (1C may write one)."""
    if len(body) > MAX_BODY:
        raise ApiError(413, f"the body is larger than {MAX_BODY} bytes", "body")
    try:
        data = json.loads(json_text(body) or "{}")
    except (UnicodeDecodeError, ValueError, RecursionError):  # nesting past the stack
        raise ApiError(400, "the body must be a UTF-8 JSON object", "body") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object", "body")
    try:  # a lone "\ud800" escape decodes to a str no database can store
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "the body holds a lone \\ud800-\\udfff escape", "body") from None
    return data


@runtime_checkable
class Streamed(Protocol):
    """A body sent by itself (a recording): ``send`` writes it to the twisted.web request
    and returns what ``render`` returns (``NOT_DONE_YET`` while it streams)."""

    def send(self, request: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class Reply:
    """A handler's answer: JSON data, raw bytes with their content type, or a ``Streamed``
    body; ``headers``: more response headers (lower-case names)."""

    data: Any
    status: int = 200
    content_type: str = "application/json; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[[Any, ApiRequest], Reply]


@dataclass(frozen=True, slots=True)
class Route:
    """One method and path template (``/orders/{id}``) with its permission and docs."""

    method: str
    path: str
    permission: str
    summary: str
    handler: Handler
    query: tuple[tuple[str, str], ...] = ()
    body: Mapping[str, Any] | None = None
    responses: Mapping[str, str] = field(default_factory=dict)

    def match(self, segments: list[str]) -> dict[str, str] | None:
        parts = self.path.strip("/").split("/")
        if len(parts) != len(segments):
            return None
        params = {}
        for part, segment in zip(parts, segments, strict=True):
            if part.startswith("{") and part.endswith("}"):
                if not segment:
                    return None
                params[part[1:-1]] = segment
            elif part != segment:
                return None
        return params


class Router:
    """Routes declared with ``@router.route`` on a class; ``bind`` ties them to an object."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def route(
        self,
        method: str,
        path: str,
        permission: str,
        summary: str,
        *,
        query: tuple[tuple[str, str], ...] = (),
        body: Mapping[str, Any] | None = None,
        responses: Mapping[str, str] | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(
                Route(method, path, permission, summary, handler, query, body, responses or {})
            )
            return handler

        return register


@dataclass(frozen=True, slots=True)
class BoundRoute:
    """A route and the object whose method handles it."""

    route: Route
    owner: Any

    def __call__(self, request: ApiRequest) -> Reply:
        return self.route.handler(self.owner, request)


def bind(*owners: Any) -> list[BoundRoute]:
    """Every route of every owner's class router, bound to the owner."""
    return [BoundRoute(route, owner) for owner in owners for route in type(owner).router.routes]


def find(
    routes: list[BoundRoute], method: str, segments: list[str]
) -> tuple[BoundRoute, dict[str, str]]:
    """The route for ``method`` and ``segments``, else 404 (no path) or 405 (no method)."""
    methods = []
    for bound in routes:
        params = bound.route.match(segments)
        if params is None:
            continue
        if bound.route.method == method:
            return bound, params
        methods.append(bound.route.method)
    if methods:
        raise ApiError(405, f"method {method} not allowed here; use {', '.join(sorted(methods))}")
    raise ApiError(404, f"no such path: /api/v1/{'/'.join(segments)}")
