"""/api/v1/openapi.json: the OpenAPI 3 document, built from the routes' own declarations."""

from __future__ import annotations

from typing import Any

from dialer.web.api.router import READ, ApiRequest, BoundRoute, Reply, Router

_ROLES = {"read": "ops, crm, viewer", "crm": "ops, crm", "ops": "ops", "supervise": "ops"}
_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "field": {"type": "string"}},
}


class OpenApi:
    """Describes every route it is given (its own included)."""

    router = Router()

    def __init__(self, routes: list[BoundRoute]) -> None:
        self._routes = routes

    @router.route("GET", "/openapi.json", READ, "This document")
    def document(self, request: ApiRequest) -> Reply:
        del request
        return Reply(document([b.route for b in self._routes]))


def document(routes: list[Any]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault("/api/v1" + route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.0.3",
        "info": {"title": "callback-dialer ops API", "version": "1"},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": _ERROR},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }


def _operation(route: Any) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    responses: dict[str, Any] = {
        "200": {"description": "OK"},
        "400": {"description": "bad input; field names it", **error},
        "401": {"description": "missing, unknown or revoked token", **error},
        "403": {"description": "the token's role may not do this", **error},
    }
    for status, text in route.responses.items():
        responses[status] = {"description": text, **error}
    operation: dict[str, Any] = {
        "summary": route.summary,
        "description": f"Roles: {_ROLES[route.permission]}.",
        "responses": responses,
    }
    parameters = [
        {"name": part[1:-1], "in": "path", "required": True, "schema": {"type": "string"}}
        for part in route.path.split("/")
        if part.startswith("{")
    ] + [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": text,
            "schema": {"type": "string"},
        }
        for name, text in route.query
    ]
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": dict(route.body)}},
        }
    return operation
