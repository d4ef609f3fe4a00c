"""The words of «почему не звоним?»: the Russian sentences ``campaigns.why.explain`` says
about an order (its zones, its final outcome, why it waits, what holds it while it is due),
each with its reason code, in the manuals' words (business-rules.md)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from campaigns.lifecycle import QUICK_TAB_MAX_ATTEMPTS, OrderState
from campaigns.orders import Order
from campaigns.outcomes import OutcomeKind
from campaigns.settings import CampaignSettings
from campaigns.window import local_wall, next_window_open, window_open
from campaigns.zone_facts import ZoneFacts

if TYPE_CHECKING:  # the answer's input types; campaigns.why imports this module
    from campaigns.why import LastOutcome, LiveFacts

_FINAL_WORDS: dict[OutcomeKind, str] = {
    OutcomeKind.CONFIRMED: "подтверждён («В буфер»)",
    OutcomeKind.REFUSED: "отказ («Отказ»)",
    OutcomeKind.INVALID: "невалид («Невалид»)",
    OutcomeKind.SPAM: "невалид: спам",
    OutcomeKind.DUPLICATE: "невалид: дубль",
    OutcomeKind.CONSULT: "консультация («Консультация»)",
    OutcomeKind.NO_ANSWER_FINAL: "окончательный недозвон («Недозвон»)",
}
SOURCE_WORDS = {
    "order": "часовой пояс указан в заказе",
    "address": "по адресу доставки",
    "numbering": "по номеру: диапазон кодов плана нумерации",
    "landline": "по коду городского номера",
    "country": "по стране номера",
    "default": "пояс не определён: взят пояс кампании по умолчанию",
}


class Says:
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


def zone_sentence(zf: ZoneFacts, zones: tuple[str, ...]) -> str:
    where = SOURCE_WORDS[zf.source] + (f" ({zf.region})" if zf.region else "")
    several = "Часовые пояса клиента" if len(zones) > 1 else "Часовой пояс клиента"
    text = f"{several}: {', '.join(zones)} — {where}."
    if len(zones) > 1:
        text += " Звоним, только когда окно открыто во всех."
    return text


def finished(
    order: Order,
    state: OrderState,
    last: LastOutcome | None,
    settings: CampaignSettings,
    says: Says,
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


def queued(
    state: OrderState, settings: CampaignSettings, live: LiveFacts, now: datetime, says: Says
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


def _why_later(state: OrderState, settings: CampaignSettings, due: datetime, says: Says) -> str:
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


def _due_blocker(live: LiveFacts, says: Says) -> str:
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
