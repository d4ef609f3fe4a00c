"""``POST /intake`` when admission fails: while the database is down 503 naming the cause,
nothing admitted, and the CRM's resend of the same signed event is taken once the database
is back (not refused as a replay); any other failure a JSON 500, logged with its
traceback."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime

import pytest
from twisted.web.test.requesthelper import DummyRequest

from campaigns.orders import Order
from crm_adapter.http_json import IntakeHandler
from crm_adapter.signing import SeenEvents, signed_headers
from dialer.storage.errors import DatabaseUnavailableError
from dialer.web.site import IntakeResource

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
SECRET = b"intake-secret-0123456789"
BODY = json.dumps(
    {"orders": [{"id": "501", "phone": "+79161234567", "name": "Иван", "product": "Мака",
                 "created_at": "2026-03-10T08:55:00+00:00", "status": "Ожидает подтверждения"}]},
    ensure_ascii=False,
).encode()  # fmt: skip


class _Accept:
    def __init__(self) -> None:
        self.down = True
        self.taken: list[str] = []

    def __call__(self, orders: list[Order]) -> int:
        if self.down:
            raise DatabaseUnavailableError("connection refused")  # as the SQL store raises it
        self.taken += [o.id for o in orders]
        return len(orders)


def _post(resource: IntakeResource) -> tuple[int, dict[str, object]]:
    request = DummyRequest([b"intake"])
    request.method = b"POST"
    request.content = io.BytesIO(BODY)
    headers = signed_headers(SECRET, NOW, BODY, "event-1") | {"Content-Type": "application/json"}
    for name, value in headers.items():
        request.requestHeaders.setRawHeaders(name.encode(), [value.encode()])
    body = resource.render(request)
    return request.responseCode or 200, json.loads(body)


def test_a_push_while_the_database_is_down_is_503_and_its_resend_is_taken_later() -> None:
    accept = _Accept()
    resource = IntakeResource(IntakeHandler(SECRET, SeenEvents()), accept, lambda: NOW)
    status, answer = _post(resource)
    assert status == 503 and "database unavailable" in str(answer["error"])
    assert accept.taken == []
    accept.down = False
    assert _post(resource) == (200, {"received": 1, "admitted": 1})
    assert accept.taken == ["501"]
    assert _post(resource)[0] == 409  # a real replay is still refused


class _Broken:
    def __call__(self, orders: list[Order]) -> int:
        raise RuntimeError("a bug nobody foresaw")


def test_an_unforeseen_failure_is_a_json_500_and_its_traceback_is_in_the_service_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 13, item 8: not twisted's HTML "Processing Failed" page and a traceback on
    stderr only; the CRM gets JSON naming the failure and may push the same event again."""
    handler = IntakeHandler(SECRET, SeenEvents())
    resource = IntakeResource(handler, _Broken(), lambda: NOW)
    with caplog.at_level(logging.ERROR, logger="dialer.web"):
        status, answer = _post(resource)
    assert status == 500
    assert "RuntimeError" in str(answer["error"]) and "push again" in str(answer["error"])
    [record] = [r for r in caplog.records if r.name == "dialer.web"]
    assert record.exc_info is not None and "a bug nobody foresaw" in str(record.exc_info[1])
    accept = _Accept()
    accept.down = False
    assert _post(IntakeResource(handler, accept, lambda: NOW))[0] == 200  # not a "replay"
