"""What a campaign settings change does to the queue, said before it is saved (issue 21).

A pure function of ``now``, the campaign's queued orders (their zones and due times) and
the old and new settings. It says what the dispatcher will do, no more: a queued order is
called at the first instant, at or after both its due time and ``now``, when the window is
open in all its zones (``campaigns.window``). So a wider window makes orders that are due
but waiting for the window callable now.

An order scheduled **for the old window's opening** (it waited for the window, not for a
time of its own) is brought forward when the change is saved (``reopened_due``, applied to
the stored queue by the running service): to the first instant the new window is open, but
never before the shortest retry pause after its last call (business-rules §5) and never
outside its calling days. A customer's callback time is the customer's and is kept; so is
any other due time that is not an opening of the old window. Retry numbers only change the
retries scheduled after the save.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from campaigns.retry import retry_delay, within_horizon
from campaigns.settings import CallingWindow, CampaignSettings, RetrySettings
from campaigns.window import local_date, next_window_open, window_open

_SECOND = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class QueuedOrder:
    """A queued order as the preview needs it: its candidate zones and when it is due."""

    order_id: str
    zones: tuple[str, ...]
    due_at: datetime | None  # None: due at once
    attempt_times: tuple[datetime, ...] = ()  # when each customer call started
    callback: bool = False  # due at a time the customer asked for
    horizon_start: date | None = None  # the first local calling day (None: no horizon check)


@dataclass(frozen=True, slots=True)
class Preview:
    """Counts over the queued orders, and the sentences the editor shows."""

    queued: int
    callable_now_before: int
    callable_now_after: int
    become_callable_now: int  # not callable now with the old settings, callable with the new
    stop_now: int  # callable now with the old settings, waiting with the new
    move_to_later_day: int  # called on a later local day than before (or no opening at all)
    brought_forward: int  # scheduled for the old window's opening, called sooner with the new
    sentences: tuple[str, ...]


def preview_change(
    now: datetime,
    orders: Sequence[QueuedOrder],
    old: CampaignSettings,
    new: CampaignSettings,
) -> Preview:
    """What saving ``new`` instead of ``old`` does to ``orders`` at ``now``."""
    before = [_next_call(o, now, old.window, old.default_tz) for o in orders]
    reopened = [reopened_due(o, now, old, new) for o in orders]
    after = [
        _next_call(o if at is None else dataclasses.replace(o, due_at=at), now, new.window,
                   new.default_tz)
        for o, at in zip(orders, reopened, strict=True)
    ]  # fmt: skip
    now_before = [at is not None and at <= now for at in before]
    now_after = [at is not None and at <= now for at in after]
    later = sum(
        _later_day(o, b, a, new.default_tz) for o, b, a in zip(orders, before, after, strict=True)
    )
    counts = Preview(
        queued=len(orders),
        callable_now_before=sum(now_before),
        callable_now_after=sum(now_after),
        become_callable_now=sum(a and not b for b, a in zip(now_before, now_after, strict=True)),
        stop_now=sum(b and not a for b, a in zip(now_before, now_after, strict=True)),
        move_to_later_day=later,
        brought_forward=sum(at is not None for at in reopened),
        sentences=(),
    )
    sentences = (*_window_sentences(counts, old.window, new.window),
                 *_retry_sentences(old.retry, new.retry))  # fmt: skip
    if not sentences:
        sentences = ("Очередь это изменение не сдвигает.",) if old != new else ("Изменений нет.",)
    return dataclasses.replace(counts, sentences=sentences)


def _zones(order: QueuedOrder, default_tz: str) -> tuple[str, ...]:
    return order.zones or (default_tz,)


def _next_call(
    order: QueuedOrder, now: datetime, window: CallingWindow, default_tz: str
) -> datetime | None:
    """When the dispatcher would call ``order`` (None: no opening within the horizon)."""
    start = now if order.due_at is None or order.due_at < now else order.due_at
    return next_window_open(start, _zones(order, default_tz), window)


def reopened_due(
    order: QueuedOrder, now: datetime, old: CampaignSettings, new: CampaignSettings
) -> datetime | None:
    """The earlier due time ``order`` gets when ``new`` replaces ``old``, or None when it
    keeps its own. Only an order due later at an opening of the old window moves (it waited
    for the window); it moves to the new window's first opening at or after ``now`` and the
    shortest retry pause after its last call, when that is sooner and within its days."""
    due = order.due_at
    if due is None or due <= now or order.callback:
        return None
    zones = _zones(order, old.default_tz)
    if window_open(due - _SECOND, zones, old.window) or not window_open(due, zones, old.window):
        return None  # not an opening of the old window: a time of its own (a retry's)
    earliest = now
    if order.attempt_times:
        pause = retry_delay(len(order.attempt_times), new.retry, 0.0)
        after_last = order.attempt_times[-1] + timedelta(seconds=new.ring_timeout_s) + pause
        earliest = max(now, after_last)
    zones = _zones(order, new.default_tz)
    at = next_window_open(earliest, zones, new.window)
    if at is None or at >= due:
        return None
    if order.horizon_start is not None and not within_horizon(
        at, order.horizon_start, order.attempt_times, zones[0], new.retry
    ):
        return None
    return at


def _later_day(
    order: QueuedOrder, before: datetime | None, after: datetime | None, default_tz: str
) -> bool:
    if before is None:
        return False
    if after is None:
        return True
    zone = _zones(order, default_tz)[0]
    return local_date(after, zone) > local_date(before, zone)


def _window_sentences(p: Preview, old: CallingWindow, new: CallingWindow) -> tuple[str, ...]:
    if old == new:
        return ()
    first = (
        f"С этим окном {orders(p.become_callable_now)} в очереди "
        f"{_one(p.become_callable_now, 'станет', 'станут')} к звонку сейчас; "
        f"{p.move_to_later_day} {_one(p.move_to_later_day, 'перейдёт', 'перейдут')} "
        "на завтра или позже."
    )
    rest = []
    if p.stop_now:
        wait = _one(p.stop_now, "подождёт", "подождут")
        rest.append(f"{orders(p.stop_now)} из звонимых сейчас {wait} открытия окна.")
    if p.brought_forward:
        n = p.brought_forward
        rest.append(f"{orders(n)}, {_one(n, 'ждавший', 'ждавших')} открытия прежнего окна, "
                    f"{_one(n, 'будет назначен', 'будут назначены')} раньше: на открытие "
                    "нового окна (не раньше паузы перед повтором).")  # fmt: skip
    rest.append(f"К звонку сейчас: {p.callable_now_after} из {p.queued} "
                f"(было {p.callable_now_before}).")  # fmt: skip
    return (first, *rest)


def _retry_sentences(old: RetrySettings, new: RetrySettings) -> tuple[str, ...]:
    if old == new:
        return ()
    said = []
    quick_old = (old.quick_retry_min_s, old.quick_retry_max_s)
    quick_new = (new.quick_retry_min_s, new.quick_retry_max_s)
    if quick_old != quick_new:
        said.append(f"«Быстрый перезвон»: через {_span(quick_new)} вместо {_span(quick_old)}.")
    if old.quick_retries != new.quick_retries:
        said.append(f"Быстрых перезвонов: {new.quick_retries} вместо {old.quick_retries}.")
    if old.slow_retry_s != new.slow_retry_s:
        said.append(f"«Недозвон за сегодня»: через {_minutes(new.slow_retry_s)} "
                    f"вместо {_minutes(old.slow_retry_s)}.")  # fmt: skip
    if old.calling_days != new.calling_days:
        said.append(f"Дней обзвона: {new.calling_days} вместо {old.calling_days}.")
    said.append("Новые правила повторов действуют для следующих повторов; "
                "уже назначенное время заказов не меняется.")  # fmt: skip
    return tuple(said)


def _span(seconds: tuple[int, int]) -> str:
    low, high = (round(s / 60, 1) for s in seconds)
    return f"{_number(low)}–{_number(high)} мин" if low != high else f"{_number(low)} мин"


def _minutes(seconds: int) -> str:
    return f"{_number(round(seconds / 60, 1))} мин"


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value).replace(".", ",")


def _one(n: int, singular: str, plural: str) -> str:
    """The verb's form agreeing with ``n`` (1, 21, 101: singular)."""
    return singular if n % 10 == 1 and n % 100 != 11 else plural  # noqa: PLR2004


def orders(n: int) -> str:
    """``n`` with «заказ» in the right Russian form: 1 заказ, 2 заказа, 5 заказов."""
    if n % 10 == 1 and n % 100 != 11:  # noqa: PLR2004 - Russian plural rule
        word = "заказ"
    elif 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:  # noqa: PLR2004
        word = "заказа"
    else:
        word = "заказов"
    return f"{n} {word}"
