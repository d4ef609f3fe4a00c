"""Issue 17 §3 on the API: the protocol's JSON Schemas at /api/v1/schemas/<name>.json (any
token, read-only, known names only) and a BOM in front of a pushed body."""

from __future__ import annotations

import json

import pytest
from api_harness import Dialer

from crm_adapter.schemas import NAMES, schema


@pytest.mark.parametrize("name", NAMES)
def test_each_schema_is_served_as_shipped_to_any_token(dialer: Dialer, name: str) -> None:
    for role in ("ops", "crm", "viewer"):
        response = dialer.call("GET", f"/api/v1/schemas/{name}.json", role=role)
        assert response.status == 200
        assert response.headers["content-type"] == "application/schema+json; charset=utf-8"
        assert json.loads(response.body) == schema(name)


def test_the_schema_index_lists_every_name(dialer: Dialer) -> None:
    listed = dialer.call("GET", "/api/v1/schemas", role="viewer").json["schemas"]
    assert listed == [f"/api/v1/schemas/{name}.json" for name in NAMES]


@pytest.mark.parametrize(
    "name",
    ["order", "ORDER.json", "port.py", "..%2Fport.py", "%2e%2e", "order.json.bak", "заказ.json"],
)
def test_an_unknown_schema_name_is_404_naming_the_known_ones(dialer: Dialer, name: str) -> None:
    response = dialer.call("GET", f"/api/v1/schemas/{name}", role="viewer")
    assert response.status == 404
    assert "known: order.json" in response.json["error"]


def test_schemas_need_a_token_like_the_rest_and_are_read_only(dialer: Dialer) -> None:
    assert dialer.call("GET", "/api/v1/schemas/order.json", role=None).status == 401
    post = dialer.call("POST", "/api/v1/schemas/order.json", body={}, role="ops")
    assert post.status == 405


def test_a_push_with_a_utf8_bom_is_taken(dialer: Dialer) -> None:
    order = {"id": "НФ-00123", "phone": "+79165830421", "name": "Ирина", "product": "Крем",
             "created_at": "2026-03-10T11:50:00+03:00", "status": "Ожидает подтверждения",
             "state": "Новый"}  # fmt: skip
    raw = b"\xef\xbb\xbf" + json.dumps({"orders": [order]}, ensure_ascii=False).encode()
    response = dialer.call("POST", "/api/v1/intake", raw=raw, role="crm")
    assert (response.status, response.json) == (200, {"received": 1, "admitted": 1})
    twice = b"\xef\xbb\xbf" + raw  # one mark is dropped, a second one is not JSON
    assert dialer.call("POST", "/api/v1/intake", raw=twice, role="crm").json["field"] == "body"
