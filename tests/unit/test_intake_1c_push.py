"""``POST /intake`` as a 1C service pushes (issue 17 §3): a UTF-8 byte-order mark before the
JSON, the signature in upper-case hex under any-case header names, a Cyrillic order number;
and a signature that is wrong in any case is still 401 naming the header."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from twisted.web.test.requesthelper import DummyRequest

from campaigns.orders import Order
from crm_adapter.http_json import IntakeHandler
from crm_adapter.signing import SeenEvents, signature
from dialer.web.site import IntakeResource

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
SECRET = b"intake-secret-0123456789"
STAMP = int(NOW.timestamp())
BODY = b"\xef\xbb\xbf" + json.dumps(
    {"orders": [{"id": "НФ-00123", "phone": "+7 916 123-45-67", "name": "Татьяна",
                 "product": "Мака", "created_at": "2026-03-10T11:50:00+03:00",
                 "status": "Ожидает подтверждения", "state": "Новый"}]},
    ensure_ascii=False,
).encode()  # fmt: skip


def _post(sig: str) -> tuple[int, dict[str, object], list[str]]:
    taken: list[str] = []

    def accept(orders: list[Order]) -> int:
        taken.extend(o.id for o in orders)
        return len(orders)

    resource = IntakeResource(IntakeHandler(SECRET, SeenEvents()), accept, lambda: NOW)
    request = DummyRequest([b"intake"])
    request.method = b"POST"
    request.content = io.BytesIO(BODY)
    for name, value in (
        ("x-dialer-timestamp", str(STAMP)),
        ("X-DIALER-SIGNATURE", sig),
        ("X-Dialer-Event-Id", "%D0%9D%D0%A4-00123%3Apush-1"),
        ("Content-Type", "application/json; charset=utf-8"),
    ):
        request.requestHeaders.setRawHeaders(name.encode(), [value.encode()])
    body = resource.render(request)
    return request.responseCode or 200, json.loads(body), taken


def test_a_1c_push_with_bom_and_upper_case_hex_is_admitted() -> None:
    hexpart = signature(SECRET, STAMP, BODY).removeprefix("sha256=")
    status, answer, taken = _post("SHA256=" + hexpart.upper())
    assert (status, answer, taken) == (200, {"received": 1, "admitted": 1}, ["НФ-00123"])


def test_a_wrong_signature_in_upper_case_is_still_refused_naming_the_header() -> None:
    hexpart = signature(b"another-secret-of-enough-bytes", STAMP, BODY).removeprefix("sha256=")
    status, answer, taken = _post("sha256=" + hexpart.upper())
    assert status == 401 and taken == []
    assert answer == {"error": "X-Dialer-Signature does not match the body and timestamp"}
