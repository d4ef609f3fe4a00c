"""«Почему не звоним?»: why an order is or is not being called now, as data and plain Russian.

A pure function of the order's stored state, its last outcome, the campaign's settings, the
live facts the caller read (pause, free agents, lines, the CRM re-check, queue place) and
``now``. The zones come from ``campaigns.zone_facts``, the code ``phone-info`` prints; the
sentences and their codes from ``campaigns.why_wording``.

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

from campaigns.lifecycle import OrderState, Phase
from campaigns.orders import Order
from campaigns.outcomes import OutcomeKind
from campaigns.phones import check_phone
from campaigns.settings import CampaignSettings
from campaigns.timezones import CustomerPlace, NumberingLookup
from campaigns.why_wording import SOURCE_WORDS, Says, finished, queued, zone_sentence
from campaigns.window import next_window_open, window_open
from campaigns.zone_facts import ZoneFacts, zone_facts


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
    says = Says(settings.default_tz, zones)
    says.add(zone_sentence(zf, zones))
    if state.phase is Phase.DONE:
        state_code = finished(order, state, last, settings, says)
    elif state.phase is Phase.DIALING:
        state_code = says.reason(
            "dialing", f"Сейчас идёт звонок: попытка {state.customer_attempts + 1}."
        )
    elif state.phase is Phase.AWAITING_DISPOSITION:
        state_code = says.reason(
            "awaiting_result", "Клиент ответил; ждём результат звонка от оператора."
        )
    else:
        state_code = queued(state, settings, live, now, says)
    return Explanation(
        order.id,
        state_code,
        tuple(says.reasons),
        tuple(says.sentences),
        _facts(state=state, zf=zf, zones=zones, last=last, live=live, settings=settings, now=now),
        _table(state=state, zf=zf, zones=zones, live=live, settings=settings, now=now, says=says),
    )


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
    says: Says,
) -> tuple[tuple[str, str], ...]:
    opened = window_open(now, zones, settings.window)
    opens = next_window_open(now, zones, settings.window)
    rows = [
        ("Часовые пояса", ", ".join(zones)),
        ("Откуда пояс", SOURCE_WORDS[zf.source] + (f" ({zf.region})" if zf.region else "")),
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
