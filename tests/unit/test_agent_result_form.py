"""The agent's result buttons → the Disposition (issue 15 §2, business-rules §6–§7), pure:
each button, each refusal naming its field, the callback time in the customer's zone (one
without DST, Asia/Almaty, and one with it, Europe/Berlin), the window and the horizon."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from campaigns.agent_results import (
    RESULTS,
    ResultContext,
    ResultError,
    disposition_from_form,
)
from campaigns.dispositions import Disposition, DispositionKind
from campaigns.settings import CallingWindow, CampaignSettings, RetrySettings

ALMATY = ("Asia/Almaty",)  # UTC+5 all year since 2024-03-01
NOW = datetime(2026, 3, 10, 5, 0, tzinfo=UTC)  # 10:00 in Almaty
KNOWN = {"НФ-00100", "НФ-00123"}
ALL_DAY = CallingWindow(start=time(0, 0), end=time(23, 59))


def context(
    zones: tuple[str, ...] = ALMATY,
    *,
    now: datetime = NOW,
    horizon: date = date(2026, 3, 10),
    settings: CampaignSettings | None = None,
) -> ResultContext:
    return ResultContext(
        order_id="НФ-00123", zones=zones, horizon_start=horizon, agent="1001", now=now,
        settings=settings or CampaignSettings(name="shop"), known_order=KNOWN.__contains__,
    )  # fmt: skip


def given(form: dict[str, Any], ctx: ResultContext | None = None) -> Disposition:
    return disposition_from_form(form, ctx or context())


def refused(form: dict[str, Any], field: str, ctx: ResultContext | None = None) -> str:
    with pytest.raises(ResultError) as caught:
        given(form, ctx)
    assert caught.value.field == field, str(caught.value)
    assert str(caught.value).startswith(f"{field}: ")
    return str(caught.value)


# ---- the plain buttons ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "kind"),
    [("confirmed", DispositionKind.CONFIRMED), ("no_answer", DispositionKind.NO_ANSWER),
     ("consult", DispositionKind.CONSULT)],
)  # fmt: skip
def test_rule_7_plain_buttons_take_an_optional_comment(result: str, kind: DispositionKind) -> None:
    assert given({"result": result}) == Disposition(kind)
    assert given({"result": result, "comment": "  перезвонит сама  "}) == Disposition(
        kind, comment="перезвонит сама"
    )


def test_the_buttons_are_the_manuals_six() -> None:
    assert set(RESULTS) == {"confirmed", "callback", "no_answer", "invalid", "refused", "consult"}


@pytest.mark.parametrize("result", [None, "", "CONFIRMED", "spam", 1, ["confirmed"]])
def test_an_unknown_result_is_refused_naming_result(result: object) -> None:
    assert "one of confirmed, callback" in refused({"result": result}, "result")


def test_a_field_the_button_does_not_take_is_refused_naming_it() -> None:
    refused({"result": "confirmed", "mine": True}, "mine")
    refused({"result": "consult", "problem": "Дубль"}, "problem")
    refused({"result": "callback", "at": "2026-03-10T15:00", "owner": "1002"}, "owner")


@pytest.mark.parametrize(
    ("comment", "why"),
    [
        (7, "a text, got int"),
        ("x" * 1001, "at most 1000 characters, got 1001"),
        ("звонок\x07", "no control characters"),
        ("первая строка\nвторая", "no control characters"),
        ("строка\u2028строка", "no control characters"),
    ],
)
def test_a_bad_comment_is_refused_naming_comment(comment: object, why: str) -> None:
    assert why in refused({"result": "confirmed", "comment": comment}, "comment")


def test_texts_may_be_in_any_script() -> None:
    for text in ("Қоңырау шалыңыз", "客户稍后回电", "x" * 1000):
        assert given({"result": "consult", "comment": text}).comment == text


# ---- «В работе»: the callback -----------------------------------------------------------


def test_rule_7_a_callback_is_the_customers_wall_time_in_the_orders_first_zone() -> None:
    d = given({"result": "callback", "at": "2026-03-10T15:30", "comment": "после работы"})
    assert d.kind is DispositionKind.CALLBACK
    assert d.callback_at == datetime(2026, 3, 10, 10, 30, tzinfo=UTC)
    assert (d.owner, d.comment) == (None, "после работы")
    assert given({"result": "callback", "at": "2026-03-10T15:30:00"}).callback_at == d.callback_at
    seconds = given({"result": "callback", "at": "2026-03-10T15:30:07"}).callback_at
    assert seconds is not None and d.callback_at is not None
    assert seconds - d.callback_at == timedelta(seconds=7)  # a picker with step=1 sends them


def test_rule_7_mine_makes_the_callback_the_signed_in_agents_own() -> None:
    assert given({"result": "callback", "at": "2026-03-10T15:30", "mine": True}).owner == "1001"
    assert given({"result": "callback", "at": "2026-03-10T15:30", "mine": False}).owner is None
    refused({"result": "callback", "at": "2026-03-10T15:30", "mine": "true"}, "mine")


def test_a_callback_in_the_past_is_refused_with_the_customers_time_now() -> None:
    message = refused({"result": "callback", "at": "2026-03-10T09:59"}, "at")
    assert message == ("at: 10.03.2026 09:59 is in the past: the customer's time now is "
                       "10.03.2026 10:00 (Asia/Almaty)")  # fmt: skip
    refused({"result": "callback", "at": "2026-03-10T10:00"}, "at")  # now is not ahead


@pytest.mark.parametrize("at", ["2026-03-10T20:30", "2026-03-10T19:00", "2026-03-11T09:59"])
def test_rule_4_a_callback_outside_the_calling_window_is_refused_with_the_reason(at: str) -> None:
    message = refused({"result": "callback", "at": at}, "at")
    assert message == f"at: {at[-5:]} is outside the calling window 10:00–19:00 (Asia/Almaty)"


def test_rule_4_the_window_edges_are_inside_at_start_and_outside_at_end() -> None:
    assert given({"result": "callback", "at": "2026-03-11T10:00"}).callback_at is not None
    assert given({"result": "callback", "at": "2026-03-10T18:59"}).callback_at is not None


def test_rule_4_a_callback_must_be_inside_the_window_in_every_zone_of_the_order() -> None:
    ctx = context(("Asia/Almaty", "Europe/Moscow"))  # Moscow is two hours behind
    message = refused({"result": "callback", "at": "2026-03-10T11:30"}, "at", ctx)
    assert message == ("at: 11:30 (Asia/Almaty) is 09:30 in Europe/Moscow, outside the "
                       "calling window 10:00–19:00 there")  # fmt: skip
    assert given({"result": "callback", "at": "2026-03-10T12:00"}, ctx).callback_at == datetime(
        2026, 3, 10, 7, 0, tzinfo=UTC
    )


def test_rule_4_a_callback_on_a_day_without_calls_is_refused_naming_the_day() -> None:
    window = CallingWindow(weekdays=frozenset(range(5)), holidays=frozenset({date(2026, 3, 11)}))
    ctx = context(settings=CampaignSettings(window=window))
    holiday = refused({"result": "callback", "at": "2026-03-11T12:00"}, "at", ctx)
    assert holiday == "at: 11.03.2026 is a holiday with no calls (Asia/Almaty)"
    ctx = context(now=datetime(2026, 3, 13, 5, 0, tzinfo=UTC), horizon=date(2026, 3, 13),
                  settings=CampaignSettings(window=window))  # fmt: skip
    saturday = refused({"result": "callback", "at": "2026-03-14T12:00"}, "at", ctx)
    assert saturday == "at: 14.03.2026 is a Saturday, not a calling day (Asia/Almaty)"


def test_rule_5_a_callback_past_the_calling_days_is_refused_naming_the_last_day() -> None:
    """The order arrived 10.03; three calling days: 10, 11 and 12 March (local dates)."""
    assert given({"result": "callback", "at": "2026-03-12T18:59"}).callback_at is not None
    message = refused({"result": "callback", "at": "2026-03-13T10:00"}, "at")
    assert message == (
        "at: 13.03.2026 10:00 is past the calling horizon: the order is called "
        "until 12.03.2026 (3 calling days from 10.03.2026, Asia/Almaty)"
    )
    one_day = CampaignSettings(retry=RetrySettings(calling_days=1))
    refused({"result": "callback", "at": "2026-03-11T12:00"}, "at", context(settings=one_day))


def test_a_callback_time_follows_the_zones_summer_time_europe_berlin() -> None:
    ctx = context(("Europe/Berlin",), now=datetime(2026, 3, 27, 8, 0, tzinfo=UTC),
                  horizon=date(2026, 3, 27))  # fmt: skip
    winter = given({"result": "callback", "at": "2026-03-28T10:00"}, ctx).callback_at
    summer = given({"result": "callback", "at": "2026-03-29T10:00"}, ctx).callback_at
    assert winter == datetime(2026, 3, 28, 9, 0, tzinfo=UTC)  # CET, UTC+1
    assert summer == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)  # CEST, UTC+2


def test_a_wall_time_skipped_or_repeated_by_a_clock_change_is_refused() -> None:
    all_day = CampaignSettings(window=ALL_DAY)
    spring = context(("Europe/Berlin",), now=datetime(2026, 3, 28, 12, 0, tzinfo=UTC),
                     horizon=date(2026, 3, 28), settings=all_day)  # fmt: skip
    assert refused({"result": "callback", "at": "2026-03-29T02:30"}, "at", spring) == (
        "at: 29.03.2026 02:30 does not exist: the clocks move forward over it in "
        "Europe/Berlin; choose another time"
    )
    autumn = context(("Europe/Berlin",), now=datetime(2026, 10, 24, 12, 0, tzinfo=UTC),
                     horizon=date(2026, 10, 24), settings=all_day)  # fmt: skip
    assert "happens twice: the clocks go back" in refused(
        {"result": "callback", "at": "2026-10-25T02:30"}, "at", autumn
    )
    assert given({"result": "callback", "at": "2026-10-25T03:30"}, autumn).callback_at == (
        datetime(2026, 10, 25, 2, 30, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    ("at", "why"),
    [
        (None, "required"),
        ("", "required"),
        (1773140000, "a text, got int"),
        ("2026-03-10 15:30", "YYYY-MM-DDTHH:MM without an offset"),
        ("2026-03-10T15:30+05:00", "YYYY-MM-DDTHH:MM without an offset"),
        ("2026-03-10T15:30:3", "YYYY-MM-DDTHH:MM without an offset"),
        ("10.03.2026 15:30", "YYYY-MM-DDTHH:MM without an offset"),
        ("２０２６-03-10T15:30", "YYYY-MM-DDTHH:MM without an offset"),  # fullwidth digits
        ("2026-02-30T15:30", "no such date or time"),
        ("2026-03-10T25:30", "no such date or time"),
    ],
)
def test_a_malformed_callback_time_is_refused_naming_at(at: object, why: str) -> None:
    assert why in refused({"result": "callback", "at": at}, "at")


# ---- «Невалид» --------------------------------------------------------------------------


@pytest.mark.parametrize("problem", ["Невалидный номер", "Обратная связь"])
def test_rule_6_invalid_takes_the_manuals_problem(problem: str) -> None:
    assert given({"result": "invalid", "problem": problem, "comment": "не клиент"}) == (
        Disposition(DispositionKind.INVALID, reason=problem, comment="не клиент")
    )


def test_rule_6_a_duplicate_names_the_order_it_duplicates_in_the_comment() -> None:
    d = given({"result": "invalid", "problem": "Дубль", "duplicate_of": "НФ-00100",
               "comment": "тот же заказ"})  # fmt: skip
    assert d == Disposition(DispositionKind.INVALID, reason="Дубль",
                            comment="дубль к заказу №НФ-00100, тот же заказ")  # fmt: skip


@pytest.mark.parametrize(
    ("form", "field", "why"),
    [
        ({"problem": "Спам"}, "problem", "one of Невалидный номер, Дубль, Обратная связь"),
        ({}, "problem", "one of"),
        ({"problem": "Дубль"}, "duplicate_of", "required with problem 'Дубль'"),
        ({"problem": "Дубль", "duplicate_of": "НФ-00123"}, "duplicate_of", "cannot duplicate"),
        ({"problem": "Дубль", "duplicate_of": "НФ-99999"}, "duplicate_of", "no order 'НФ-99999'"),
        ({"problem": "Дубль", "duplicate_of": 100}, "duplicate_of", "a text, got int"),
        ({"problem": "Дубль", "duplicate_of": "НФ\x00"}, "duplicate_of", "no control"),
        ({"problem": "Обратная связь", "duplicate_of": "НФ-00100"}, "duplicate_of", "only with"),
    ],
)
def test_a_bad_invalid_result_is_refused_naming_the_field(
    form: dict[str, Any], field: str, why: str
) -> None:
    assert why in refused({"result": "invalid", **form}, field)


# ---- «Отказ» ----------------------------------------------------------------------------


def test_rule_6_a_refusal_needs_a_problem_from_the_campaigns_list_and_a_reason() -> None:
    d = given({"result": "refused", "problem": "Передумал", "reason": "уезжает за границу"})
    assert d == Disposition(DispositionKind.REFUSED, reason="Передумал",
                            comment="уезжает за границу")  # fmt: skip
    own = context(settings=CampaignSettings(refusal_problems=("Дорого", "Другое")))
    assert given({"result": "refused", "problem": "Дорого", "reason": "дорого"}, own).reason == (
        "Дорого"
    )
    refused({"result": "refused", "problem": "Передумал", "reason": "x"}, "problem", own)


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"reason": "дорого"}, "problem"),
        ({"problem": "передумал", "reason": "дорого"}, "problem"),
        ({"problem": "Передумал"}, "reason"),
        ({"problem": "Передумал", "reason": "   "}, "reason"),
        ({"problem": "Передумал", "reason": ["дорого"]}, "reason"),
        ({"problem": "Передумал", "reason": "x" * 1001}, "reason"),
    ],
)
def test_seed_002_a_refusal_without_its_problem_or_reason_is_refused(
    form: dict[str, Any], field: str
) -> None:
    refused({"result": "refused", **form}, field)
