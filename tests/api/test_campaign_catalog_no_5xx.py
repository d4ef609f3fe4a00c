"""Property (issue 21): no body a caller sends to /api/v1/campaigns makes it answer 5xx, and a
refusal always says why; the catalog behind it is the database's (SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from api_harness import Dialer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NAME = "Магазин НФ"  # the harness sends the path's UTF-8 as twisted hands it over, decoded
ROUTES = [
    ("POST", "/api/v1/campaigns"), ("GET", f"/api/v1/campaigns/{NAME}"),
    ("PATCH", f"/api/v1/campaigns/{NAME}"), ("POST", f"/api/v1/campaigns/{NAME}/preview"),
    ("POST", f"/api/v1/campaigns/{NAME}/pause"), ("POST", f"/api/v1/campaigns/{NAME}/resume"),
    ("GET", f"/api/v1/campaigns/{NAME}/history"), ("POST", f"/api/v1/campaigns/{NAME}/rollback"),
]  # fmt: skip
KEYS = ["settings", "changes", "expected_version", "version", "reason", "name", "window",
        "start", "end", "weekdays", "holidays", "retry", "quick_retry_min_s", "default_tz",
        "agents", "intake_statuses", "language", "ring_timeout_s"]  # fmt: skip
scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
    | st.sampled_from(["09:00", "25:00", "2026-01-07", "mon", "Europe/Moscow", "Магазин НФ"])
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=10,
)
bodies = st.dictionaries(st.sampled_from(KEYS), values, max_size=4).map(
    lambda d: json.dumps(d).encode()
)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Dialer:
    dialer = Dialer(Path(tmp_path_factory.mktemp("catalog5xx")))
    made = dialer.call("POST", "/api/v1/campaigns", body={"settings": {"name": "Магазин НФ"}})
    assert made.status == 201, made.body
    assert dialer.call("GET", f"/api/v1/campaigns/{NAME}", role="viewer").status == 200
    return dialer


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(route=st.sampled_from(ROUTES), body=bodies, role=st.sampled_from(["ops", "viewer"]))
def test_no_body_yields_a_server_error(
    shared: Dialer, route: tuple[str, str], body: bytes, role: str
) -> None:
    method, path = route
    response = shared.call(method, path, raw=body, role=role)
    assert response.status < 500, (route, body, response.body)
    if response.status >= 400:
        assert json.loads(response.body)["error"]
