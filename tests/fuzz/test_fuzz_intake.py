"""POST /intake as raw HTTP through the real twisted site, the real IntakeHandler, the real
dispatcher over SQLite: whatever the body, headers or signature, never a 5xx, a refusal
names what is wrong, and a refused push admits nothing (no half-admitted batch)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_harness import Dialer
from http_wire import WireResponse, exchange, raw_request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet.task import Clock
from twisted.web.server import Site

from campaigns.orders import Order
from crm_adapter.http_json import MAX_INTAKE_BYTES, IntakeHandler
from crm_adapter.signing import SeenEvents, signed_headers
from dialer.web import site as web

SECRET = b"fuzz-intake-secret-0123"
FIELDS = ("id", "phone", "name", "product", "created_at", "status", "state", "source",
          "region", "city", "tz", "country", "prepaid")  # fmt: skip
GOOD: dict[str, Any] = {
    "phone": "+79165830421", "name": "Ирина", "product": "Крем",
    "created_at": "2026-03-10T11:50:00+03:00", "status": "Ожидает подтверждения",
    "state": "Новый", "source": "site",
}  # fmt: skip
ODD_TEXT = ["", "\x00", "a\x00b", "Ω" * 1001, "x" * 5000, "😀", "\ud800", "\udfff\ud83d", "   ",
            "NaN", "1e309"]  # fmt: skip
wrong = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.floats(),
    st.sampled_from(ODD_TEXT), st.text(max_size=30), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip
FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_serial = itertools.count()


class Intake:
    """The site with the intake on, admitting into the API harness's dispatcher."""

    def __init__(self, tmp: Path) -> None:
        self.dialer = Dialer(tmp)
        self.handler = IntakeHandler(SECRET, SeenEvents())
        self.site: Site = web.build_site(
            Clock(), self.handler, self.accept, lambda: (True, {}), lambda: self.dialer.now
        )

    def accept(self, orders: list[Order]) -> int:
        return self.dialer.dispatcher.admit(orders, self.dialer.now)

    def post(self, body: bytes, headers: dict[str, str]) -> WireResponse:
        raw = {k.encode("latin-1"): v.encode("latin-1") for k, v in headers.items()}
        return exchange(self.site, raw_request(b"POST", b"/intake", raw, body))

    def signed(self, body: bytes, content_type: str = "application/json") -> dict[str, str]:
        event = f"evt-{next(_serial)}"
        headers = signed_headers(SECRET, self.dialer.now, body, event)
        return headers | {"Content-Type": content_type}

    def stored(self, ids: list[str]) -> list[str]:
        return [i for i in ids if self.dialer.store.get(i) is not None]


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Intake]:
    yield Intake(tmp_path_factory.mktemp("fuzz-intake"))


@st.composite
def orders(draw: st.DrawFn) -> dict[str, Any]:
    """An order object with some fields dropped or replaced by wrong values."""
    order: dict[str, Any] = {"id": f"fz{next(_serial)}", **GOOD}
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        if draw(st.booleans()):
            order.pop(name, None)
        else:
            order[name] = draw(wrong)
    return order


def _refusal_names_the_problem(response: WireResponse) -> str:
    assert response.headers["content-type"].startswith("application/json")
    message = response.json()["error"]
    assert isinstance(message, str) and len(message) > 5
    return message


def _ids_in(items: list[Any]) -> list[str]:
    ids = [o.get("id") for o in items if isinstance(o, dict)]
    return [i for i in ids if isinstance(i, str) and i.isprintable()]  # storable ids only


@FUZZ
@given(items=st.lists(orders(), max_size=4), signed=st.booleans())
def test_a_batch_is_admitted_whole_or_refused_whole(
    intake: Intake, items: list[dict[str, Any]], signed: bool
) -> None:
    body = json.dumps({"orders": items}).encode()  # ASCII: a lone surrogate as \ud800
    headers = intake.signed(body) if signed else {"Content-Type": "application/json"}
    # A wrong value may be an id an earlier example admitted ("NaN", "   "): what was stored
    # before this push is no sign of a half-admitted batch.
    stored_before = intake.stored(_ids_in(items))
    response = intake.post(body, headers)
    assert response.status < 500, response.body
    if response.status == 200:
        assert signed
        assert response.json()["received"] == len(items)
        assert intake.stored(_ids_in(items)) == _ids_in(items)
    else:
        message = _refusal_names_the_problem(response)
        assert response.status in (400, 401), message
        assert intake.stored(_ids_in(items)) == stored_before, message
        if signed:  # the message names the order and its field
            assert message.startswith("orders["), message


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    json_values.map(lambda v: json.dumps({"orders": v}).encode()),
    st.binary(max_size=80),
    st.sampled_from([
        b'{"orders": [], "orders": 5}', b'{"orders": [NaN, Infinity]}', b"\xff\xfe{}",
        b'{"orders": [' * 50_000, b"[" * 100_000 + b"]" * 100_000, b'{"orders": "\x00"}',
        b'\xef\xbb\xbf{"orders": []}', b'{"orders": [{"id": 1' + b"0" * 5000 + b"}]}",
    ]),
)  # fmt: skip
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "",
        "APPLICATION/JSON",
        "application/json\x7f",
        "multipart/form-data; boundary=x",
    ]
)


