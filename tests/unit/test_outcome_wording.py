"""The outcome texts, spelled once in campaigns/wording.py, reach the CRM exactly as the
manuals word them: each path that writes an outcome, with its full comment and problem."""

from __future__ import annotations

import json

import pytest
from test_dispatcher import T0, make, order
from test_lifecycle import admitted, call, outcomes, utc

from campaigns import lifecycle
from campaigns.calls import CallResult
from campaigns.dispositions import Disposition, DispositionKind
from campaigns.orders import Order
from campaigns.outcomes import DEFAULT_CRM_MAPPING, Outcome, OutcomeKind
from campaigns.screening import Screening, Verdict
from campaigns.settings import CampaignSettings
from dialer.storage.orders import _payload

START = utc(2026, 3, 10, 9, 0)  # 12:00 Moscow


def answered() -> lifecycle.OrderState:
    return call(admitted(START), CallResult.ANSWERED, START).state


def after(disposition: Disposition) -> Outcome:
    [outcome] = outcomes(
        lifecycle.on_disposition(answered(), disposition, START, CampaignSettings())
    )
    return outcome


def test_rule_6_dispositions_are_worded_as_in_the_manuals() -> None:
    confirmed = after(Disposition(DispositionKind.CONFIRMED, comment="курьер к 18"))
    assert confirmed.comment == "10.03 - подтвержден, курьер к 18"
    refused = after(Disposition(DispositionKind.REFUSED, reason="Передумал"))
    assert (refused.comment, refused.problem) == ("10.03 - отказ: Передумал", "Передумал")
    invalid = after(Disposition(DispositionKind.INVALID))
    assert (invalid.comment, invalid.problem) == ("10.03 - невалид", "Невалидный номер")
    callback = after(Disposition(DispositionKind.CALLBACK, callback_at=utc(2026, 3, 10, 12, 0)))
    assert (callback.comment, callback.problem) == (
        "10.03 - перезвонить 10.03 15:00",
        "Нужно перезвонить",
    )


def test_rule_5_call_results_are_worded_as_in_the_manuals() -> None:
    [dead] = outcomes(call(admitted(START), CallResult.INVALID_NUMBER, START))
    assert (dead.comment, dead.problem) == ("10.03 - номер не существует", "Невалидный номер")
    [busy] = outcomes(call(admitted(START), CallResult.BUSY, START))
    assert (busy.comment, busy.problem) == ("10.03 - не отвечает-1, занято", "Не отвечает")
    [silent] = outcomes(call(admitted(START), CallResult.NO_ANSWER, START))
    assert silent.comment == "10.03 - не отвечает-1"


def test_rule_5_the_final_no_answer_says_nedozvon() -> None:
    state, now, written = admitted(START), START, []
    while state.phase is lifecycle.Phase.QUEUED:
        assert state.due_at is not None
        now = max(now, state.due_at)
        t = call(state, CallResult.NO_ANSWER, now)
        written += outcomes(t)
        state = t.state
    final = written[-1]
    assert final.comment.endswith(f" - не отвечает-{final.attempt_no}, недозвон")
    assert final.problem == "Не отвечает"


@pytest.mark.parametrize(
    ("verdict", "problem", "text"),
    [
        (Verdict.INVALID, "Невалидный номер", "невалидный номер"),
        (Verdict.SPAM, "Спам", "спам"),
        (Verdict.CONSULT, "Консультация", "номер вне стран кампании"),
    ],
)
def test_rule_3_screening_refusals_are_worded_as_in_the_manuals(
    verdict: Verdict, problem: str, text: str
) -> None:
    def screen(o: Order, now: object) -> Screening:
        return Screening(verdict, "+7" + o.phone[-10:], ("Europe/Moscow",), o.phone)

    d, _, store, _ = make(screen=screen)
    d.admit([order("1")], T0)
    [outcome] = store.outcomes
    assert (outcome.problem, outcome.comment) == (problem, f"10.03 - {text}")


def test_rule_3_a_duplicate_names_the_kept_order() -> None:
    d, _, store, _ = make()
    d.admit([order("1", 0), order("2", 1)], T0)
    [outcome] = [o for o in store.outcomes if o.kind is OutcomeKind.DUPLICATE]
    assert (outcome.problem, outcome.comment) == ("Дубль", "10.03 - дубль к заказу №1")


def test_the_crm_payload_says_whether_a_call_was_made() -> None:
    fields = DEFAULT_CRM_MAPPING[OutcomeKind.NO_ANSWER]
    [made] = outcomes(call(admitted(START), CallResult.NO_ANSWER, START))
    assert json.loads(_payload(made, fields))["call"] == "совершался"
    refused = after(Disposition(DispositionKind.REFUSED, reason="Передумал"))
    assert json.loads(_payload(refused._replace(call_made=False), fields))["call"] == (
        "не совершался"
    )
