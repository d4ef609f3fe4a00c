"""«Почему не звоним?» (issue 19): the pure explanation of one order, a test per state."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from campaigns.lifecycle import OrderState, Phase
from campaigns.orders import Order
from campaigns.outcomes import OutcomeKind
from campaigns.settings import CampaignSettings
from campaigns.timezones import InMemoryNumbering
from campaigns.why import Explanation, LastOutcome, LiveFacts, StoredOrder, explain

SETTINGS = CampaignSettings()
# 12:00 in Moscow (UTC+3): the window 10–19 is open in Moscow, Samara, Yekaterinburg
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
MOSCOW = ("Europe/Moscow",)
FREE = LiveFacts(agents_signed_in=2, agents_free=1, lines_in_use=0, line_cap=10)
NUMBERING = InMemoryNumbering([(924, 0, 49_999, "Республика Саха /Якутия/")])


def order(**changes: object) -> Order:
    fields: dict[str, object] = {
        "id": "НФ-00123",
        "phone": "+79161234567",
        "name": "Ольга",
        "product": "Мака",
        "created_at": NOW - timedelta(minutes=5),
        "region": "г. Москва",
    }
    fields.update(changes)
    return Order(**fields)  # type: ignore[arg-type]


def state(**changes: object) -> OrderState:
    base = OrderState("НФ-00123", MOSCOW, date(2026, 3, 10), Phase.QUEUED, due_at=NOW)
    return base._replace(**changes)


def why(
    st: OrderState,
    live: LiveFacts = FREE,
    *,
    the_order: Order | None = None,
    last: LastOutcome | None = None,
    now: datetime = NOW,
) -> Explanation:
    stored = StoredOrder(the_order or order(), st, last)
    return explain(stored, SETTINGS, live, now, numbering=NUMBERING)


def test_a_queued_order_due_now_with_a_free_agent_gives_its_place_in_the_queue() -> None:
    found = why(state(), LiveFacts(agents_signed_in=2, agents_free=1, line_cap=10, queue_ahead=4))
    assert found.state == "due_now"
    assert "место в очереди: 5" in found.sentences[-1]
    assert found.facts["queue_position"] == 5
    assert found.facts["zones"] == ["Europe/Moscow"]
    assert found.facts["tz_source"] == "address"
    assert ("Место в очереди", "5") in found.table


def test_rule_5_an_order_waiting_for_its_quick_retry_says_2_3_minutes_and_when() -> None:
    due = NOW + timedelta(minutes=2)
    found = why(state(customer_attempts=1, attempt_times=(NOW,), due_at=due))
    assert found.state == "retry_quick"
    assert "«Быстрый перезвон» через 2–3 мин" in found.sentences[-1]
    assert "10.03 в 12:02 по времени клиента" in found.sentences[-1]
    assert found.facts["due_at"] == due.isoformat()


def test_rule_5_from_the_4th_unanswered_call_the_retry_is_hourly() -> None:
    found = why(state(customer_attempts=4, due_at=NOW + timedelta(hours=1)))
    assert found.state == "retry_hourly"
    assert "раз в 1 ч" in found.sentences[-1]


def test_a_callback_is_due_at_the_customers_time_and_names_its_owner() -> None:
    at = NOW + timedelta(hours=3)
    found = why(state(callback_at=at, due_at=at, callback_owner="1001"))
    assert found.state == "callback"
    assert "Клиент просил перезвонить: звонок 10.03 в 15:00" in found.sentences[-1]
    assert "оператору 1001" in found.sentences[-1]


def test_rule_4_the_window_closed_in_the_customers_zone_says_when_it_opens() -> None:
    # 12:00 in Moscow is 18:00 in Yakutsk (UTC+9) … and 21:00 in Srednekolymsk (UTC+11)
    yakutia = order(phone="+79240012345", region=None)
    late = NOW + timedelta(hours=1)  # 19:00 in Yakutsk: closed everywhere in Yakutia
    zones = ("Asia/Yakutsk", "Asia/Khandyga", "Asia/Ust-Nera", "Asia/Srednekolymsk")
    found = why(state(zones=zones, due_at=late), the_order=yakutia, now=late)
    assert found.state == "window_closed"
    assert found.facts["window_open"] is False
    # next opening: 10:00 in Srednekolymsk (UTC+11) = 23:00 UTC, but Yakutsk (UTC+9) must be
    # at 10:00 too: 01:00 UTC on the 11th, i.e. 10:00 on the 11th in Yakutsk
    assert found.facts["next_window_open"] == "2026-03-11T01:00:00+00:00"
    assert "откроется 11.03 в 10:00 по времени клиента (04:00 Europe/Moscow)" in found.sentences[1]


def test_rule_4_a_multi_zone_number_lists_every_zone_and_where_they_came_from() -> None:
    yakutia = order(phone="+79240012345", region=None)
    found = why(state(zones=()), the_order=yakutia)
    assert found.facts["tz_source"] == "numbering"
    assert found.facts["region"] == "Республика Саха (Якутия)"
    assert len(found.facts["zones"]) == 4
    assert found.sentences[0].startswith("Часовые пояса клиента: Asia/Yakutsk")
    assert "только когда окно открыто во всех" in found.sentences[0]


def test_a_new_order_after_closing_waits_for_the_next_opening() -> None:
    evening = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)  # 20:00 in Moscow
    opens = datetime(2026, 3, 11, 7, 0, tzinfo=UTC)
    found = why(state(due_at=opens), now=evening)
    assert found.state == "window_closed"
    assert found.reasons == ("window_closed", "new")
    assert "первый звонок 11.03 в 10:00" in found.sentences[-1]


def test_an_order_held_by_the_crm_status_recheck_waits_for_it() -> None:
    found = why(state(), LiveFacts(agents_free=1, agents_signed_in=1, recheck="asked"))
    assert found.state == "held_recheck"
    assert "проверки статуса в CRM" in found.sentences[-1]


def test_a_due_order_with_no_free_agent_says_so() -> None:
    found = why(state(), LiveFacts(agents_signed_in=3, agents_free=0, line_cap=10))
    assert found.state == "no_free_agent"
    assert "Нет свободного оператора (на линии: 3)" in found.sentences[-1]


def test_a_due_order_with_every_line_in_use_waits_for_a_line() -> None:
    found = why(state(), LiveFacts(agents_free=2, agents_signed_in=2, lines_in_use=4, line_cap=4))
    assert found.state == "line_cap"
    assert "Все линии заняты: 4 из 4" in found.sentences[-1]


def test_a_paused_campaign_comes_first_with_its_reason() -> None:
    live = LiveFacts(paused=True, paused_reason="обед", agents_free=0)
    found = why(state(), live)
    assert found.state == "paused"
    assert found.reasons == ("paused", "no_free_agent")
    assert "приостановлен: обед" in found.sentences[1]


def test_a_finished_confirmed_order_says_what_and_when() -> None:
    at = NOW - timedelta(minutes=30)
    last = LastOutcome(OutcomeKind.CONFIRMED, at, None, "10.03 - подтвержден")
    found = why(state(phase=Phase.DONE, outcome=OutcomeKind.CONFIRMED, due_at=None), last=last)
    assert found.state == "confirmed"
    assert found.sentences[-1] == (
        "Обзвон закончен 10.03 в 11:30 по времени клиента: подтверждён («В буфер») — "
        "10.03 - подтвержден."
    )
    assert found.facts["finished_at"] == at.isoformat()
    assert found.facts["queue_position"] is None


def test_rule_5_a_final_no_answer_counts_the_calls() -> None:
    last = LastOutcome(OutcomeKind.NO_ANSWER_FINAL, NOW, "Не отвечает", "10.03 - недозвон")
    done = state(phase=Phase.DONE, outcome=OutcomeKind.NO_ANSWER_FINAL, customer_attempts=7)
    found = why(done, last=last)
    assert found.state == "no_answer_final"
    assert "окончательный недозвон" in found.sentences[-1]
    assert "Попыток дозвона: 7." in found.sentences[-1]


def test_rule_2_a_never_touch_order_names_its_crm_status() -> None:
    cancelled = order(status="Отменён")
    found = why(state(phase=Phase.DONE, outcome=OutcomeKind.SKIPPED), the_order=cancelled)
    assert found.state == "never_touch"
    assert "«Отменён» — из списка «не трогать»" in found.sentences[-1]
    assert "без записи в CRM" in found.sentences[-1]


def test_rule_2_a_prepaid_order_is_never_touched() -> None:
    found = why(state(phase=Phase.DONE, outcome=OutcomeKind.SKIPPED), the_order=order(prepaid=True))
    assert "полной предоплатой" in found.sentences[-1]


def test_rule_3_an_invalid_number_is_explained_with_its_problem() -> None:
    fake = order(phone="700000000000")
    last = LastOutcome(OutcomeKind.INVALID, NOW, "Невалидный номер", "10.03 - невалидный номер")
    found = why(state(phase=Phase.DONE, outcome=OutcomeKind.INVALID), the_order=fake, last=last)
    assert found.state == "invalid"
    assert "невалид («Невалид») — Невалидный номер" in found.sentences[-1]
    assert found.facts["window_open"] is True  # the zone is still told: Moscow by address


def test_rule_3_spam_and_duplicate_are_their_own_states() -> None:
    dup = LastOutcome(OutcomeKind.DUPLICATE, NOW, "Дубль", "10.03 - дубль к заказу №НФ-00100")
    found = why(state(phase=Phase.DONE, outcome=OutcomeKind.DUPLICATE), last=dup)
    assert found.state == "duplicate"
    assert "дубль к заказу №НФ-00100" in found.sentences[-1]
    spam = LastOutcome(OutcomeKind.SPAM, NOW, "Спам")
    assert why(state(phase=Phase.DONE, outcome=OutcomeKind.SPAM), last=spam).state == "spam"


def test_a_call_under_way_and_an_answer_awaiting_its_result() -> None:
    dialing = why(state(phase=Phase.DIALING, due_at=None, live_attempt="a-1"))
    assert dialing.state == "dialing"
    assert "попытка 1" in dialing.sentences[-1]
    waiting = why(state(phase=Phase.AWAITING_DISPOSITION, due_at=None, customer_attempts=1))
    assert waiting.state == "awaiting_result"


def test_an_order_claimed_by_a_round_is_about_to_be_called() -> None:
    found = why(state(), LiveFacts(claimed=True))
    assert found.state == "claimed"


def test_rule_5_a_missed_accept_is_not_a_customer_attempt() -> None:
    found = why(state(agent_misses=1, due_at=NOW + timedelta(seconds=30)))
    assert found.state == "agent_missed"
    assert "не попытка дозвона" in found.sentences[-1]


def test_the_explanation_is_json_ready() -> None:
    data = why(state()).as_json()
    assert data["order_id"] == "НФ-00123"
    assert data["table"][0] == ["Часовые пояса", "Europe/Moscow"]
