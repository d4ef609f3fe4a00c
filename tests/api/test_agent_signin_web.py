"""``/agent`` sign-in over raw HTTP through the real twisted.web site (issue 15 §2): the
cookie's flags, the lockout on the injected clock, sign-out, expiry, CSRF and Origin checks,
the order scope, and the ops route that sets a password."""

from __future__ import annotations

import json
import urllib.parse
from datetime import timedelta
from typing import Any

import pytest
from agent_web import COOKIE, OWN, PASSWORD, Browser, answered_by, other, refusal
from api_harness import Dialer


def test_sign_in_sets_an_httponly_samesite_strict_cookie_on_agent_that_expires(
    browser: Browser,
) -> None:
    reply = browser.login("1001", PASSWORD, Origin=OWN)
    assert reply.status == 200
    assert COOKIE.fullmatch(reply.headers["set-cookie"])
    assert "Secure" not in reply.headers["set-cookie"]
    assert reply.json()["agent"] == "1001" and len(reply.json()["csrf_token"]) >= 40
    assert reply.headers["cache-control"] == "no-store"
    me = browser.get("/agent/me").json()
    expires = "2026-03-10T21:00:00+00:00"
    assert me == {"agent": "1001", "name": "1001", "state": "idle", "reason": None,
                  "csrf_token": browser.csrf, "expires_at": expires, "awaiting_result": [],
                  "pause_reasons": ["обед", "перерыв", "обучение", "техническая пауза"],
                  "crm_link": True, "disposition_source": "agent"}  # fmt: skip


def test_the_cookie_is_secure_when_configured(dialer: Dialer) -> None:
    dialer.agent_auth.set_password("1001", PASSWORD)
    reply = Browser(dialer, secure=True).send(
        "POST", "/agent/login", json.dumps({"agent": "1001", "password": PASSWORD}).encode()
    )
    assert reply.headers["set-cookie"].endswith("; Max-Age=43200; Secure")


