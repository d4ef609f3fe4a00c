"""Business rules §2–§3 at the door: which orders are dialled at all, and why not."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from campaigns.orders import Order
from campaigns.screening import ScreeningRules, Verdict, screen
from campaigns.settings import NEVER_TOUCH_STATUSES, CampaignSettings
from campaigns.spam import default_spam_words
from campaigns.timezones import InMemoryNumbering

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
RULES = ScreeningRules(CampaignSettings(), default_spam_words())


def order(**changes: object) -> Order:
    base = Order(
        id="1143383",
        phone="+79198955054",
        name="Татьяна",
        product="AlcoBlocker - капли против алкоголизма",
        created_at=datetime(2026, 3, 10, 8, 0, tzinfo=UTC),
        region="Самарская обл",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_rule_2_an_order_waiting_for_confirmation_is_dialled_in_its_zone() -> None:
    s = screen(order(), RULES, NOW)
    assert (s.verdict, s.e164, s.zones) == (Verdict.DIAL, "+79198955054", ("Europe/Samara",))


@pytest.mark.parametrize(
    ("status", "state"), [("Подтвержден", "Новый"), ("Ожидает подтверждения", "В работе")]
)
def test_rule_2_only_status_and_state_of_the_campaign_enter_the_queue(
    status: str, state: str
) -> None:
    s = screen(order(status=status, state=state), RULES, NOW)
    assert s.verdict is Verdict.SKIP
    assert "not waiting for confirmation" in (s.reason or "")


def test_rule_2_kaspi_orders_are_excluded_by_source() -> None:
    assert screen(order(source="Kaspi"), RULES, NOW).verdict is Verdict.SKIP
    assert screen(order(source="site"), RULES, NOW).verdict is Verdict.DIAL


@pytest.mark.parametrize("status", NEVER_TOUCH_STATUSES)
def test_rule_2_never_touch_statuses_are_never_dialled(status: str) -> None:
    s = screen(order(status=status), RULES, NOW)
    assert s.verdict is Verdict.SKIP
    assert s.reason == f"never-touch status {status!r}"


def test_rule_2_the_never_touch_list_is_configuration() -> None:
    rules = replace(RULES, settings=replace(RULES.settings, never_touch_statuses=("Архив",)))
    assert screen(order(status="Архив"), rules, NOW).verdict is Verdict.SKIP
    other = screen(order(status="Корзина"), rules, NOW)
    assert other.reason == "not waiting for confirmation (Корзина / Новый)"


def test_rule_2_fully_prepaid_orders_are_never_touched() -> None:
    assert screen(order(prepaid=True), RULES, NOW).reason == "fully prepaid"


def test_rule_2_status_novy_of_a_previous_month_is_never_touched() -> None:
    rules = replace(RULES, settings=replace(RULES.settings, intake_statuses=("Новый",)))
    old = order(status="Новый", created_at=datetime(2026, 2, 28, 20, 0, tzinfo=UTC))
    assert screen(old, rules, NOW).reason == "status Новый of a previous month"
    assert screen(order(status="Новый"), rules, NOW).verdict is Verdict.DIAL


def test_rule_3_invalid_number_is_not_dialled() -> None:
    s = screen(order(phone="700000000000"), RULES, NOW)
    assert (s.verdict, s.reason, s.e164) == (Verdict.INVALID, "wrong_length", None)


@pytest.mark.parametrize("phone", ["+7 919 123-45-67", "8 919 234-56-78", "+7 701 123-45-67"])
def test_rule_3_an_ascending_run_number_is_dialled_not_refused_as_fake(phone: str) -> None:
    s = screen(order(phone=phone), RULES, NOW)
    assert (s.verdict, s.reason) == (Verdict.DIAL, None)


def test_rule_3_do_not_call_numbers_are_never_dialled() -> None:
    rules = replace(RULES, do_not_call=frozenset({"+79198955054"}))
    assert screen(order(phone="8 (919) 895-50-54"), rules, NOW).verdict is Verdict.DO_NOT_CALL


def test_rule_3_spam_name_is_not_dialled() -> None:
    s = screen(order(name="Мудак Иванович"), RULES, NOW)
    assert s.verdict is Verdict.SPAM


def test_rule_3_foreign_number_is_flagged_or_dialled_by_campaign_setting() -> None:
    ua = order(phone="+380687644638", region=None)
    assert screen(ua, RULES, NOW).verdict is Verdict.CONSULT
    dial = replace(RULES, settings=replace(RULES.settings, foreign_numbers="dial"))
    assert screen(ua, dial, NOW).verdict is Verdict.DIAL


def test_rule_4_a_dialled_foreign_number_is_called_in_its_countrys_zone() -> None:
    dial = replace(RULES, settings=replace(RULES.settings, foreign_numbers="dial"))
    brazil = screen(order(phone="+55 11 98765-4321", region=None), dial, NOW)
    assert (brazil.verdict, brazil.zones) == (Verdict.DIAL, ("America/Sao_Paulo",))


def test_rule_3_duplicate_identity_ignores_case_spaces_and_yo() -> None:
    a = screen(order(name="  Алёна  Иванова"), RULES, NOW)
    b = screen(order(name="алена иванова", phone="8 919 895 50 54"), RULES, NOW)
    assert a.identity == b.identity


def test_rule_4_numbering_table_places_a_mobile_without_an_address() -> None:
    numbering = InMemoryNumbering([(919, 8950000, 8959999, "Новосибирская обл.")])
    rules = replace(RULES, numbering=numbering)
    assert screen(order(region=None), rules, NOW).zones == ("Asia/Novosibirsk",)
