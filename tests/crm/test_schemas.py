"""The protocol's JSON Schemas (crm_adapter/schemas, draft 2020-12) hold for the dialer's own
messages, the docs' examples and everything the HTTP CRM double says; and what the schemas
refuse the dialer refuses too (a sample of each kind)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from crm_backends import HttpBackend
from crm_servers import SECRET, HttpJsonCrm
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from campaigns.settings import CampaignSettings
from crm_adapter.errors import CrmDataError, FinalRejectionError, IntakeError
from crm_adapter.http_json import IntakeHandler
from crm_adapter.order_json import order_json, parse_order
from crm_adapter.port import IntakeFilter
from crm_adapter.schemas import NAMES, schema, schema_text
from crm_adapter.signing import SeenEvents, signed_headers

DOCS = Path(__file__).resolve().parents[2] / "docs" / "crm.md"
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
REGISTRY: Registry[Any] = Registry().with_resources(
    (f"{name}.json", Resource.from_contents(schema(name))) for name in NAMES
)


def errors(name: str, instance: Any) -> list[str]:
    validator = Draft202012Validator(schema(name), registry=REGISTRY)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


@pytest.mark.parametrize("name", NAMES)
def test_each_schema_is_a_valid_draft_2020_12_schema_shipped_in_the_package(name: str) -> None:
    Draft202012Validator.check_schema(schema(name))
    assert schema(name)["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert json.loads(schema_text(name)) == schema(name)


def test_only_known_names_are_looked_up() -> None:
    for bad in ("../port", "order.json", "ORDER", "", "pull-page/../order"):
        with pytest.raises(KeyError):
            schema_text(bad)


def documented_examples() -> list[tuple[str, Any]]:
    """docs/crm.md's JSON blocks each marked ``<!-- schema: NAME -->`` on the line before."""
    text = DOCS.read_text(encoding="utf-8")
    found = re.findall(r"<!-- schema: ([a-z-]+) -->\n```json\n(.*?)```", text, re.S)
    return [(name, json.loads(body)) for name, body in found]


def test_the_docs_examples_validate() -> None:
    examples = documented_examples()
    assert {name for name, _ in examples} >= {"intake-push", "outcome", "outcome-answer"}
    for name, example in examples:
        assert errors(name, example) == [], (name, example)


def test_the_dialers_own_orders_and_outcomes_validate() -> None:
    from test_crm_contract import SEED, delivery  # noqa: PLC0415

    for order in SEED:
        assert errors("order", order_json(order)) == []
    assert errors("intake-push", {"orders": [order_json(o) for o in SEED]}) == []
    for change in ({}, {"callback_at": None, "problem": None}, {"kind": "confirmed"}):
        sent = delivery("НФ-00123", "НФ-00123:17", **change).as_json()
        assert errors("outcome", sent) == []


def test_everything_the_http_crm_double_says_validates(http_crm: HttpJsonCrm) -> None:
    from test_crm_contract import SEED, delivery  # noqa: PLC0415

    backend = HttpBackend(http_crm, SECRET)
    backend.seed(SEED)
    http_crm.final.add("1007")
    intake = IntakeFilter.for_campaign(CampaignSettings(), page_size=2)
    assert len(list(backend.adapter.fetch_waiting(intake))) >= 3
    backend.adapter.read_status("1001")
    backend.adapter.write_outcome(delivery("1001", "1001:1"))
    backend.adapter.write_outcome(delivery("1001", "1001:1"))  # the duplicate's answer
    with pytest.raises(FinalRejectionError):
        backend.adapter.write_outcome(delivery("1007", "1007:2"))  # refused for good
    checked = set()
    for method, path, status, data in http_crm.server.answers:
        if method == "GET" and path.startswith("/orders?"):
            name = "pull-page"
        elif method == "GET" and status == 200:
            name = "status-answer"
        elif method == "POST":
            name = "outcome-answer"
        else:
            continue
        assert errors(name, data) == [], (path, data)
        checked.add(name)
    for method, _path, _headers, body in http_crm.server.requests:
        if method == "POST":
            assert errors("outcome", json.loads(body)) == []
            checked.add("outcome")
    assert checked == {"pull-page", "status-answer", "outcome-answer", "outcome"}


GOOD = {
    "id": "НФ-00123", "phone": "+7 916 123-45-67", "name": "Татьяна",
    "product": "Перуанская мака", "created_at": "2026-03-10T11:50:00+03:00",
    "status": "Ожидает подтверждения",
}  # fmt: skip


@pytest.mark.parametrize(
    "change",
    [
        {"phone": None},
        {"name": ""},
        {"created_at": "2026-03-10T11:50:00"},
        {"prepaid": "yes"},
        {"prepaid": None},
        {"id": ["x"]},
        {"callback_at": "завтра"},
        {"items": [{"quantity": 1}]},
    ],
)
def test_what_the_schema_refuses_the_dialer_refuses(change: dict[str, Any]) -> None:
    bad = GOOD | change
    assert errors("order", bad) != []
    with pytest.raises(CrmDataError):
        parse_order(bad)
    body = json.dumps({"orders": [bad]}, ensure_ascii=False).encode()
    headers = signed_headers(SECRET, NOW, body, "e") | {"Content-Type": "application/json"}
    with pytest.raises(IntakeError):
        IntakeHandler(SECRET, SeenEvents()).handle(body, headers, NOW + timedelta(seconds=1))


def test_the_schema_takes_what_a_1c_order_looks_like() -> None:
    order = GOOD | {
        "id": 123, "phone": 79161234567, "state": None, "prepaid": False,
        "items": [{"name": "Мака", "quantity": "2", "price": "743,10"}], "total": "1486,20",
        "delivery_date": "2026-03-14", "callback_at": None, "extra_phone": None,
    }  # fmt: skip
    assert errors("order", order) == []
    assert parse_order(order).id == "123"