@FUZZ
@given(body=bodies, content_type=content_types)
def test_any_signed_body_gets_an_answer_below_500(
    intake: Intake, body: bytes, content_type: str
) -> None:
    response = intake.post(body, intake.signed(body, content_type))
    assert response.status < 500, (body[:100], response.body)
    if response.status != 200:
        _refusal_names_the_problem(response)


header_values = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
    max_size=60,
)


@FUZZ
@given(
    extra=st.dictionaries(
        st.sampled_from(
            [
                "X-Dialer-Timestamp",
                "X-Dialer-Signature",
                "X-Dialer-Event-Id",
                "Content-Type",
                "X-Other",
            ]
        ),
        header_values,
        max_size=4,
    )
)
def test_odd_signing_headers_are_refused_with_401_naming_the_header(
    intake: Intake, extra: dict[str, str]
) -> None:
    body = json.dumps({"orders": [{"id": f"fz{next(_serial)}", **GOOD}]}).encode()
    headers = intake.signed(body) | extra
    response = intake.post(body, headers)
    assert response.status < 500, response.body
    if response.status != 200:
        message = _refusal_names_the_problem(response)
        assert any(h in message for h in ("X-Dialer", "Content-Type", "event")), message


def test_regression_deeply_nested_json_is_a_400_not_a_500(intake: Intake) -> None:
    """Found by the fuzz test: json.loads raises RecursionError (not ValueError) on deep
    nesting, which escaped the handler as a 500."""
    body = b'{"orders": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = intake.post(body, intake.signed(body))
    assert response.status == 400
    assert "nested too deeply" in response.json()["error"]


def test_a_body_over_the_limit_is_413_before_anything_is_parsed(intake: Intake) -> None:
    body = b" " * (MAX_INTAKE_BYTES + 1)
    response = intake.post(body, intake.signed(body))
    assert response.status == 413
    assert "larger than" in response.json()["error"]


def test_a_replayed_push_is_409_and_admits_nothing_new(intake: Intake) -> None:
    first = {"id": f"fz{next(_serial)}", **GOOD}
    body = json.dumps({"orders": [first]}).encode()
    headers = intake.signed(body)
    assert intake.post(body, headers).status == 200
    replay = intake.post(body, headers)
    assert replay.status == 409
    assert "already received" in replay.json()["error"]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("multipart/form-data; boundary=x", b"\x00"), ("\x850", b'{"orders": []}')],
)
def test_regression_twisted_form_parsing_is_off(
    intake: Intake, content_type: str, body: bytes
) -> None:
    """Found by the fuzz test: twisted parsed POST bodies as forms before our handler ran,
    answering a bad multipart body with an empty 400 and raising (no answer at all) on a
    Content-Type holding "\\x85". Now the intake answers 415 naming Content-Type."""
    response = intake.post(body, intake.signed(body, content_type))
    assert response.status == 415
    assert "Content-Type must be application/json" in response.json()["error"]


@pytest.mark.parametrize("field", ["name", "phone", "product", "city"])
def test_regression_a_lone_surrogate_is_a_400_naming_the_field(intake: Intake, field: str) -> None:
    """Found by the fuzz test: a JSON string "\\ud800" decodes to a str the database cannot
    encode; admitting it raised UnicodeEncodeError after the request was accepted (a 500)."""
    order = {"id": f"fz{next(_serial)}", **GOOD, field: "Ир\ud800"}
    body = json.dumps({"orders": [order]}).encode()
    response = intake.post(body, intake.signed(body))
    assert response.status == 400
    assert response.json()["error"].startswith(f"orders[0].{field}: not valid Unicode")
    assert intake.stored([order["id"]]) == []
