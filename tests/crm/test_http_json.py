"""HTTP/JSON adapter: HMAC signing both ways, intake errors naming the field, paging, webhook."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from crm_backends import HttpBackend
from crm_servers import SECRET, HttpJsonCrm

from campaigns.orders import Order
from campaigns.settings import CampaignSettings
from crm_adapter.errors import (
    CrmPermanentError,
    CrmRejectedError,
    CrmUnavailableError,
    FinalRejectionError,
    IntakeError,
    ReplayedEventError,
    SignatureError,
    UnsendableRequestError,
)
from crm_adapter.http_json import IntakeHandler, intake_error_body
from crm_adapter.port import IntakeFilter
from crm_adapter.signing import (
    SeenEvents,
    from_header,
    header_text,
    signature,
    signed_headers,
    verify,
)
from crm_adapter.transport import HttpTransport

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
ORDER = {
    "id": "1143383", "phone": "+79198955054", "name": "Татьяна",
    "product": "AlcoBlocker", "created_at": "2026-03-10T11:50:00+03:00",
    "status": "Ожидает подтверждения", "state": "Новый", "source": "site",
}  # fmt: skip


def body_of(*orders: dict[str, object]) -> bytes:
    return json.dumps({"orders": list(orders)}, ensure_ascii=False).encode()


def handler() -> IntakeHandler:
    return IntakeHandler(SECRET, SeenEvents())


def signed(body: bytes, at: datetime = NOW, event: str = "evt-1") -> dict[str, str]:
    return signed_headers(SECRET, at, body, event) | {"Content-Type": "application/json"}


def test_signature_worked_example_of_the_docs() -> None:
    """docs/crm.md: the same value as `openssl dgst -sha256 -hmac` over "1767225600.{body}"."""
    assert signature(b"0123456789abcdef", 1767225600, b'{"orders":[]}') == (
        "sha256=24fb97aac020e00d059af1ba5e6f01907a1b577ec4d2bd2144b8640f5dc5c2e6"
    )


def test_intake_accepts_a_signed_push_and_parses_the_orders() -> None:
    body = body_of(ORDER)
    (order,) = handler().handle(body, signed(body), NOW)
    assert order == Order(
        id="1143383", phone="+79198955054", name="Татьяна", product="AlcoBlocker",
        created_at=datetime(2026, 3, 10, 8, 50, tzinfo=UTC), status="Ожидает подтверждения",
        state="Новый", source="site",
    )  # fmt: skip


@pytest.mark.parametrize(
    "missing", ["X-Dialer-Timestamp", "X-Dialer-Signature", "X-Dialer-Event-Id"]
)
def test_intake_names_a_missing_signing_header(missing: str) -> None:
    body = body_of(ORDER)
    headers = {k: v for k, v in signed(body).items() if k != missing}
    with pytest.raises(SignatureError, match=f"header {missing} is missing") as error:
        handler().handle(body, headers, NOW)
    assert error.value.status == 401


def test_intake_refuses_a_bad_signature() -> None:
    body = body_of(ORDER)
    headers = signed(body)
    tampered = body.replace(b"AlcoBlocker", b"AlcoBlockeR")
    with pytest.raises(SignatureError, match="does not match"):
        handler().handle(tampered, headers, NOW)
    other = signed_headers(b"another-secret-of-enough-bytes", NOW, body, "evt-1")
    with pytest.raises(SignatureError, match="does not match"):
        handler().handle(body, other, NOW)


def test_intake_refuses_a_timestamp_older_than_300_seconds() -> None:
    body = body_of(ORDER)
    handler().handle(body, signed(body, NOW - timedelta(seconds=300)), NOW)  # edge: accepted
    with pytest.raises(SignatureError, match="301 s away"):
        handler().handle(body, signed(body, NOW - timedelta(seconds=301)), NOW)
    with pytest.raises(SignatureError, match="away from our clock"):
        handler().handle(body, signed(body, NOW + timedelta(seconds=400)), NOW)


def test_intake_refuses_a_replayed_event_id_with_409() -> None:
    intake = handler()
    body = body_of(ORDER)
    intake.handle(body, signed(body), NOW)
    with pytest.raises(ReplayedEventError, match="evt-1") as error:
        intake.handle(body, signed(body, NOW + timedelta(seconds=5)), NOW + timedelta(seconds=5))
    assert error.value.status == 409
    intake.handle(body, signed(body, event="evt-2"), NOW)


def test_seen_events_forget_ids_older_than_twice_the_tolerance_and_stay_bounded() -> None:
    seen = SeenEvents(limit=3)
    seen.check_and_add("a", NOW)
    seen.check_and_add("a", NOW + timedelta(seconds=601))  # forgotten: its timestamp is stale
    for event in "bcde":
        seen.check_and_add(event, NOW + timedelta(seconds=602))
    assert len(seen) == 3


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone": None}, "orders[0].phone: required"),
        (
            {"created_at": "2026-03-10 11:50"},
            "orders[0].created_at: '2026-03-10 11:50' needs a UTC offset, e.g. +03:00",
        ),
        ({"created_at": "yesterday"}, "orders[0].created_at: 'yesterday' is not ISO 8601"),
        ({"prepaid": "yes"}, "orders[0].prepaid: expected true or false"),
        ({"id": ["x"]}, "orders[0].id: expected a string or an integer"),
        ({"name": 5}, "orders[0].name: expected a string"),
        (
            {"callback_at": "завтра в 15"},
            "orders[0].callback_at: 'завтра в 15' is not ISO 8601",
        ),
        (
            {"callback_at": "2026-03-11T15:00"},
            "orders[0].callback_at: '2026-03-11T15:00' needs a UTC offset, e.g. +03:00",
        ),
    ],
)
def test_intake_names_the_bad_field(change: dict[str, object], field: str) -> None:
    bad = body_of(ORDER | change)
    with pytest.raises(IntakeError) as error:
        handler().handle(bad, signed(bad), NOW)
    assert error.value.status == 400
    assert str(error.value) == field
    assert json.loads(intake_error_body(error.value)) == {"error": field}


def test_intake_names_the_index_of_the_bad_order() -> None:
    bad = body_of(ORDER, ORDER | {"product": None})
    with pytest.raises(IntakeError, match=r"^orders\[1\]\.product: required$"):
        handler().handle(bad, signed(bad), NOW)


def test_intake_refuses_what_is_not_a_json_order_list() -> None:
    for body, message in ((b"{", "not UTF-8 JSON"), (b'{"order": {}}', "orders: required")):
        with pytest.raises(IntakeError, match=message):
            handler().handle(body, signed(body), NOW)
    body = body_of(ORDER)
    with pytest.raises(IntakeError, match="Content-Type") as error:
        handler().handle(body, signed(body) | {"Content-Type": "text/plain"}, NOW)
    assert error.value.status == 415


def test_verify_compares_the_whole_signature() -> None:
    body = b"{}"
    headers = signed_headers(SECRET, NOW, body, "e")
    headers["X-Dialer-Signature"] = headers["X-Dialer-Signature"][:-1]
    with pytest.raises(SignatureError):
        verify(SECRET, headers, body, NOW)


def test_pull_follows_next_page_and_sends_the_campaign_filter(http_crm: HttpJsonCrm) -> None:
    backend = HttpBackend(http_crm, SECRET)
    for n in range(7):
        http_crm.orders[str(n)] = ORDER | {
            "id": str(n),
            "created_at": f"2026-03-10T0{n}:00:00+00:00",
        }
    intake = IntakeFilter.for_campaign(CampaignSettings(), page_size=3)
    assert [o.id for o in backend.adapter.fetch_waiting(intake)] == [str(n) for n in range(7)]
    gets = [path for method, path, _h, _b in http_crm.server.requests if method == "GET"]
    assert len(gets) == 3
    assert "exclude_source=Kaspi" in gets[0] and "page=3&limit=3" in gets[2]


def test_crm_refuses_requests_signed_with_another_secret(http_crm: HttpJsonCrm) -> None:
    backend = HttpBackend(http_crm, b"not-the-shared-secret-at-all!!")
    with pytest.raises(CrmRejectedError, match="401"):
        backend.adapter.read_status("1")


def test_outcome_post_carries_signature_event_id_and_idempotency_key(
    http_crm: HttpJsonCrm,
) -> None:
    from test_crm_contract import delivery  # noqa: PLC0415

    backend = HttpBackend(http_crm, SECRET)
    http_crm.orders["1"] = ORDER | {"id": "1"}
    backend.adapter.write_outcome(delivery("1", "1:42"))
    method, _path, headers, body = http_crm.server.requests[-1]
    assert method == "POST"
    assert headers["idempotency-key"] == headers["x-dialer-event-id"] == "1:42"
    verify(SECRET, headers, body, datetime.now(UTC))
    sent = json.loads(body)
    assert (sent["status"], sent["call"], sent["attempt_no"]) == ("Недозвон", "совершался", 4)


def test_a_crm_answering_503_or_refusing_connections_is_unavailable(
    http_crm: HttpJsonCrm,
) -> None:
    backend = HttpBackend(http_crm, SECRET)
    http_crm.orders["1"] = ORDER | {"id": "1"}
    http_crm.server.down = True
    with pytest.raises(CrmUnavailableError, match="503"):
        backend.adapter.read_status("1")
    http_crm.server.stop()
    with pytest.raises(CrmUnavailableError, match="refused"):
        backend.adapter.read_status("1")


def test_header_text_of_the_docs_example_and_plain_ascii_ids_unchanged() -> None:
    """docs/crm.md: НФ-00123:17 travels as %D0%9D%D0%A4-00123:17; 1143383:17 as it is."""
    assert header_text("НФ-00123:17") == "%D0%9D%D0%A4-00123:17"
    assert header_text("1143383:17") == "1143383:17"
    assert header_text("AB-12_x.y~z:3") == "AB-12_x.y~z:3"
    assert header_text("50%/a b") == "50%25%2Fa%20b"  # '%' itself is escaped: unambiguous
    for value in ("НФ-00123:17", "1143383:17", "50%/a b", "Қ-7:1", "😀:2"):
        assert from_header(header_text(value)) == value


@pytest.mark.parametrize("text", ["%D0", "%zz", "50%", "%FF%FE"])
def test_from_header_refuses_malformed_escapes(text: str) -> None:
    with pytest.raises(ValueError, match=r"hex digits|not UTF-8"):
        from_header(text)


def test_a_cyrillic_order_id_travels_percent_encoded_in_headers_and_as_is_in_the_body(
    http_crm: HttpJsonCrm,
) -> None:
    from test_crm_contract import delivery  # noqa: PLC0415

    backend = HttpBackend(http_crm, SECRET)
    http_crm.orders["НФ-00123"] = ORDER | {"id": "НФ-00123"}
    assert backend.adapter.write_outcome(delivery("НФ-00123", "НФ-00123:17")) is True
    _method, _path, headers, body = http_crm.server.requests[-1]
    assert headers["idempotency-key"] == headers["x-dialer-event-id"] == "%D0%9D%D0%A4-00123:17"
    sent = json.loads(body)
    assert (sent["order_id"], sent["event_id"]) == ("НФ-00123", "НФ-00123:17")
    assert "НФ-00123".encode() in body  # the body carries the id as UTF-8, not escaped
    assert verify(SECRET, headers, body, datetime.now(UTC)).event_id == "НФ-00123:17"


def test_a_redelivered_outcome_is_acknowledged_with_2xx_and_applied_once(
    http_crm: HttpJsonCrm,
) -> None:
    """docs/crm.md: a repeated Idempotency-Key / event id is acknowledged, not refused."""
    from test_crm_contract import delivery  # noqa: PLC0415

    backend = HttpBackend(http_crm, SECRET)
    http_crm.orders["НФ-00123"] = ORDER | {"id": "НФ-00123"}
    first = delivery("НФ-00123", "НФ-00123:17")
    assert backend.adapter.write_outcome(first) is True
    assert backend.adapter.write_outcome(first) is False  # acknowledged as a duplicate
    assert [a["event_id"] for a in http_crm.applied] == ["НФ-00123:17"]
    assert http_crm.duplicates == 1


def test_intake_decodes_a_percent_encoded_event_id_and_names_a_malformed_one() -> None:
    intake = handler()
    body = body_of(ORDER)
    intake.handle(body, signed(body, event="НФ-push-1"), NOW)
    assert signed(body, event="НФ-push-1")["X-Dialer-Event-Id"] == "%D0%9D%D0%A4-push-1"
    with pytest.raises(ReplayedEventError, match="НФ-push-1"):
        intake.handle(body, signed(body, event="НФ-push-1"), NOW)
    bad = signed(body) | {"X-Dialer-Event-Id": "%D0"}
    with pytest.raises(SignatureError, match=r"X-Dialer-Event-Id: .*not UTF-8") as error:
        intake.handle(body, bad, NOW)
    assert error.value.status == 401


def test_a_4xx_the_crm_calls_final_is_a_permanent_error_any_other_4xx_is_not(
    http_crm: HttpJsonCrm,
) -> None:
    from test_crm_contract import delivery  # noqa: PLC0415

    backend = HttpBackend(http_crm, SECRET)
    http_crm.orders["1"] = ORDER | {"id": "1"}
    http_crm.final.add("1")
    with pytest.raises(FinalRejectionError, match=r"422 \(final\)") as error:
        backend.adapter.write_outcome(delivery("1", "1:5"))
    assert isinstance(error.value, CrmPermanentError) and error.value.status == 422
    with pytest.raises(CrmRejectedError) as other:
        backend.adapter.write_outcome(delivery("2", "2:6"))  # 404, no "final"
    assert not isinstance(other.value, CrmPermanentError)


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("http://127.0.0.1:9/заказы", {}),  # not ASCII in the request line
        ("http://127.0.0.1:9/orders", {"Idempotency-Key": "НФ-1"}),  # not Latin-1
        ("http://127.0.0.1:9/orders", {"X-Note": "a\r\nX-Injected: 1"}),  # a line break
    ],
)
def test_what_http_client_cannot_send_is_an_unsendable_request(
    url: str, headers: dict[str, str]
) -> None:
    with pytest.raises(UnsendableRequestError, match="cannot be sent"):
        HttpTransport(timeout_s=1).request("POST", url, headers=headers, body=b"{}")


def test_a_push_carries_the_crms_callback_time_as_aware_utc() -> None:
    body = body_of(ORDER | {"callback_at": "2026-03-11T15:00:00+03:00"})
    (got,) = handler().handle(body, signed(body), NOW)
    assert got.callback_at == datetime(2026, 3, 11, 12, 0, tzinfo=UTC)
    plain = body_of(ORDER | {"callback_at": None})
    (none,) = handler().handle(plain, signed(plain, event="evt-2"), NOW)
    assert none.callback_at is None


def test_a_malformed_callback_in_a_status_read_is_logged_by_name_and_read_as_absent(
    http_crm: HttpJsonCrm, caplog: pytest.LogCaptureFixture
) -> None:
    backend = HttpBackend(http_crm, SECRET)
    http_crm.orders["НФ-7"] = ORDER | {"id": "НФ-7", "callback_at": "15:00"}
    with caplog.at_level("WARNING", logger="crm_adapter.card"):
        current = backend.adapter.read_status("НФ-7")
    assert (current.status, current.callback_at) == ("Ожидает подтверждения", None)
    assert "order НФ-7.callback_at: '15:00' is not ISO 8601" in caplog.text
