"""The ops API as raw HTTP through the real twisted site: the edges the no-5xx property of
tests/api does not reach (bad percent-encoding, non-UTF-8 bytes, lone surrogates, huge
numbers, NaN, deep nesting, duplicate keys) never make a 5xx, and every refusal is JSON
naming what is wrong."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_harness import Dialer
from http_wire import WireResponse, exchange, raw_request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_api_no_5xx import KEYS, ROUTES
from twisted.internet.task import Clock
from twisted.web.server import Site

from dialer.web import site as web
from dialer.web.api.app import build_api

FUZZ = settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
ODD_VALUES = [
    b"%zz", b"%f", b"%ff%fe", b"%00", b"%C0%AF", b"%ED%A0%80", b"1" * 5000, b"NaN", b"%C2%B2",
    b"-0", b"1e309", b"Infinity", b"9" * 30, b"%D9%A1%D9%A2", b"+", b"%2B7", b"%FF", b"%",
    b"2026-02-30", b"2026-03-10T25:00:00+03:00",
]  # fmt: skip
ODD_BODIES = [
    b'{"kind": "confirmed", "kind": "refused"}', b'{"at": NaN}', b'{"limit": Infinity}',
    b'{"ring_timeout_s": 1e400}', b'{"ring_timeout_s": ' + b"9" * 5000 + b"}",
    b'{"comment": "\\ud800"}', b'{"reason": "\\udfff\\ud800", "kind": "refused"}',
    b'{"ids": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", b'{"window": {"start": "\\u0000"}}',
    b'{"agents": [[[[["1001"]]]]]}', b'{"name": "' + "Я".encode() * 50_000 + b'"}',
    b'{"at": "2026-03-10T12:00:00+03:00", "kind": "callback", "comment": "\\ud83d"}',
    b'{"ring_timeout_s": -1e-400}', b'{"default_tz": "../../etc/passwd"}', b"\xef\xbb\xbf{}",
]  # fmt: skip
text_values = st.text(max_size=20).map(lambda t: urllib.parse.quote(t).encode())
query_values = st.one_of(st.sampled_from(ODD_VALUES), text_values)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.floats(), st.integers(-(10**40), 10**40),
    st.text(max_size=10), st.sampled_from(["\ud800", "²", "١٢", "\x00", "2026-03-10"]),
)  # fmt: skip
json_bodies = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner),
    max_leaves=8,
).map(lambda v: json.dumps(v, allow_nan=True).encode("utf-8", "surrogatepass"))
bodies = st.one_of(st.sampled_from(ODD_BODIES), json_bodies)


class Api:
    def __init__(self, tmp: Path) -> None:
        self.dialer = Dialer(tmp)
        self.dialer.admit("o1")
        api = build_api(self.dialer.engine, self.dialer.ops, self.dialer.agent_auth)
        self.site: Site = web.build_site(
            Clock(), None, lambda _: 0, lambda: (True, {}), lambda: self.dialer.now,
            extra={b"api": api},
        )  # fmt: skip

    def call(self, method: str, target: bytes, body: bytes, role: str = "ops") -> WireResponse:
        headers = {b"Authorization": f"Bearer {self.dialer.tokens[role]}".encode()}
        headers[b"Content-Type"] = b"application/json"
        return exchange(self.site, raw_request(method.encode(), target, headers, body))


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield Api(tmp_path_factory.mktemp("fuzz-api"))


def assert_clear(response: WireResponse, what: object) -> None:
    assert response.status < 500, (what, response.body[:300])
    if response.status >= 400:
        assert response.headers.get("content-type", "").startswith("application/json"), what
        assert response.json()["error"], what


@FUZZ
@given(
    route=st.sampled_from(ROUTES),
    query=st.lists(st.tuples(st.sampled_from(KEYS), query_values), max_size=3),
    body=bodies,
    role=st.sampled_from(["ops", "crm", "viewer"]),
)
def test_odd_queries_and_bodies_never_yield_a_server_error(
    api: Api, route: tuple[str, str], query: list[tuple[str, bytes]], body: bytes, role: str
) -> None:
    method, path = route
    target = path.encode()
    if query:
        target += b"?" + b"&".join(k.encode() + b"=" + v for k, v in query)
    assert_clear(api.call(method, target, body, role), (route, query, body[:100]))


@FUZZ
@given(
    segments=st.lists(st.one_of(st.sampled_from(ODD_VALUES), text_values), min_size=1, max_size=3),
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
)
def test_odd_paths_never_yield_a_server_error(api: Api, segments: list[bytes], method: str) -> None:
    target = b"/api/v1/" + b"/".join(s.replace(b"/", b"%2F") for s in segments)
    assert_clear(api.call(method, target, b""), (method, target))


@pytest.mark.parametrize("limit", ["%C2%B2", "1" * 5000, "%D9%A1"])
def test_regression_a_unicode_or_huge_limit_is_a_400_naming_limit(api: Api, limit: str) -> None:
    """Found while fuzzing: ``str.isdigit`` let ``²`` and 5000-digit runs reach ``int()``."""
    response = api.call("GET", f"/api/v1/orders?limit={limit}".encode(), b"")
    assert response.status == 400
    assert response.json()["field"] == "limit"


def test_regression_deeply_nested_json_is_a_400_naming_the_body(api: Api) -> None:
    """Found while fuzzing: RecursionError from json.loads escaped as a 500."""
    body = b'{"ids": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = api.call("POST", b"/api/v1/outbox/replay", body)
    assert response.status == 400
    assert response.json()["field"] == "body"


@pytest.mark.parametrize("target", [b"/api/v1/\xff", b"/api/v1/orders?limit=\x00"])
def test_a_request_line_that_is_not_http_is_refused_by_the_parser(api: Api, target: bytes) -> None:
    """Raw non-ASCII or control bytes in the request line never reach a handler: twisted's
    HTTP parser answers a bare 400 and closes (a protocol error, not an API error)."""
    response = api.call("GET", target, b"")
    assert response.status == 400
    assert response.body == b""


@pytest.mark.parametrize(
    "body",
    [
        b'{"kind": "refused", "reason": "\\ud800", "comment": "x"}',
        b'{"kind": "callback", "at": "2026-03-10T12:00:00+03:00", "comment": "\\udfff"}',
    ],
)
def test_regression_a_lone_surrogate_in_a_written_field_is_a_400(api: Api, body: bytes) -> None:
    """Found while fuzzing: a JSON "\\ud800" escape decodes to a str SQLite cannot encode;
    writing it raised UnicodeEncodeError (a 500)."""
    api.dialer.admit("surrogate")
    response = api.call("POST", b"/api/v1/orders/surrogate/disposition", body)
    assert response.status == 400
    assert response.json()["field"] == "body"


def test_a_request_line_over_16_kib_is_dropped_by_the_parser(api: Api) -> None:
    """twisted's HTTP parser closes the connection on a request line over 16 KiB without
    a response (its line limit); nothing reaches a handler."""
    assert api.call("GET", b"/api/v1/orders?limit=" + b"1" * 17_000, b"").status == 0
