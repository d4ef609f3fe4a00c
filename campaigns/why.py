"""«Почему не звоним?»: why an order is or is not being called now, as data and plain Russian.

A pure function of the order's stored state, its last outcome, the campaign's settings, the
live facts the caller read (pause, free agents, lines, the CRM re-check, queue place) and
``now``. The zones come from ``campaigns.zone_facts``, the code ``phone-info`` prints.

The answer's ``state`` is one code; ``reasons`` the codes of every cause that holds:

    finished   confirmed, refused, invalid, spam, duplicate, consult, no_answer_final,
               never_touch (left the queue with no call and nothing written)
    live       dialing, awaiting_result, claimed (a dispatch round holds it right now)
    waiting    paused, window_closed, new, callback, retry_quick, retry_hourly,
               retry_network, agent_missed
    due now    held_recheck, line_cap, no_free_agent, due_now
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from campaigns.lifecycle import QUICK_TAB_MAX_ATTEMPTS, OrderState, Phase
from campaigns.orders import Order
from campaigns.outcomes import OutcomeKind
from campaigns.phones import check_phone
from campaigns.settings import CampaignSettings
from campaigns.timezones import CustomerPlace, NumberingLookup
from campaigns.window import local_wall, next_window_open, window_open
from campaigns.zone_facts import ZoneFacts, zone_facts

_FINAL_WORDS: dict[OutcomeKind, str] = {
    OutcomeKind.CONFIRMED: "подтверждён («В буфер»)",
    OutcomeKind.REFUSED: "отказ («Отказ»)",
    OutcomeKind.INVALID: "невалид («Невалид»)",
    OutcomeKind.SPAM: "невалид: спам",
    OutcomeKind.DUPLICATE: "невалид: дубль",
    OutcomeKind.CONSULT: "консультация («Консультация»)",
    OutcomeKind.NO_ANSWER_FINAL: "окончательный недозвон («Недозвон»)",
}
_SOURCE_WORDS = {
    "order": "часовой пояс указан в заказе",
    "address": "по адресу доставки",
    "numbering": "по номеру: диапазон кодов плана нумерации",
    "landline": "по коду городского номера",
    "country": "по стране номера",
    "default": "пояс не определён: взят пояс кампании по умолчанию",
}


@dataclass(frozen=True, slots=True)
class LastOutcome:
    """The order's latest outcome as stored: what, when, the CRM problem and comment."""

    kind: OutcomeKind
    at: datetime
    problem: str | None = None
    comment: str = ""


@dataclass(frozen=True, slots=True)
class StoredOrder:
    """What the order store holds: the CRM's order, its state, its latest outcome."""

    order: Order
    state: OrderState
    last: LastOutcome | None = None


@dataclass(frozen=True, slots=True)
class LiveFacts:
    """What the running dialer knows besides the order. ``line_cap`` None: not known here;
    ``recheck``: the CRM status re-check holding the order ("asked", "failed") or None;
    ``queue_ahead``: due queued orders the dispatcher takes before this one."""

    paused: bool = False
    paused_reason: str | None = None
    agents_signed_in: int = 0
    agents_free: int = 0
    lines_in_use: int = 0
    line_cap: int | None = None
    recheck: str | None = None
    queue_ahead: int = 0
    claimed: bool = False


@dataclass(frozen=True, slots=True)
class Explanation:
    """The answer: one state code, every reason's code, sentences, and the facts table."""

    order_id: str
    state: str
    reasons: tuple[str, ...]
    sentences: tuple[str, ...]
    facts: dict[str, Any] = field(default_factory=dict)
    table: tuple[tuple[str, str], ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "state": self.state,
            "reasons": list(self.reasons),
            "sentences": list(self.sentences),
            "facts": self.facts,
            "table": [list(row) for row in self.table],
        }


def explain(
    stored: StoredOrder,
    settings: CampaignSettings,
    live: LiveFacts,
    now: datetime,
    *,
    numbering: NumberingLookup | None = None,
) -> Explanation:
    """Why the order is or is not being called at ``now`` (see the module docstring)."""
    order, state, last = stored.order, stored.state, stored.last
    phone = check_phone(order.phone)
    place = CustomerPlace.of_order(order)
    zf = zone_facts(
        phone,
        place,
        at=now,
        window=settings.window,
        default_tz=settings.default_tz,
        numbering=numbering,
    )
    zones = state.zones or zf.zones
    state = state._replace(zones=zones)
    says = _Says(settings.default_tz, zones)
    says.add(_zone_sentence(zf, zones))
    if state.phase is Phase.DONE:
        state_code = _finished(order, state, last, settings, says)
    elif state.phase is Phase.DIALING:
        state_code = says.reason(
            "dialing", f"Сейчас идёт звонок: попытка {state.customer_attempts + 1}."
        )
    elif state.phase is Phase.AWAITING_DISPOSITION:
        state_code = says.reason(
            "awaiting_result", "Клиент ответил; ждём результат звонка от оператора."
        )
    else:
        state_code = _queued(state, settings, live, now, says)
    return Explanation(
        order.id,
        state_code,
        tuple(says.reasons),
        tuple(says.sentences),
        _facts(state=state, zf=zf, zones=zones, last=last, live=live, settings=settings, now=now),
        _table(state=state, zf=zf, zones=zones, live=live, settings=settings, now=now, says=says),
    )


