"""The API under test: a real SQLite database, the real dispatcher and store, the site's
resource tree driven through twisted.web's request interface (no store mocks)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from fakes import Recorder
from twisted.internet.task import Clock
from twisted.web.resource import getChildForRequest
from twisted.web.test.requesthelper import DummyRequest

from campaigns.calls import CallReport, CallResult
from campaigns.orders import Order
from campaigns.settings import CallingWindow, CampaignSettings
from dialer.agent_auth.passwords import PasswordHasher
from dialer.agent_auth.service import AgentAuth
from dialer.app.agent_feed import AgentFeed
from dialer.app.agent_sync import AgentSync
from dialer.app.operations import Operations
from dialer.app.screener import make_screen
from dialer.dispatch.agents import AgentPool
from dialer.dispatch.dispatcher import Dispatcher
from dialer.storage.agent_auth import SqlAgentAuthStore
from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.migrate import open_database
from dialer.storage.orders import SqlOrderStore
from dialer.storage.tokens import SqlTokenStore
from dialer.storage.views import OrderViews
from dialer.web import site as web
from dialer.web.agent.app import build_agent
from dialer.web.api.app import build_api
from dialer.web.metrics import MetricsResource

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
AGENTS = ("1001", "1002")
ORDER_URL = "https://crm.example/orders/{id}/edit"


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Dialer:
    """One campaign's dialer objects, wired as the composition root wires them; with
    ``second``, a service of two campaigns (issue 21): «shop» first, ``second`` over the same
    agents, each with its own store and dispatcher."""

    def __init__(
        self, tmp: Path, url: str | None = None, *, second: CampaignSettings | None = None
    ) -> None:
        self.now = NOW
        self.url = url or f"sqlite:///{tmp / 'api.db'}"
        self.engine = open_database(self.url)
        self.settings = CampaignSettings(
            name="shop", agents=AGENTS, window=CallingWindow(start=time(0, 0), end=time(23, 59))
        )
        self.store = SqlOrderStore(self.engine, campaign="shop")
        self.pool = AgentPool(AGENTS, NOW, wrap_up_s=0, miss_pause_after=3)
        registry = SqlAgentRegistry(self.engine)
        registry.configure("shop", AGENTS, NOW)
        for agent in AGENTS:
            registry.login(agent, NOW)
        self.sync = AgentSync(registry, self.pool, campaign="shop")
        self.sync.load(NOW, busy=set())
        self.telephony = Recorder()
        ids = iter(f"att-{i}" for i in range(1, 10_000))

        def dispatcher(settings: CampaignSettings, store: SqlOrderStore) -> Dispatcher:
            return Dispatcher(
                settings=settings,
                store=store,
                telephony=self.telephony,
                agents=self.pool,
                journal=self.telephony,
                screen=make_screen(settings, db_url=self.url),
                new_attempt_id=lambda: next(ids),
                jitter=lambda: 0.0,
            )

        self.dispatcher = dispatcher(self.settings, self.store)
        self.dispatchers = {"shop": self.dispatcher}
        if second is not None:
            store = SqlOrderStore(self.engine, campaign=second.name)
            self.dispatchers[second.name] = dispatcher(second, store)
        self.wakes = 0
        self.ops = Operations(
            engine=self.engine,
            dispatcher=self.dispatcher,
            clock=lambda: self.now,
            wake=self._wake,
            accept=lambda orders: self.dispatcher.admit(orders, self.now),
            order_url=ORDER_URL,
            dispatchers=self.dispatchers if second is not None else None,
        )
        self.feed = AgentFeed(lambda: self.now)
        self.reactor = Clock()  # the event streams' heartbeats
        self.agent_auth = AgentAuth(
            SqlAgentAuthStore(self.engine),
            PasswordHasher(),
            clock=lambda: self.now,
            ttl=timedelta(hours=12),
        )
        metrics = MetricsResource(OrderViews(self.engine, "shop"), lambda: (True, self.now), "shop")
        self.site = web.build_site(
            None,
            None,
            lambda orders: 0,
            lambda: (True, {"status": "ok"}),
            lambda: self.now,
            extra={
                b"api": build_api(self.engine, self.ops, self.agent_auth),
                b"metrics": metrics,
                b"agent": build_agent(
                    self.engine,
                    self.ops,
                    self.agent_auth,
                    self.feed,
                    reactor=self.reactor,
                    secure=False,
                ),
            },
        )
        tokens = SqlTokenStore(self.engine)
        self.tokens = {role: tokens.create(role, role, NOW) for role in ("ops", "crm", "viewer")}

    def _wake(self) -> None:
        self.wakes += 1

    # ---- scenario steps ----------------------------------------------------------------

    def admit(
        self,
        order_id: str,
        phone: str = "+79165830421",
        minutes_ago: int = 5,
        *,
        campaign: str = "shop",
    ) -> None:
        created = self.now - timedelta(minutes=minutes_ago)
        order = Order(order_id, phone, "Ирина", "Крем", created, "Ожидает подтверждения", "Новый")
        self.dispatchers[campaign].admit([order], self.now)

    def answer(self, order_id: str, recording: str | None = None, *, campaign: str = "shop") -> str:
        """Dial ``order_id`` (the only due order of ``campaign``) and report it answered."""
        self.sync.sync(self.now)
        dispatcher = self.dispatchers[campaign]
        assert dispatcher.dispatch(self.now) >= 1
        request = next(r for r in self.telephony.originated if r.order_id == order_id)
        self.now += timedelta(seconds=60)
        dispatcher.on_report(
            CallReport(request.attempt_id, CallResult.ANSWERED, self.now, recording=recording)
        )
        return request.attempt_id

    # ---- HTTP --------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        role: str | None = "ops",
        body: Any = None,
        raw: bytes | None = None,
        query: dict[str, str] | None = None,
        authorization: str | None = None,
    ) -> Response:
        segments = [s.encode() for s in path.lstrip("/").split("/")]
        request = DummyRequest(segments)
        request.method = method.encode()
        request.uri = path.encode()
        request.path = path.encode()  # as twisted.web.server.Request has it
        request.args = {k.encode(): [v.encode()] for k, v in (query or {}).items()}
        content = raw if raw is not None else b"" if body is None else json.dumps(body).encode()
        request.content = io.BytesIO(content)
        if authorization is not None:
            request.requestHeaders.setRawHeaders(b"authorization", [authorization.encode()])
        elif role is not None:
            header = f"Bearer {self.tokens[role]}".encode()
            request.requestHeaders.setRawHeaders(b"authorization", [header])
        resource = getChildForRequest(self.site.resource, request)
        result = resource.render(request)
        headers = {
            k.decode().lower(): v[-1].decode()
            for k, v in request.responseHeaders.getAllRawHeaders()
        }
        return Response(request.responseCode or 200, result, headers)
