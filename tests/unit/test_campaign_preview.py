"""Issue 21: the editor's «Предпросмотр» says what a settings change does to the queue, with
hand-made queued orders across zones (Moscow UTC+3, Yekaterinburg UTC+5, Vladivostok
UTC+10). Tuesday 2026-03-10 06:30 UTC is 09:30 in Moscow, 11:30 in Yekaterinburg and 16:30
in Vladivostok."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time

from campaigns.preview import QueuedOrder, orders, preview_change, reopened_due
from campaigns.settings import CampaignSettings, RetrySettings

NOW = datetime(2026, 3, 10, 6, 30, tzinfo=UTC)
MSK, YEKT, VLAT = "Europe/Moscow", "Asia/Yekaterinburg", "Asia/Vladivostok"
OLD = CampaignSettings(name="Магазин")
QUEUE = (
    QueuedOrder("НФ-00123", (MSK,), datetime(2026, 3, 10, 6, 0, tzinfo=UTC)),  # waits for 10:00
    QueuedOrder("НФ-00124", (YEKT,), datetime(2026, 3, 10, 6, 0, tzinfo=UTC)),  # callable now
    QueuedOrder("НФ-00125", (VLAT,), None),  # callable now (16:30 there)
    QueuedOrder("НФ-00126", (MSK, VLAT), datetime(2026, 3, 10, 5, 0, tzinfo=UTC)),  # both zones
    QueuedOrder("НФ-00127", (MSK,), datetime(2026, 3, 11, 7, 0, tzinfo=UTC), callback=True),
    QueuedOrder("НФ-00128", (), datetime(2026, 3, 10, 6, 0, tzinfo=UTC)),  # default zone: MSK
)


def with_window(start: time, end: time, **more: object) -> CampaignSettings:
    window = dataclasses.replace(OLD.window, start=start, end=end, **more)
    return dataclasses.replace(OLD, window=window)


def test_rule_a_wider_window_makes_orders_waiting_for_it_callable_now() -> None:
    preview = preview_change(NOW, QUEUE, OLD, with_window(time(9, 0), time(19, 0)))
    # Moscow opens at 09:00 now: НФ-00123, the two-zone НФ-00126 and the default-zone one
    assert (preview.callable_now_before, preview.callable_now_after) == (2, 5)
    assert (preview.become_callable_now, preview.stop_now, preview.move_to_later_day) == (3, 0, 0)
    assert preview.sentences[0] == (
        "С этим окном 3 заказа в очереди станут к звонку сейчас; 0 перейдут на завтра или позже."
    )
    assert preview.sentences[-1] == "К звонку сейчас: 5 из 6 (было 2)."
    assert preview.brought_forward == 0  # НФ-00127: the customer's callback at 10:00 tomorrow


def test_rule_orders_waiting_for_the_old_opening_are_brought_forward_and_the_preview_says_so() -> (
    None
):
    """НФ-00129 waits for Moscow's 10:00 today (07:00 UTC): with a window from 09:00, open
    now, saving brings it forward to now, and the preview counts it as callable now."""
    waiting = QueuedOrder("НФ-00129", (MSK,), datetime(2026, 3, 10, 7, 0, tzinfo=UTC))
    wider = with_window(time(9, 0), time(19, 0))
    preview = preview_change(NOW, (waiting,), OLD, wider)
    assert (preview.become_callable_now, preview.brought_forward) == (1, 1)
    assert reopened_due(waiting, NOW, OLD, wider) == NOW
    assert "1 заказ, ждавший открытия прежнего окна, будет назначен раньше: на открытие " \
        "нового окна (не раньше паузы перед повтором)." in preview.sentences  # fmt: skip


def test_rule_a_brought_forward_retry_keeps_the_shortest_pause_after_its_last_call() -> None:
    """At 19:00:10 Moscow the window is widened to 21:00. НФ-00130 was called once at 18:59
    (15:59 UTC); its quick retry fell after 19:00 and waits for 10:00 tomorrow. It is
    brought forward to 18:59 + ring 30 s + the shortest quick pause 2 min, not to now."""
    now = datetime(2026, 3, 10, 16, 0, 10, tzinfo=UTC)
    called = QueuedOrder("НФ-00130", (MSK,), datetime(2026, 3, 11, 7, 0, tzinfo=UTC),
                         attempt_times=(datetime(2026, 3, 10, 15, 59, tzinfo=UTC),),
                         horizon_start=date(2026, 3, 10))  # fmt: skip
    later = with_window(time(10, 0), time(21, 0))
    assert reopened_due(called, now, OLD, later) == datetime(2026, 3, 10, 16, 1, 30, tzinfo=UTC)
    callback = dataclasses.replace(called, callback=True)
    assert reopened_due(callback, now, OLD, later) is None  # the customer's time is kept
    own_time = dataclasses.replace(called, due_at=datetime(2026, 3, 11, 7, 5, tzinfo=UTC))
    assert reopened_due(own_time, now, OLD, later) is None  # 10:05: not an opening
    past_days = dataclasses.replace(called, horizon_start=date(2026, 2, 1))
    assert reopened_due(past_days, now, OLD, later) is None  # its calling days are over
    assert reopened_due(called, now, OLD, with_window(time(11, 0), time(19, 0))) is None
    assert reopened_due(called, now, OLD, OLD) is None  # nothing opens sooner


def test_rule_a_shorter_window_moves_orders_past_its_end_to_tomorrow() -> None:
    preview = preview_change(NOW, QUEUE, OLD, with_window(time(10, 0), time(16, 0)))
    # Vladivostok's 16:30 is past 16:00: НФ-00125 waits for tomorrow; НФ-00126 (Moscow and
    # Vladivostok at once) has no common hour left at all and counts as moved too
    assert (preview.stop_now, preview.move_to_later_day, preview.become_callable_now) == (1, 2, 0)
    assert preview.sentences[:2] == (
        "С этим окном 0 заказов в очереди станут к звонку сейчас; 2 перейдут на завтра или позже.",
        "1 заказ из звонимых сейчас подождёт открытия окна.",
    )


def test_rule_a_holiday_today_moves_todays_orders_of_that_zone_to_the_next_day() -> None:
    holiday = with_window(time(10, 0), time(19, 0), holidays=frozenset({date(2026, 3, 10)}))
    preview = preview_change(NOW, QUEUE, OLD, holiday)
    # every order due today moves (the holiday is a local date in each zone); tomorrow's stays
    assert (preview.stop_now, preview.move_to_later_day) == (2, 5)


def test_rule_weekdays_without_tuesday_move_the_queue_to_wednesday() -> None:
    weekdays = with_window(time(10, 0), time(19, 0), weekdays=frozenset({0, 2, 3, 4}))
    preview = preview_change(NOW, QUEUE, OLD, weekdays)
    assert preview.callable_now_after == 0 and preview.move_to_later_day == 5


def test_rule_a_retry_change_says_the_new_numbers_and_moves_nothing() -> None:
    retry = dataclasses.replace(OLD.retry, quick_retry_min_s=300, quick_retry_max_s=360)
    preview = preview_change(NOW, QUEUE, OLD, dataclasses.replace(OLD, retry=retry))
    assert preview.sentences == (
        "«Быстрый перезвон»: через 5–6 мин вместо 2–3 мин.",
        "Новые правила повторов действуют для следующих повторов; "
        "уже назначенное время заказов не меняется.",
    )
    assert preview.callable_now_before == preview.callable_now_after == 2


def test_a_change_that_touches_neither_window_nor_retries_says_the_queue_stays() -> None:
    other = dataclasses.replace(OLD, language="kk")
    assert preview_change(NOW, QUEUE, OLD, other).sentences == (
        "Очередь это изменение не сдвигает.",
    )
    assert preview_change(NOW, QUEUE, OLD, OLD).sentences == ("Изменений нет.",)
    assert preview_change(NOW, (), OLD, OLD).queued == 0


def test_the_order_count_takes_the_russian_plural() -> None:
    said = [orders(n) for n in (0, 1, 2, 5, 11, 21, 22, 112)]
    assert said == ["0 заказов", "1 заказ", "2 заказа", "5 заказов", "11 заказов", "21 заказ",
                    "22 заказа", "112 заказов"]  # fmt: skip


def test_settings_retry_defaults_are_the_manuals() -> None:
    assert RetrySettings().quick_retry_min_s == 120  # the sentence above says «2–3 мин»