class _Says:
    """Collects sentences and reason codes; formats instants for people."""

    def __init__(self, ops_zone: str, zones: tuple[str, ...]) -> None:
        self.ops_zone, self.zones = ops_zone, zones
        self.sentences: list[str] = []
        self.reasons: list[str] = []

    def add(self, sentence: str) -> None:
        self.sentences.append(sentence)

    def reason(self, code: str, sentence: str) -> str:
        self.reasons.append(code)
        self.add(sentence)
        return code

    def when(self, at: datetime) -> str:
        """``05.12 в 14:00 по времени клиента (12:00 Europe/Moscow)``."""
        local = local_wall(at, self.zones[0])
        ops = local_wall(at, self.ops_zone)
        text = f"{local:%d.%m в %H:%M} по времени клиента"
        return text if self.zones == (self.ops_zone,) else f"{text} ({ops:%H:%M} {self.ops_zone})"


def _zone_sentence(zf: ZoneFacts, zones: tuple[str, ...]) -> str:
    where = _SOURCE_WORDS[zf.source] + (f" ({zf.region})" if zf.region else "")
    several = "Часовые пояса клиента" if len(zones) > 1 else "Часовой пояс клиента"
    text = f"{several}: {', '.join(zones)} — {where}."
    if len(zones) > 1:
        text += " Звоним, только когда окно открыто во всех."
    return text


def _finished(
    order: Order,
    state: OrderState,
    last: LastOutcome | None,
    settings: CampaignSettings,
    says: _Says,
) -> str:
    kind = state.outcome or (last.kind if last is not None else OutcomeKind.SKIPPED)
    at = f" {says.when(last.at)}" if last is not None else ""
    if kind is OutcomeKind.SKIPPED:
        return says.reason(
            "never_touch",
            "Заказ снят с обзвона без звонка и без записи в CRM: "
            + _skip_why(order, state, settings)
            + ".",
        )
    code = kind.value
    text = f"Обзвон закончен{at}: {_FINAL_WORDS.get(kind, kind.value)}"
    detail = "; ".join(x for x in (last.problem, last.comment) if x) if last else ""
    text += f" — {detail}." if detail else "."
    if kind is OutcomeKind.NO_ANSWER_FINAL:
        text += f" Попыток дозвона: {state.customer_attempts}."
    return says.reason(code, text)


def _skip_why(order: Order, state: OrderState, settings: CampaignSettings) -> str:
    if order.status in settings.never_touch_statuses:
        return f"статус в CRM «{order.status}» — из списка «не трогать»"
    if order.prepaid and settings.skip_prepaid:
        return "заказ с полной предоплатой — из списка «не трогать»"
    if state.customer_attempts == 0:
        return (
            "заказ из списка «не трогать» (проверка статуса в CRM перед звонком), "
            "старше горизонта обзвона («Недозвон (раньше)») или снят вручную"
        )
    return "проверка статуса в CRM перед звонком или снят вручную"


def _queued(
    state: OrderState, settings: CampaignSettings, live: LiveFacts, now: datetime, says: _Says
) -> str:
    due = state.due_at or now
    if live.claimed:
        return says.reason(
            "claimed", "Раунд обзвона взял заказ прямо сейчас: звонок вот-вот начнётся."
        )
    code = ""
    if live.paused:
        why = f": {live.paused_reason}" if live.paused_reason else ""
        code = says.reason(
            "paused", f"Обзвон кампании приостановлен{why}. Пока он на паузе, никому не звоним."
        )
    if not window_open(now, state.zones, settings.window):
        opens = next_window_open(now, state.zones, settings.window)
        when = says.when(opens) if opens is not None else "не в ближайший год"
        closed = says.reason(
            "window_closed",
            f"Окно звонков ({_hours(settings)}) в поясе клиента сейчас закрыто; откроется {when}.",
        )
        code = code or closed
    if due > now:
        cause = _why_later(state, settings, due, says)
        return code or cause
    blocker = _due_blocker(live, says)
    return code or blocker


