"""The service's HTTP edge on twisted.web: the CRM's signed order intake and /healthz.

Thin handlers: parse, call the service, serialise. ``POST /intake`` takes the CRM's push
(``crm_adapter.http_json.IntakeHandler``: HMAC signature, timestamp, event id, body limits)
and answers 200 ``{"received": N, "admitted": K}`` or the handler's 4xx with
``{"error": "<message naming the field>"}``, or 503 when the database is down (nothing
admitted; the same event may be sent again), or, for a failure nobody foresaw, a JSON 500
with its traceback in the service log. ``GET /healthz`` answers the service's health
as JSON, 200 when it can dial and 503 when it cannot. ``GET /`` is the ops dashboard
(``dialer/web/static/dashboard/``, plain HTML+JS polling the API; its files under
``/static/``). The ops API (``/api``, see
``dialer.web.api``) and ``/metrics`` are further children given by the composition root.

This module never imports ``twisted.internet.reactor``: the composition root installs the
asyncio reactor and passes it to ``listen``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from twisted.internet.interfaces import IListeningPort
from twisted.web.resource import Resource
from twisted.web.server import Site

from campaigns.orders import Order
from crm_adapter.errors import IntakeError
from crm_adapter.http_json import IntakeHandler, intake_error_body
from dialer.storage.errors import DatabaseUnavailableError
from dialer.web.campaigns_page import CampaignsPage
from dialer.web.pages import CSS, HTML, JS, StaticPages
from dialer.web.wallboard import WallboardResource

Accept = Callable[[list[Order]], int]
Health = Callable[[], tuple[bool, Mapping[str, Any]]]
_OK, _NOT_FOUND, _INTERNAL, _UNAVAILABLE = 200, 404, 500, 503
log = logging.getLogger("dialer.web")


class IntakeResource(Resource):
    """``POST /intake``: the CRM pushes orders; ``accept`` admits them (and wakes dispatch)."""

    isLeaf = True

    def __init__(
        self, handler: IntakeHandler | None, accept: Accept, clock: Callable[[], datetime]
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._handler = handler
        self._accept = accept
        self._clock = clock

    def render_POST(self, request: Any) -> bytes:
        request.setHeader(b"content-type", b"application/json; charset=utf-8")
        if self._handler is None:
            request.setResponseCode(_UNAVAILABLE)
            return _json({"error": "intake is off: set service.intake_secret_env or _file"})
        body = request.content.read() if request.content is not None else b""
        headers = _headers(request)
        try:
            orders = self._handler.handle(body, headers, self._clock())
        except IntakeError as exc:
            request.setResponseCode(exc.status)
            return intake_error_body(exc)
        try:
            admitted = self._accept(orders)
        except Exception as exc:
            self._handler.release(headers)  # the CRM's resend must not be a "replay"
            return _admission_failed(request, exc)
        return _json({"received": len(orders), "admitted": admitted})


def _admission_failed(request: Any, exc: Exception) -> bytes:
    """503 while the database is down; any other failure is a bug: a JSON 500 for the CRM
    (never twisted's HTML page) and its traceback in the service log. A resend is safe: a
    known order is never admitted twice."""
    if isinstance(exc, DatabaseUnavailableError):
        request.setResponseCode(_UNAVAILABLE)
        return _json({"error": "database unavailable: nothing admitted; push again later"})
    log.exception("intake: admitting a push failed")
    request.setResponseCode(_INTERNAL)
    why = f"intake failed ({type(exc).__name__}, see the service log)"
    return _json({"error": f"{why}; push again: orders already admitted are not admitted twice"})


class HealthResource(Resource):
    """``GET /healthz``: 200 and the service's state when it can dial, else 503."""

    isLeaf = True

    def __init__(self, health: Health) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._health = health

    def render_GET(self, request: Any) -> bytes:
        healthy, state = self._health()
        request.setHeader(b"content-type", b"application/json; charset=utf-8")
        request.setResponseCode(_OK if healthy else _UNAVAILABLE)
        return _json(dict(state))


_DASHBOARD_ASSETS = {  # one line per file of static/dashboard/
    "index.html": HTML,
    "dashboard.js": JS,
    "dashboard.css": CSS,
    "supervise.js": JS,
    "reports.js": JS,
    "recordings.js": JS,
    "why.js": JS,
}


class DashboardResource(Resource):
    """``GET /`` (the ops dashboard page; a supervisor signs in, it polls ``/api/v1``)
    and ``GET /static/NAME`` (its files), both with the pages' strict policy."""

    isLeaf = True

    def __init__(self, pages: StaticPages, *, under_static: bool = False) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._pages = pages
        self._prefix = ["static"] if under_static else []

    def render_GET(self, request: Any) -> bytes:
        segments = [s.decode("utf-8", "replace") for s in request.postpath]
        page = self._pages.answer(request, self._prefix + segments)
        if page is None or (not self._prefix and segments not in ([], [""])):
            request.setResponseCode(_NOT_FOUND)
            request.setHeader(b"content-type", b"application/json; charset=utf-8")
            return _json({"error": f"no such path: {request.path.decode('utf-8', 'replace')}"})
        return page


class _NotFound(Resource):
    """Any other path: 404 with a JSON error."""

    isLeaf = True

    def render(self, request: Any) -> bytes:
        request.setResponseCode(_NOT_FOUND)
        request.setHeader(b"content-type", b"application/json; charset=utf-8")
        return _json({"error": f"no such path: {request.path.decode('utf-8', 'replace')}"})


class _Root(Resource):
    def getChild(self, path: bytes, request: Any) -> Resource:
        del path, request
        return _NotFound()  # type: ignore[no-untyped-call]


def build_site(
    reactor: Any,
    handler: IntakeHandler | None,
    accept: Accept,
    health: Health,
    clock: Callable[[], datetime],
    *,
    extra: Mapping[bytes, Resource] | None = None,
) -> Site:
    """The site: ``/`` (the dashboard) and ``/static/`` (its files), ``/intake``,
    ``/healthz`` and ``extra`` children (``api``, ``metrics``)."""
    root = _Root()  # type: ignore[no-untyped-call]
    dashboard = StaticPages("dashboard", _DASHBOARD_ASSETS)
    children: dict[bytes, Any] = {
        b"": DashboardResource(dashboard),
        b"static": DashboardResource(dashboard, under_static=True),
        b"intake": IntakeResource(handler, accept, clock),
        b"healthz": HealthResource(health),
        b"wallboard": WallboardResource(),  # the big screen (issue 19)
        b"campaigns": CampaignsPage(),  # the campaign editor (issue 21)
        **(extra or {}),
    }
    for path, child in children.items():
        root.putChild(path, child)
    # The site speaks JSON only: twisted's own form parsing of POST bodies answered a bad
    # multipart body with an empty 400 and raised on a Content-Type holding "\x85".
    site: Site = Site(root, reactor=reactor, parsePOSTFormSubmission=False)  # type: ignore[no-untyped-call]
    site.displayTracebacks = False
    return site


def listen(reactor: Any, site: Site, host: str, port: int) -> IListeningPort:
    """Start serving ``site`` on ``host:port`` (0: any free port; see ``getHost().port``)."""
    listening: IListeningPort = reactor.listenTCP(port, site, interface=host)
    return listening


def _headers(request: Any) -> dict[str, str]:
    return {
        name.decode("latin-1"): values[-1].decode("latin-1")
        for name, values in request.requestHeaders.getAllRawHeaders()
    }


def _json(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")