def test_an_html_form_may_sign_in(browser: Browser) -> None:
    form = urllib.parse.urlencode({"agent": "1001", "password": PASSWORD}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": OWN}
    reply = browser.send("POST", "/agent/login", form, headers)
    assert reply.status == 200 and COOKIE.fullmatch(reply.headers["set-cookie"])


def test_rule_7_five_wrong_passwords_lock_the_agent_for_a_minute_even_against_the_right_one(
    browser: Browser, dialer: Dialer
) -> None:
    texts = {refusal(browser.login("1001", "wrong password"), 401, "password")["error"]
             for _ in range(5)}  # fmt: skip
    assert texts == {"unknown agent or wrong password"}
    locked = browser.login("1001", PASSWORD)
    assert "locked" in refusal(locked, 429, "agent")["error"]
    assert "until 2026-03-10T09:01:00+00:00" in locked.json()["error"]
    assert locked.headers["retry-after"] == "60"
    assert "set-cookie" not in locked.headers
    dialer.now += timedelta(seconds=60)
    assert browser.login("1001", PASSWORD).status == 200


def test_an_unknown_or_cyrillic_agent_id_gets_the_same_refusal_as_a_wrong_password(
    browser: Browser,
) -> None:
    wrong = refusal(browser.login("1001", "wrong password"), 401, "password")
    for agent in ("9999", "Оператор-1", "../1001", "1001\x00"):
        assert refusal(browser.login(agent, PASSWORD), 401, "password") == wrong


def test_logout_ends_the_session(browser: Browser) -> None:
    browser.login("1001", PASSWORD)
    reply = browser.post("/agent/logout", Origin=OWN)
    assert reply.status == 200 and reply.json() == {"agent": "1001", "signed_out": True}
    assert "Max-Age=0" in reply.headers["set-cookie"]
    refusal(browser.get("/agent/me"), 401, "cbd_agent")
    refusal(browser.post("/agent/logout"), 401, "cbd_agent")


def test_an_expired_session_is_refused(browser: Browser, dialer: Dialer) -> None:
    browser.login("1001", PASSWORD)
    dialer.now += timedelta(hours=11, minutes=59)
    assert browser.get("/agent/me").status == 200
    dialer.now += timedelta(minutes=1)
    refusal(browser.get("/agent/me"), 401, "cbd_agent")


def test_no_cookie_or_a_made_up_one_is_401(browser: Browser) -> None:
    refusal(browser.get("/agent/me"), 401, "cbd_agent")
    browser.cookie = "made-up"
    refusal(browser.get("/agent/me"), 401, "cbd_agent")


def test_a_post_without_or_with_a_wrong_csrf_token_is_403_and_changes_nothing(
    browser: Browser,
) -> None:
    browser.login("1001", PASSWORD)
    refusal(browser.post("/agent/logout", csrf=None), 403, "X-CSRF-Token")
    refusal(browser.post("/agent/logout", csrf="not-the-token"), 403, "X-CSRF-Token")
    assert browser.get("/agent/me").status == 200


def test_a_foreign_origin_is_403_for_sign_in_and_every_post(browser: Browser) -> None:
    refusal(browser.login("1001", PASSWORD, Origin="https://evil.example"), 403, "Origin")
    assert browser.cookie is None
    browser.login("1001", PASSWORD)
    refusal(browser.post("/agent/logout", Origin="https://evil.example"), 403, "Origin")
    refusal(browser.post("/agent/logout", Origin="null"), 403, "Origin")
    assert browser.get("/agent/me").status == 200


def test_a_refused_origin_does_not_count_as_a_wrong_password(browser: Browser) -> None:
    for _ in range(6):
        browser.login("1001", "wrong", Origin="https://evil.example")
    assert browser.login("1001", PASSWORD).status == 200


def test_rule_7_an_agent_reads_its_own_current_order_as_the_api_shows_it(
    browser: Browser, dialer: Dialer
) -> None:
    agent = answered_by(dialer, "НФ-00123")
    browser.login(agent, PASSWORD if agent == "1001" else "пароль-1002")
    path = "/agent/orders/" + urllib.parse.quote("НФ-00123")
    reply = browser.get(path)
    assert reply.status == 200
    assert reply.json() == dialer.call("GET", "/api/v1/orders/НФ-00123").json


def test_another_agents_order_and_an_unknown_order_are_both_403(
    browser: Browser, dialer: Dialer
) -> None:
    agent = answered_by(dialer, "o1")
    intruder = other(agent)
    browser.login(intruder, PASSWORD if intruder == "1001" else "пароль-1002")
    foreign = refusal(browser.get("/agent/orders/o1"), 403, "id")
    unknown = refusal(browser.get("/agent/orders/o-404"), 403, "id")
    assert foreign["error"].replace("'o1'", "X") == unknown["error"].replace("'o-404'", "X")
    refusal(browser.get("/agent/orders/%00"), 403, "id")


def test_an_order_without_a_session_is_401(browser: Browser, dialer: Dialer) -> None:
    answered_by(dialer, "o1")
    refusal(browser.get("/agent/orders/o1"), 401, "cbd_agent")


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        (b"not json", "application/json", 400, "body"),
        (b"[1, 2]", "application/json", 400, "body"),
        (b'{"agent": "1001"}', "application/json", 400, "password"),
        (b'{"agent": 1001, "password": "x"}', "application/json", 400, "agent"),
        (b'{"agent": "\\ud800", "password": "x"}', "application/json", 400, "body"),
        (b"agent=%FF&password=x", "application/x-www-form-urlencoded", 400, "body"),
        (b"x" * 1_000_001, "application/json", 413, "body"),
    ],
)
def test_bad_sign_in_bodies_are_refused_naming_the_field_never_5xx(
    browser: Browser, body: bytes, content_type: str, status: int, field: str
) -> None:
    reply = browser.send("POST", "/agent/login", body, {"Content-Type": content_type})
    refusal(reply, status, field)


def test_unknown_paths_and_methods_are_json_404_and_405(browser: Browser) -> None:
    assert browser.get("/agent/nothing").status == 404
    assert browser.get("/agent/orders").status == 404
    assert browser.get("/agent/login").status == 405
    assert browser.send("DELETE", "/agent/me").status == 405
    assert browser.get("/agent/%FF").status == 400