def _why_later(state: OrderState, settings: CampaignSettings, due: datetime, says: _Says) -> str:
    retry, n = settings.retry, state.customer_attempts
    at = says.when(due)
    if state.callback_at is not None:
        owner = f", сначала оператору {state.callback_owner}" if state.callback_owner else ""
        return says.reason(
            "callback", f"Клиент просил перезвонить: звонок {at}{owner} («В работе»)."
        )
    if n == 0 and not (state.agent_misses or state.network_failures):
        return says.reason(
            "new", f"Новый заказ: звоним сразу, как откроется окно; первый звонок {at}."
        )
    if n == 0:
        code = "agent_missed" if state.agent_misses else "retry_network"
        return says.reason(
            code,
            f"Прошлый звонок не дошёл до клиента (оператор не принял или сеть); "
            f"повтор {at}. Это не попытка дозвона до клиента.",
        )
    if n <= min(retry.quick_retries, QUICK_TAB_MAX_ATTEMPTS):
        low, high = retry.quick_retry_min_s // 60, retry.quick_retry_max_s // 60
        return says.reason(
            "retry_quick",
            f"Не дозвонились {n} раз(а): «Быстрый перезвон» через "
            f"{low}–{high} мин, следующий звонок {at}.",
        )
    hours = retry.slow_retry_s // 3600 or 1
    return says.reason(
        "retry_hourly",
        f"Не дозвонились {n} раз(а): после {retry.quick_retries} "
        f"быстрых перезвонов звоним раз в {hours} ч; следующий звонок {at}.",
    )


def _due_blocker(live: LiveFacts, says: _Says) -> str:
    if live.recheck is not None:
        why = (
            "ответ CRM ещё не пришёл"
            if live.recheck == "asked"
            else "CRM не ответила, спросим снова"
        )
        return says.reason(
            "held_recheck",
            f"Заказ ждёт проверки статуса в CRM перед звонком ({why}): звоним только после неё.",
        )
    if live.line_cap is not None and live.lines_in_use >= live.line_cap:
        return says.reason(
            "line_cap",
            f"Все линии заняты: {live.lines_in_use} из {live.line_cap}. "
            "Позвоним, как только освободится линия.",
        )
    if live.agents_free == 0:
        return says.reason(
            "no_free_agent",
            f"Нет свободного оператора (на линии: "
            f"{live.agents_signed_in}); позвоним первому освободившемуся.",
        )
    place = live.queue_ahead + 1
    return says.reason("due_now", f"Звонок положен сейчас; место в очереди: {place}.")


def _hours(settings: CampaignSettings) -> str:
    return f"{settings.window.start:%H:%M}–{settings.window.end:%H:%M}"


def _facts(
    *,
    state: OrderState,
    zf: ZoneFacts,
    zones: tuple[str, ...],
    last: LastOutcome | None,
    live: LiveFacts,
    settings: CampaignSettings,
    now: datetime,
) -> dict[str, Any]:
    opens = next_window_open(now, zones, settings.window)
    return {
        "phase": state.phase.value,
        "outcome": None if state.outcome is None else state.outcome.value,
        "finished_at": None if last is None or state.phase is not Phase.DONE else _iso(last.at),
        "customer_attempts": state.customer_attempts,
        "zones": list(zones),
        "tz_source": zf.source,
        "region": zf.region,
        "window_open": window_open(now, zones, settings.window),
        "next_window_open": None if opens is None else _iso(opens),
        "due_at": None if state.due_at is None else _iso(state.due_at),
        "callback_at": None if state.callback_at is None else _iso(state.callback_at),
        "queue_position": live.queue_ahead + 1 if _due(state, now) else None,
        "agents_free": live.agents_free,
        "lines_in_use": live.lines_in_use,
        "line_cap": live.line_cap,
        "paused": live.paused,
        "recheck": live.recheck,
    }


def _table(
    *,
    state: OrderState,
    zf: ZoneFacts,
    zones: tuple[str, ...],
    live: LiveFacts,
    settings: CampaignSettings,
    now: datetime,
    says: _Says,
) -> tuple[tuple[str, str], ...]:
    opened = window_open(now, zones, settings.window)
    opens = next_window_open(now, zones, settings.window)
    rows = [
        ("Часовые пояса", ", ".join(zones)),
        ("Откуда пояс", _SOURCE_WORDS[zf.source] + (f" ({zf.region})" if zf.region else "")),
        ("Окно звонков сейчас", "открыто" if opened else "закрыто"),
        ("Окно откроется", "—" if opened or opens is None else says.when(opens)),
        ("Попыток дозвона", str(state.customer_attempts)),
    ]
    if state.phase is Phase.QUEUED:
        rows.append(("Следующий звонок", says.when(state.due_at) if state.due_at else "—"))
    if _due(state, now):
        rows.append(("Место в очереди", str(live.queue_ahead + 1)))
    cap = "?" if live.line_cap is None else str(live.line_cap)
    rows += [
        ("Свободных операторов", f"{live.agents_free} из {live.agents_signed_in}"),
        ("Линии заняты", f"{live.lines_in_use} из {cap}"),
        ("Кампания", "на паузе" if live.paused else "идёт обзвон"),
    ]
    return tuple(rows)


def _due(state: OrderState, now: datetime) -> bool:
    return state.phase is Phase.QUEUED and (state.due_at is None or state.due_at <= now)


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")
