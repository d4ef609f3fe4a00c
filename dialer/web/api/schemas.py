"""/api/v1/schemas/<name>.json: the HTTP/JSON CRM protocol's JSON Schemas (draft 2020-12).

Read-only and served with the same bearer auth as the rest of the API (any role): the files
are not secret, but one auth rule for every /api/v1 path keeps the API's contract (401
before 404) and a public path list short. The same files ship in the package
(``crm_adapter/schemas``) for anyone without a token. Only the names listed in
``crm_adapter.schemas.NAMES`` are served; anything else is 404 naming the known ones.
"""

from __future__ import annotations

from crm_adapter.schemas import NAMES, schema_text
from dialer.web.api.errors import ApiError
from dialer.web.api.router import READ, ApiRequest, Reply, Router

_SUFFIX = ".json"


class SchemasApi:
    """The protocol's schemas, as shipped."""

    router = Router()

    @router.route("GET", "/schemas", READ, "The names of the CRM protocol's JSON Schemas")
    def index(self, request: ApiRequest) -> Reply:
        del request
        return Reply({"schemas": [f"/api/v1/schemas/{name}{_SUFFIX}" for name in NAMES]})

    @router.route(
        "GET",
        "/schemas/{name}",
        READ,
        "One JSON Schema of the CRM protocol (order, pull-page, status-answer, intake-push, "
        "outcome, outcome-answer), e.g. /schemas/order.json",
        responses={"404": "no schema of that name"},
    )
    def one(self, request: ApiRequest) -> Reply:
        name = request.params["name"]
        stem = name.removesuffix(_SUFFIX)
        if not name.endswith(_SUFFIX) or stem not in NAMES:
            known = ", ".join(f"{n}{_SUFFIX}" for n in NAMES)
            raise ApiError(404, f"no schema {name[:60]!r}; known: {known}", "name")
        return Reply(schema_text(stem), content_type="application/schema+json; charset=utf-8")