def test_ops_set_a_password_through_the_api_and_the_agents_sessions_end(
    browser: Browser, dialer: Dialer
) -> None:
    browser.login("1001", PASSWORD)
    reply = dialer.call("POST", "/api/v1/agents/1001/password", body={"password": "новый-пароль"})
    assert reply.status == 200
    assert reply.json == {"agent": "1001", "password_set": True, "sessions_ended": 1}
    refusal(browser.get("/agent/me"), 401, "cbd_agent")
    assert browser.login("1001", "новый-пароль").status == 200


@pytest.mark.parametrize("role", ["viewer", "crm"])
def test_only_ops_may_set_a_password(dialer: Dialer, role: str) -> None:
    reply = dialer.call("POST", "/api/v1/agents/1001/password", role=role,
                        body={"password": "новый-пароль"})  # fmt: skip
    assert reply.status == 403


@pytest.mark.parametrize(
    ("agent", "body", "status", "field"),
    [
        ("1001", {"password": "short"}, 400, "password"),
        ("1001", {"password": 12345678}, 400, "password"),
        ("1001", {}, 400, "password"),
        ("9999", {"password": "long enough"}, 404, "id"),
    ],
)
def test_the_password_route_refuses_naming_the_field(
    dialer: Dialer, agent: str, body: dict[str, Any], status: int, field: str
) -> None:
    reply = dialer.call("POST", f"/api/v1/agents/{agent}/password", body=body)
    assert (reply.status, reply.json["field"]) == (status, field)
    if status == 400 and body.get("password") == "short":
        assert "at least 8 characters" in reply.json["error"]


def test_an_owned_callback_is_the_owners_to_read_and_listed_in_its_callbacks(
    browser: Browser, dialer: Dialer
) -> None:
    """Issue 15, «мой перезвон»: the result route takes ``owner``; the owner may read the
    order while the callback waits (no longer its current call) and sees it under
    ``GET /agent/callbacks``; the other agent sees neither."""
    agent = answered_by(dialer, "НФ-00123")
    at = (dialer.now + timedelta(hours=2)).isoformat()
    body = {"kind": "callback", "at": at, "owner": agent}
    reply = dialer.call("POST", "/api/v1/orders/НФ-00123/disposition", role="crm", body=body)
    assert reply.status == 200, reply.body
    assert (reply.json["phase"], reply.json["callback_owner"]) == ("queued", agent)
    browser.login(agent, PASSWORD if agent == "1001" else "пароль-1002")
    assert browser.get("/agent/orders/" + urllib.parse.quote("НФ-00123")).status == 200
    listed = browser.get("/agent/callbacks").json()
    assert [c["id"] for c in listed["callbacks"]] == ["НФ-00123"]
    assert listed["callbacks"][0]["callback_at"] is not None
    stranger = Browser(dialer)
    intruder = other(agent)
    stranger.login(intruder, PASSWORD if intruder == "1001" else "пароль-1002")
    refusal(stranger.get("/agent/orders/" + urllib.parse.quote("НФ-00123")), 403, "id")
    assert stranger.get("/agent/callbacks").json()["callbacks"] == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "callback", "at": "2026-03-10T15:00:00+03:00", "owner": "9999"}, "owner: "),
        ({"kind": "confirmed", "owner": "1001"}, "owner: only a callback has an owner"),
        ({"kind": "callback", "at": "2026-03-10T15:00:00+03:00", "owner": 7}, "owner: "),
    ],
)
def test_a_bad_callback_owner_is_refused_naming_it(
    dialer: Dialer, body: dict[str, Any], message: str
) -> None:
    answered_by(dialer, "o1")
    reply = dialer.call("POST", "/api/v1/orders/o1/disposition", role="crm", body=body)
    assert reply.status == 400, reply.body
    assert reply.json["field"] == "owner"
    assert reply.json["error"].startswith(message)
    assert dialer.call("GET", "/api/v1/orders/o1").json["phase"] == "awaiting_disposition"
