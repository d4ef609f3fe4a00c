"""Property: no path, query or body a caller sends makes an API route answer 5xx."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from api_harness import Dialer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROUTES = [
    ("GET", "/api/v1/orders"), ("GET", "/api/v1/orders/o1"),
    ("POST", "/api/v1/orders/o1/disposition"), ("POST", "/api/v1/orders/o1/requeue"),
    ("POST", "/api/v1/orders/o1/cancel"), ("POST", "/api/v1/intake"),
    ("GET", "/api/v1/agents"), ("POST", "/api/v1/agents/1001/pause"),
    ("POST", "/api/v1/agents/1001/login"), ("GET", "/api/v1/campaign"),
    ("POST", "/api/v1/campaign/pause"), ("PATCH", "/api/v1/campaign/settings"),
    ("PUT", "/api/v1/campaign/settings"), ("GET", "/api/v1/outbox/dead"),
    ("POST", "/api/v1/outbox/replay"), ("GET", "/api/v1/stats"), ("GET", "/api/v1/outcomes.csv"),
    ("GET", "/api/v1/openapi.json"), ("GET", "/api/v1/queue"), ("GET", "/api/v1/calls/live"),
    ("GET", "/api/v1/calls/awaiting-result"),
]  # fmt: skip
KEYS = [
    "kind",
    "at",
    "reason",
    "comment",
    "orders",
    "ids",
    "all",
    "window",
    "retry",
    "name",
    "ring_timeout_s",
    "agents",
    "default_tz",
    "phone",
    "id",
    "limit",
    "date",
    "from",
    "to",
]
scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)
    ),
    max_leaves=8,
)
bodies = st.one_of(
    st.dictionaries(st.sampled_from(KEYS), values, max_size=4).map(
        lambda d: json.dumps(d).encode()
    ),
    st.binary(max_size=40),
)
queries = st.dictionaries(st.sampled_from(KEYS), st.text(max_size=20), max_size=3)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Dialer:
    dialer = Dialer(Path(tmp_path_factory.mktemp("no5xx")))
    dialer.admit("o1")
    return dialer


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    route=st.sampled_from(ROUTES),
    body=bodies,
    query=queries,
    role=st.sampled_from(["ops", "crm", "viewer"]),
)
def test_no_input_yields_a_server_error(
    shared: Dialer, route: tuple[str, str], body: bytes, query: dict[str, str], role: str
) -> None:
    method, path = route
    response = shared.call(method, path, raw=body, query=query, role=role)
    assert response.status < 500, (route, body, query, response.body)
    if response.status >= 400:
        assert "error" in json.loads(response.body)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    segments=st.lists(st.text(max_size=12), min_size=1, max_size=5),
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
)
def test_no_path_yields_a_server_error(shared: Dialer, segments: list[str], method: str) -> None:
    response = shared.call(method, "/api/v1/" + "/".join(segments))
    assert response.status < 500, (method, segments, response.body)
