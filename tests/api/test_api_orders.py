"""Orders: search, history with recordings, dispositions, requeue, cancel, intake."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from api_harness import Dialer


def test_search_by_phone_normalises_the_number(dialer: Dialer) -> None:
    dialer.admit("o1", phone="+79165830421")
    dialer.admit("o2", phone="+79165830422")
    for phone in ("8 (916) 583-04-21", "+7 916 583 04 21", "79165830421"):
        found = dialer.call("GET", "/api/v1/orders", query={"phone": phone}).json["orders"]
        assert [o["id"] for o in found] == ["o1"]
    assert dialer.call("GET", "/api/v1/orders", query={"id": "o2"}).json["orders"][0]["id"] == "o2"


@pytest.mark.parametrize(
    ("query", "field"), [({"phone": "12"}, "phone"), ({"limit": "0"}, "limit"),
                         ({"limit": "x"}, "limit")]
)  # fmt: skip
def test_bad_search_queries_are_400_naming_the_field(
    dialer: Dialer, query: dict[str, str], field: str
) -> None:
    response = dialer.call("GET", "/api/v1/orders", query=query)
    assert (response.status, response.json["field"]) == (400, field)


def test_one_order_shows_its_attempts_with_recordings_and_outcomes(dialer: Dialer) -> None:
    dialer.admit("o1")
    attempt = dialer.answer("o1", recording="/var/spool/asterisk/monitor/o1.wav")
    response = dialer.call("POST", "/api/v1/orders/o1/disposition", body={"kind": "confirmed"})
    assert response.status == 200
    order = dialer.call("GET", "/api/v1/orders/o1").json
    assert order["phase"] == "done"
    assert order["outcome"] == "confirmed"
    assert [(a["id"], a["result"], a["recording"]) for a in order["attempts"]] == [
        (attempt, "answered", "/var/spool/asterisk/monitor/o1.wav")
    ]
    assert [o["kind"] for o in order["outcomes"]] == ["confirmed"]
    assert dialer.call("GET", "/api/v1/orders/nope").status == 404


def test_rule_refusal_needs_a_reason_and_callback_needs_a_time(dialer: Dialer) -> None:
    dialer.admit("o1")
    dialer.answer("o1")
    url = "/api/v1/orders/o1/disposition"
    for body, field in [
        ({}, "kind"), ({"kind": "maybe"}, "kind"), ({"kind": "refused"}, "reason"),
        ({"kind": "refused", "reason": "  "}, "reason"), ({"kind": "callback"}, "at"),
        ({"kind": "callback", "at": "tomorrow"}, "at"),
        ({"kind": "callback", "at": "2026-03-11T12:00:00"}, "at"),
    ]:  # fmt: skip
        response = dialer.call("POST", url, body=body, role="crm")
        assert (response.status, response.json.get("field")) == (400, field), body
    assert dialer.call("POST", url, raw=b"[1,", role="crm").json["field"] == "body"
    response = dialer.call("POST", url, body={"kind": "refused", "reason": "Передумал"}, role="crm")
    assert response.status == 200
    assert response.json["outcomes"][-1]["problem"] == "Передумал"


def test_a_callback_puts_the_order_back_at_the_time(dialer: Dialer) -> None:
    dialer.admit("o1")
    dialer.answer("o1")
    at = (dialer.now + timedelta(hours=2)).isoformat()
    body = {"kind": "callback", "at": at, "comment": "после обеда"}
    order = dialer.call("POST", "/api/v1/orders/o1/disposition", body=body).json
    assert order["phase"] == "queued"
    assert order["callback_at"] is not None
    assert order["outcomes"][-1]["kind"] == "callback"


def test_disposition_of_an_unknown_or_finished_order_is_404_or_409(dialer: Dialer) -> None:
    url = "/api/v1/orders/{}/disposition"
    assert dialer.call("POST", url.format("nope"), body={"kind": "confirmed"}).status == 404
    dialer.admit("o1")
    dialer.answer("o1")
    assert dialer.call("POST", url.format("o1"), body={"kind": "invalid"}).status == 200
    response = dialer.call("POST", url.format("o1"), body={"kind": "confirmed"})
    assert response.status == 409
    assert "done" in response.json["error"]


def test_requeue_makes_a_queued_order_due_now(dialer: Dialer) -> None:
    dialer.admit("o1")
    dialer.answer("o1")
    later = (dialer.now + timedelta(hours=3)).isoformat()
    dialer.call("POST", "/api/v1/orders/o1/disposition", body={"kind": "callback", "at": later})
    wakes = dialer.wakes
    order = dialer.call("POST", "/api/v1/orders/o1/requeue").json
    assert order["next_due_at"] == dialer.now.isoformat()
    assert dialer.wakes > wakes
    dialer.call("POST", "/api/v1/orders/o1/cancel")
    assert dialer.call("POST", "/api/v1/orders/o1/requeue").status == 409
    assert dialer.call("POST", "/api/v1/orders/nope/requeue").status == 404


def test_cancel_ends_the_order_skipped_and_writes_nothing_back(dialer: Dialer) -> None:
    dialer.admit("o1")
    order = dialer.call("POST", "/api/v1/orders/o1/cancel").json
    assert (order["phase"], order["outcome"], order["outcomes"]) == ("done", "skipped", [])
    assert dialer.call("POST", "/api/v1/orders/o1/cancel").status == 409


def test_cancel_of_an_order_being_dialled_is_409(dialer: Dialer) -> None:
    dialer.admit("o1")
    dialer.sync.sync(dialer.now)
    assert dialer.dispatcher.dispatch(dialer.now) == 1
    assert dialer.call("POST", "/api/v1/orders/o1/cancel").status == 409


def test_the_crm_pushes_orders_with_its_token(dialer: Dialer) -> None:
    order = {"id": "p1", "phone": "+79165830421", "name": "Ирина", "product": "Крем",
             "created_at": dialer.now.isoformat(), "status": "Ожидает подтверждения",
             "state": "Новый"}  # fmt: skip
    response = dialer.call("POST", "/api/v1/intake", body={"orders": [order]}, role="crm")
    assert response.json == {"received": 1, "admitted": 1}
    bad = dialer.call("POST", "/api/v1/intake", body={"orders": [{"id": "x"}]}, role="crm")
    assert (bad.status, bad.json["field"]) == (400, "orders[0].phone")
    assert dialer.call("POST", "/api/v1/intake", body={"orders": 3}).json["field"] == "orders"


def test_a_1c_order_number_in_cyrillic_is_found_dispositioned_and_exported(dialer: Dialer) -> None:
    """Issue 13, item 1: ids of any script work through the API and the CSV export, as
    twisted hands them over (the request path decoded from percent-encoding to UTF-8)."""
    dialer.admit("НФ-00123")
    dialer.answer("НФ-00123")
    found = dialer.call("GET", "/api/v1/orders", query={"id": "НФ-00123"}).json["orders"]
    assert [o["id"] for o in found] == ["НФ-00123"]
    url = "/api/v1/orders/НФ-00123/disposition"
    assert dialer.call("POST", url, body={"kind": "confirmed"}).status == 200
    order = dialer.call("GET", "/api/v1/orders/НФ-00123").json
    assert (order["id"], order["phase"], order["outcome"]) == ("НФ-00123", "done", "confirmed")
    export = dialer.call("GET", "/api/v1/outcomes.csv", query={"from": "2026-03-10"})
    rows = list(csv.DictReader(io.StringIO(export.body.decode("utf-8"))))
    assert [(r["order_id"], r["kind"]) for r in rows] == [("НФ-00123", "confirmed")]
