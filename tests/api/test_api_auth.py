"""Bearer tokens: 401 without a valid one, 403 for a role without the right, the hash only."""

from __future__ import annotations

import pytest
from api_harness import NOW, Dialer
from sqlalchemy import select
from sqlalchemy.orm import Session

from dialer.storage.models import ApiToken
from dialer.storage.tokens import SqlTokenStore, token_hash


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic b3BzOm9wcw==", "Bearer cbd_not-a-token", "bearer x y"],
)
def test_a_request_without_a_valid_token_is_401_with_json(
    dialer: Dialer, authorization: str | None
) -> None:
    response = dialer.call("GET", "/api/v1/agents", role=None, authorization=authorization)
    assert response.status == 401
    assert response.json["field"] == "Authorization"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_revoked_token_is_refused(dialer: Dialer) -> None:
    assert dialer.call("GET", "/api/v1/agents", role="viewer").status == 200
    SqlTokenStore(dialer.engine).revoke("viewer", NOW)
    assert dialer.call("GET", "/api/v1/agents", role="viewer").status == 401


ROLE_CASES = [
    # method, path, body, {role: allowed}
    ("GET", "/api/v1/orders", None, {"ops": True, "crm": True, "viewer": True}),
    ("GET", "/api/v1/openapi.json", None, {"ops": True, "crm": True, "viewer": True}),
    ("POST", "/api/v1/orders/o1/disposition", {"kind": "confirmed"},
     {"ops": True, "crm": True, "viewer": False}),
    ("POST", "/api/v1/intake", {"orders": []}, {"ops": True, "crm": True, "viewer": False}),
    ("POST", "/api/v1/orders/o1/cancel", None, {"ops": True, "crm": False, "viewer": False}),
    ("POST", "/api/v1/agents/1001/login", None, {"ops": True, "crm": False, "viewer": False}),
    ("POST", "/api/v1/campaign/resume", None, {"ops": True, "crm": False, "viewer": False}),
    ("POST", "/api/v1/outbox/replay", {"all": True}, {"ops": True, "crm": False, "viewer": False}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ROLE_CASES)
def test_ops_may_do_everything_crm_intake_and_dispositions_viewer_only_read(
    dialer: Dialer, method: str, path: str, body: object, allowed: dict[str, bool]
) -> None:
    dialer.admit("o1")
    for role, ok in allowed.items():
        response = dialer.call(method, path, role=role, body=body)
        if ok:
            assert response.status not in (401, 403), (role, response.json)
        else:
            assert response.status == 403, role
            assert "may not" in response.json["error"]


def test_only_the_sha256_of_the_secret_is_stored(dialer: Dialer) -> None:
    with Session(dialer.engine) as session:
        stored = session.scalars(select(ApiToken.token_hash)).all()
    secrets = set(dialer.tokens.values())
    assert not secrets & set(stored)
    assert {token_hash(s) for s in secrets} == set(stored)


def test_unknown_paths_and_methods_are_json_404_and_405(dialer: Dialer) -> None:
    assert dialer.call("GET", "/api/v1/nothing").status == 404
    assert dialer.call("GET", "/api/v2/orders").status == 404
    response = dialer.call("DELETE", "/api/v1/agents")
    assert response.status == 405
    assert "GET" in response.json["error"]
