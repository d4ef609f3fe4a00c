"""The agent's result buttons over raw HTTP through the real twisted.web site (issue 15 §2):
``POST /agent/orders/{id}/result`` ends in the right outcome row of the outbox with the CRM
fields of business-rules §6, exactly once; only the agent whose answered call awaits it may
give it; the session, CSRF and Origin checks; bad fields are 400 naming them and change
nothing. Also ``GET /agent/result-options`` and the ops route's two new kinds."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import replace
from datetime import time, timedelta
from typing import Any

import pytest
from agent_web import PASSWORD, PASSWORDS, Browser, answered_by, other, refusal
from api_harness import Dialer
from http_wire import WireResponse
from outbox_rows import outbox

from campaigns.settings import CallingWindow

ORDER = "НФ-00123"


def signed_in(dialer: Dialer, agent: str) -> Browser:
    browser = Browser(dialer)
    assert browser.login(agent, PASSWORDS[agent]).status == 200
    return browser


def give(
    browser: Browser, order_id: str, body: Any, *, csrf: str | None = "keep", **headers: str
) -> WireResponse:
    token = browser.csrf if csrf == "keep" else csrf
    sent = {"Content-Type": "application/json", **headers}
    if token is not None:
        sent["X-CSRF-Token"] = token
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    path = f"/agent/orders/{urllib.parse.quote(order_id)}/result"
    return browser.send("POST", path, raw, sent)


def written(dialer: Dialer, order_id: str) -> list[dict[str, Any]]:
    """The outbox payloads of ``order_id``, as the CRM will receive them."""
    return [json.loads(row.payload_json) for row in outbox(dialer.engine)
            if row.order_id == order_id]  # fmt: skip


def order(dialer: Dialer, order_id: str = ORDER) -> dict[str, Any]:
    reply = dialer.call("GET", "/api/v1/orders/" + order_id)
    assert reply.status == 200
    data: dict[str, Any] = reply.json
    return data


# the CRM fields of business-rules §6: kind, button, problem, «Звонок», comment
BUTTONS = [
    ({"result": "confirmed", "comment": "ждёт курьера"},
     ("confirmed", "В буфер", None, "совершался", "10.03 - подтвержден, ждёт курьера")),
    ({"result": "callback", "at": "2026-03-10T17:30", "comment": "после работы"},
     ("callback", "В работе", "Нужно перезвонить", "совершался",
      "10.03 - перезвонить 10.03 17:30, после работы")),
    ({"result": "no_answer", "comment": "сброс"},
     ("no_answer", "Недозвон", "Не отвечает", "совершался", "10.03 - не отвечает-1, сброс")),
    ({"result": "invalid", "problem": "Невалидный номер"},
     ("invalid", "Невалид", "Невалидный номер", "совершался", "10.03 - невалид")),
    ({"result": "invalid", "problem": "Обратная связь", "comment": "вопрос по заказу"},
     ("invalid", "Невалид", "Обратная связь", "совершался", "10.03 - невалид, вопрос по заказу")),
    ({"result": "refused", "problem": "Передумал", "reason": "уезжает за границу"},
     ("refused", "Отказ", "Передумал", "совершался",
      "10.03 - отказ: Передумал, уезжает за границу")),
    ({"result": "consult"},
     ("consult", "Консультация", None, "совершался", "10.03 - консультация")),
]  # fmt: skip


@pytest.mark.parametrize(("body", "crm"), BUTTONS, ids=lambda v: str(v)[:40])
def test_rule_7_each_button_ends_in_its_outcome_for_the_crm_exactly_once(
    browser: Browser, dialer: Dialer, body: dict[str, Any], crm: tuple[Any, ...]
) -> None:
    agent = answered_by(dialer, ORDER)
    browser = signed_in(dialer, agent)
    reply = give(browser, ORDER, body)
    assert reply.status == 200, reply.body
    assert reply.json() == order(dialer)
    [payload] = written(dialer, ORDER)
    fields = ("kind", "crm_status", "problem", "call", "comment")
    assert tuple(payload[f] for f in fields) == crm
    again = refusal(give(browser, ORDER, body), 409, "id")
    assert "a result is given once" in again["error"]
    assert len(written(dialer, ORDER)) == 1


def test_rule_7_a_callback_is_the_customers_time_and_mine_makes_it_the_agents_own(
    browser: Browser, dialer: Dialer
) -> None:
    agent = answered_by(dialer, ORDER)  # the customer is in Moscow (UTC+3)
    body = {"result": "callback", "at": "2026-03-10T17:30", "mine": True}
    reply = give(signed_in(dialer, agent), ORDER, body)
    assert reply.status == 200, reply.body
    now = order(dialer)
    assert (now["phase"], now["callback_owner"]) == ("queued", agent)
    assert now["next_due_at"] == now["callback_at"] == "2026-03-10T14:30:00+00:00"
    [payload] = written(dialer, ORDER)
    assert payload["callback_at"] == "2026-03-10T14:30:00+00:00"


def test_rule_5_the_agents_no_answer_is_retried_like_an_unanswered_call(
    browser: Browser, dialer: Dialer
) -> None:
    agent = answered_by(dialer, ORDER)
    assert give(signed_in(dialer, agent), ORDER, {"result": "no_answer"}).status == 200
    now = order(dialer)
    assert (now["phase"], now["customer_attempts"]) == ("queued", 1)
    assert now["next_due_at"] == (dialer.now + timedelta(seconds=120)).isoformat()


def test_rule_6_a_duplicate_names_the_order_it_duplicates_in_the_crm_comment(
    browser: Browser, dialer: Dialer
) -> None:
    agent = answered_by(dialer, ORDER)
    dialer.admit("НФ-00100", phone="+79165830422")
    body = {"result": "invalid", "problem": "Дубль", "duplicate_of": "НФ-00100"}
    assert give(signed_in(dialer, agent), ORDER, body).status == 200
    [payload] = written(dialer, ORDER)
    assert (payload["problem"], payload["comment"]) == (
        "Дубль", "10.03 - невалид, дубль к заказу №НФ-00100")  # fmt: skip


def test_another_agents_order_and_an_unknown_order_are_both_403_and_change_nothing(
    browser: Browser, dialer: Dialer
) -> None:
    agent = answered_by(dialer, ORDER)
    intruder = signed_in(dialer, other(agent))
    foreign = refusal(give(intruder, ORDER, {"result": "confirmed"}), 403, "id")
    unknown = refusal(give(intruder, "НФ-404", {"result": "confirmed"}), 403, "id")
    assert ORDER in foreign["error"]
    assert foreign["error"].replace(ORDER, "X") == unknown["error"].replace("НФ-404", "X")
    assert order(dialer)["phase"] == "awaiting_disposition"
    assert written(dialer, ORDER) == []


def test_an_order_not_awaiting_a_result_is_403_even_to_the_agent_dialling_it(
    browser: Browser, dialer: Dialer
) -> None:
    dialer.admit(ORDER)
    dialer.sync.sync(dialer.now)
    assert dialer.dispatcher.dispatch(dialer.now) == 1
    agent = order(dialer)["attempts"][-1]["agent"]
    refusal(give(signed_in(dialer, agent), ORDER, {"result": "confirmed"}), 403, "id")
    assert order(dialer)["phase"] == "dialing"


def test_without_a_session_401_without_or_with_a_wrong_csrf_token_403_foreign_origin_403(
    browser: Browser, dialer: Dialer
) -> None:
    agent = answered_by(dialer, ORDER)
    anonymous = Browser(dialer)
    refusal(give(anonymous, ORDER, {"result": "confirmed"}, csrf=None), 401, "cbd_agent")
    own = signed_in(dialer, agent)
    refusal(give(own, ORDER, {"result": "confirmed"}, csrf=None), 403, "X-CSRF-Token")
    refusal(give(own, ORDER, {"result": "confirmed"}, csrf="forged"), 403, "X-CSRF-Token")
    evil = give(own, ORDER, {"result": "confirmed"}, Origin="https://evil.example")
    refusal(evil, 403, "Origin")
    assert order(dialer)["phase"] == "awaiting_disposition"
    assert written(dialer, ORDER) == []
    assert give(own, ORDER, {"result": "confirmed"}, Origin="http://127.0.0.1").status == 200


@pytest.mark.parametrize(
    ("body", "status", "field", "says"),
    [
        (b"not json", 400, "body", "JSON object"),
        (b"x" * 1_000_001, 413, "body", "larger than"),
        ({}, 400, "result", "one of confirmed"),
        ({"result": "maybe"}, 400, "result", "one of confirmed"),
        ({"result": "confirmed", "comment": 5}, 400, "comment", "a text"),
        ({"result": "confirmed", "comment": "a\x00b"}, 400, "comment", "control"),
        ({"result": "confirmed", "comment": "я" * 1001}, 400, "comment", "at most 1000"),
        ({"result": "confirmed", "owner": "1002"}, 400, "owner", "not a field"),
        ({"result": "callback", "at": "2026-03-10T20:30"}, 400, "at",
         "at: 20:30 is outside the calling window 10:00–19:00 (Europe/Moscow)"),
        ({"result": "callback", "at": "2026-03-10T11:00"}, 400, "at", "is in the past"),
        ({"result": "callback", "at": "2026-03-13T12:00"}, 400, "at", "past the calling horizon"),
        ({"result": "callback", "at": "2026-03-10T17:30+03:00"}, 400, "at", "without an offset"),
        ({"result": "callback", "at": "2026-03-10T17:30", "mine": 1}, 400, "mine", "true or"),
        ({"result": "refused", "problem": "Передумал"}, 400, "reason", "required"),
        ({"result": "refused", "problem": "Спам", "reason": "x"}, 400, "problem", "one of"),
        ({"result": "invalid", "problem": "Дубль"}, 400, "duplicate_of", "required"),
        ({"result": "invalid", "problem": "Дубль", "duplicate_of": "НФ-404"}, 400,
         "duplicate_of", "no order 'НФ-404'"),
        ({"result": "invalid", "problem": "Дубль", "duplicate_of": ORDER}, 400,
         "duplicate_of", "cannot duplicate itself"),
    ],
)  # fmt: skip
@pytest.mark.usefixtures("browser")  # the agents' passwords
def test_bad_fields_are_refused_naming_them_and_change_nothing(
    dialer: Dialer, body: Any, status: int, field: str, says: str
) -> None:
    window = CallingWindow(start=time(10, 0), end=time(19, 0))
    dialer.dispatcher.use_settings(replace(dialer.settings, window=window))
    agent = answered_by(dialer, ORDER)  # 12:01 in Moscow
    reply = give(signed_in(dialer, agent), ORDER, body)
    assert says in refusal(reply, status, field)["error"]
    assert order(dialer)["phase"] == "awaiting_disposition"
    assert written(dialer, ORDER) == []


def test_the_route_takes_only_post_and_only_below_an_order(browser: Browser) -> None:
    browser.login("1001", PASSWORD)
    assert browser.get("/agent/orders/o1/result").status == 405
    assert browser.send("POST", "/agent/orders/o1", b"{}").status == 405
    assert browser.send("POST", "/agent/orders/o1/other", b"{}").status == 404
    assert browser.send("POST", "/agent/orders/result", b"{}").status == 405


def test_result_options_give_the_page_its_buttons_window_and_calling_days(
    browser: Browser, dialer: Dialer
) -> None:
    refusal(browser.get("/agent/result-options"), 401, "cbd_agent")
    browser.login("1001", PASSWORD)
    options = browser.get("/agent/result-options").json()
    assert options == {
        "refusal_problems": ["Передумал", "Не устроила цена", "Не устроила доставка",
                             "Купил в другом месте", "Нет в наличии", "Снято с производства",
                             "Другое"],
        "invalid_problems": ["Невалидный номер", "Дубль", "Обратная связь"],
        "window": {"start": "00:00", "end": "23:59"},
        "calling_days": 3,
    }  # fmt: skip
    changed = {"refusal_problems": ["Дорого", "Другое"], "window": {"start": "10:00"},
               "retry": {"calling_days": 2}}  # fmt: skip
    assert dialer.call("PATCH", "/api/v1/campaign/settings", body=changed).status == 200
    options = browser.get("/agent/result-options").json()
    assert options["refusal_problems"] == ["Дорого", "Другое"]
    assert (options["window"], options["calling_days"]) == ({"start": "10:00", "end": "23:59"}, 2)


def test_the_ops_disposition_route_takes_no_answer_and_consult(dialer: Dialer) -> None:
    answered_by(dialer, ORDER)
    path = f"/api/v1/orders/{ORDER}/disposition"
    bad = dialer.call("POST", path, role="crm", body={"kind": "consult", "reason": "x"})
    assert (bad.status, bad.json["field"]) == (400, "reason")
    reply = dialer.call("POST", path, role="crm", body={"kind": "no_answer"})
    assert (reply.status, reply.json["phase"]) == (200, "queued")
    queued = dialer.call("POST", path, role="crm", body={"kind": "no_answer"})
    assert queued.status == 409
    assert "no_answer is the verdict on an answered call" in queued.json["error"]
    done = dialer.call("POST", path, role="crm", body={"kind": "consult"})
    assert (done.status, done.json["outcome"]) == (200, "consult")
    assert [p["kind"] for p in written(dialer, ORDER)] == ["no_answer", "consult"]
