"""The agent's browser over raw HTTP for the ``/agent`` tests: it keeps the session cookie and
the CSRF token, and talks to the real twisted.web site of an ``api_harness.Dialer``."""

from __future__ import annotations

import json
import re
from typing import Any

from api_harness import Dialer
from http_wire import WireResponse, exchange, raw_request
from twisted.internet.task import Clock

from dialer.web import site as web
from dialer.web.agent.app import build_agent
from dialer.web.agent.phone import PhoneSettings
from dialer.web.api.app import build_api

PASSWORD = "пароль-1001"  # noqa: S105 - a test password
PASSWORDS = {"1001": PASSWORD, "1002": "пароль-1002"}  # the agents' passwords in the tests
OWN = "http://127.0.0.1"  # http_wire sends Host: 127.0.0.1
COOKIE = re.compile(
    r"cbd_agent=([A-Za-z0-9_-]{40,}); HttpOnly; SameSite=Strict; Path=/agent; Max-Age=43200"
)


class Browser:
    """One agent's browser: keeps the cookie and the CSRF token it was given."""

    def __init__(
        self, dialer: Dialer, *, secure: bool = False, phone: PhoneSettings | None = None
    ) -> None:
        self.dialer = dialer
        self.site = web.build_site(
            Clock(), None, lambda _: 0, lambda: (True, {}), lambda: dialer.now,
            extra={b"api": build_api(dialer.engine, dialer.ops, dialer.agent_auth),
                   b"agent": build_agent(dialer.engine, dialer.ops, dialer.agent_auth,
                                         dialer.feed, reactor=dialer.reactor, secure=secure,
                                         phone=phone)},
        )  # fmt: skip
        self.cookie: str | None = None
        self.csrf: str | None = None

    def send(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> WireResponse:
        sent = {k.encode(): v.encode() for k, v in (headers or {}).items()}
        if self.cookie is not None:
            sent[b"Cookie"] = f"cbd_agent={self.cookie}".encode()
        return exchange(self.site, raw_request(method.encode(), path.encode(), sent, body))

    def login(self, agent: str, password: str, **headers: str) -> WireResponse:
        body = json.dumps({"agent": agent, "password": password}).encode()
        reply = self.send("POST", "/agent/login", body, {"Content-Type": "application/json",
                                                         **headers})  # fmt: skip
        if reply.status == 200:
            match = COOKIE.fullmatch(reply.headers["set-cookie"])
            assert match is not None, reply.headers["set-cookie"]
            self.cookie, self.csrf = match.group(1), reply.json()["csrf_token"]
        return reply

    def post(self, path: str, *, csrf: str | None = "keep", **headers: str) -> WireResponse:
        token = self.csrf if csrf == "keep" else csrf
        sent = {**headers, **({"X-CSRF-Token": token} if token is not None else {})}
        return self.send("POST", path, b"", sent)

    def get(self, path: str) -> WireResponse:
        return self.send("GET", path)


def refusal(reply: WireResponse, status: int, field: str) -> dict[str, Any]:
    assert reply.status == status, reply.body
    assert reply.headers["content-type"].startswith("application/json")
    data: dict[str, Any] = reply.json()
    assert data["field"] == field and data["error"]
    return data


def answered_by(dialer: Dialer, order_id: str) -> str:
    dialer.admit(order_id)
    dialer.answer(order_id)
    order = dialer.call("GET", "/api/v1/orders/" + order_id).json
    assert order["phase"] == "awaiting_disposition"
    return str(order["attempts"][-1]["agent"])


def other(agent: str) -> str:
    return "1002" if agent == "1001" else "1001"
