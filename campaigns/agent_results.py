"""The agent's result buttons (issue 15 §2, business-rules §6–§7) turned into a Disposition.

One form per button, checked field by field against the order and the campaign with ``now``
an argument; every refusal is a ``ResultError`` naming the field::

    {"result": "confirmed", "comment"?}                       «В буфер» / Подтвержден
    {"result": "callback", "at", "mine"?, "comment"?}         «В работе»
    {"result": "no_answer", "comment"?}                       «Недозвон»
    {"result": "invalid", "problem", "duplicate_of"?, "comment"?}   «Невалид»
    {"result": "refused", "problem", "reason", "comment"?}   «Отказ»
    {"result": "consult", "comment"?}                         «Консультация»

``at`` is the customer's wall time ``YYYY-MM-DDTHH:MM`` (seconds may follow) in the order's
first zone (the card's «Время клиента»). It must exist there (not skipped or repeated by a
clock change), lie ahead of ``now``, inside the calling window in every zone of the order,
and before the end of the order's calling days (``horizon_start`` + ``retry.calling_days``,
business-rules §5).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytz

from campaigns import wording
from campaigns.dispositions import Disposition, DispositionKind
from campaigns.settings import CallingWindow, CampaignSettings
from campaigns.window import local_date, local_wall, window_open, zone

MAX_TEXT = 1000  # a comment or a refusal's reason, in characters
MAX_ORDER_ID = 256
_LOCAL_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?")
_CONTROL = frozenset({"Cc", "Cs", "Zl", "Zp"})  # control characters, surrogates, line breaks
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class ResultError(ValueError):
    """A field of the form is wrong; ``field`` names it, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class ResultContext:
    """What a form is checked against: the order, the signed-in agent, the campaign, now.
    ``known_order`` tells whether an id is an order of the campaign (for «Дубль»)."""

    order_id: str
    zones: tuple[str, ...]
    horizon_start: date
    agent: str
    now: datetime
    settings: CampaignSettings
    known_order: Callable[[str], bool]


def disposition_from_form(form: Mapping[str, Any], context: ResultContext) -> Disposition:
    """The Disposition the button ``form["result"]`` stands for, or a ``ResultError``."""
    result = form.get("result")
    button = _BUTTONS.get(result) if isinstance(result, str) else None
    if button is None:
        raise ResultError("result", f"one of {', '.join(_BUTTONS)}, got {result!r}")
    fields, build = button
    unknown = sorted(set(form) - fields - {"result"})
    if unknown:
        taken = ", ".join(sorted(fields)) or "nothing else"
        raise ResultError(unknown[0], f"not a field of a {result} result (it takes {taken})")
    return build(form, context)


# ---- the buttons -------------------------------------------------------------------------


def _plain(kind: DispositionKind) -> Callable[[Mapping[str, Any], ResultContext], Disposition]:
    def build(form: Mapping[str, Any], context: ResultContext) -> Disposition:
        del context
        return Disposition(kind, comment=_comment(form))

    return build


def _callback(form: Mapping[str, Any], context: ResultContext) -> Disposition:
    at = callback_at(_text(form, "at", required=True, limit=32), context)
    mine = form.get("mine", False)
    if not isinstance(mine, bool):
        raise ResultError("mine", f"true or false («мой перезвон»), got {mine!r}")
    owner = context.agent if mine else None
    return Disposition(DispositionKind.CALLBACK, callback_at=at, comment=_comment(form),
                       owner=owner)  # fmt: skip


def _invalid(form: Mapping[str, Any], context: ResultContext) -> Disposition:
    problem = _choice(form, "problem", wording.INVALID_PROBLEMS)
    comment = _comment(form)
    if problem == wording.PROBLEM_DUPLICATE:
        original = _duplicate_of(form, context)
        comment = _joined(wording.duplicate_of(original), comment)
    elif form.get("duplicate_of") is not None:
        raise ResultError("duplicate_of", f"only with problem {wording.PROBLEM_DUPLICATE!r}")
    return Disposition(DispositionKind.INVALID, reason=problem, comment=comment)


def _refused(form: Mapping[str, Any], context: ResultContext) -> Disposition:
    problem = _choice(form, "problem", context.settings.refusal_problems)
    reason = _text(form, "reason", required=True, limit=MAX_TEXT)
    comment = _joined(reason, _comment(form))
    return Disposition(DispositionKind.REFUSED, reason=problem, comment=comment)


_Build = Callable[[Mapping[str, Any], ResultContext], Disposition]
_BUTTONS: dict[str, tuple[frozenset[str], _Build]] = {
    "confirmed": (frozenset({"comment"}), _plain(DispositionKind.CONFIRMED)),
    "callback": (frozenset({"at", "mine", "comment"}), _callback),
    "no_answer": (frozenset({"comment"}), _plain(DispositionKind.NO_ANSWER)),
    "invalid": (frozenset({"problem", "duplicate_of", "comment"}), _invalid),
    "refused": (frozenset({"problem", "reason", "comment"}), _refused),
    "consult": (frozenset({"comment"}), _plain(DispositionKind.CONSULT)),
}
RESULTS = tuple(_BUTTONS)


# ---- the callback time -------------------------------------------------------------------


def callback_at(text: str, context: ResultContext) -> datetime:
    """The instant of the customer's wall time ``text`` in the order's first zone, checked:
    it exists, is ahead of ``now``, inside the window in every zone, within the calling days."""
    first = context.zones[0]
    at = _localised(_wall_time(text), first)
    if at <= context.now:
        now = local_wall(context.now, first)
        raise ResultError("at", f"{_shown(text)} is in the past: the customer's time now is "
                                f"{now:%d.%m.%Y %H:%M} ({first})")  # fmt: skip
    closed = _window_refusal(at, context.zones, context.settings.window)
    if closed is not None:
        raise ResultError("at", closed)
    days = context.settings.retry.calling_days
    last = context.horizon_start + timedelta(days=days - 1)
    if local_date(at, first) > last:
        raise ResultError("at", f"{_shown(text)} is past the calling horizon: the order is "
                                f"called until {last:%d.%m.%Y} ({days} calling days from "
                                f"{context.horizon_start:%d.%m.%Y}, {first})")  # fmt: skip
    return at.astimezone(UTC)


def _wall_time(text: str) -> datetime:
    if _LOCAL_TIME.fullmatch(text) is None:
        raise ResultError("at", f"the customer's local time as YYYY-MM-DDTHH:MM without an "
                                f"offset, e.g. 2026-03-10T15:30; got {text!r}")  # fmt: skip
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ResultError("at", f"no such date or time: {text!r}") from None


def _localised(wall: datetime, name: str) -> datetime:
    """``wall`` in zone ``name``; a time skipped or repeated by a clock change is refused,
    since the agent cannot mean one instant by it."""
    try:
        return zone(name).localize(wall, is_dst=None)
    except pytz.NonExistentTimeError:
        why = "does not exist: the clocks move forward over it"
    except pytz.AmbiguousTimeError:
        why = "happens twice: the clocks go back over it"
    raise ResultError("at", f"{wall:%d.%m.%Y %H:%M} {why} in {name}; choose another time")


def _window_refusal(at: datetime, zones: tuple[str, ...], window: CallingWindow) -> str | None:
    """Why the window is closed at ``at`` in some zone of the order, else None."""
    first = local_wall(at, zones[0])
    hours = f"{_hhmm(window.start)}–{_hhmm(window.end)}"
    for name in zones:
        if window_open(at, (name,), window):
            continue
        local = local_wall(at, name)
        day = local.date()
        if day in window.holidays:
            return f"{day:%d.%m.%Y} is a holiday with no calls ({name})"
        if day.weekday() not in window.weekdays:
            return f"{day:%d.%m.%Y} is a {_WEEKDAYS[day.weekday()]}, not a calling day ({name})"
        if name == zones[0]:
            return f"{local:%H:%M} is outside the calling window {hours} ({name})"
        return (f"{first:%H:%M} ({zones[0]}) is {local:%H:%M} in {name}, outside the calling "
                f"window {hours} there")  # fmt: skip
    return None


# ---- fields ------------------------------------------------------------------------------


def _text(form: Mapping[str, Any], name: str, *, required: bool, limit: int) -> str:
    """A text in any script, stripped; no control characters; at most ``limit`` long."""
    value = form.get(name)
    if value is None and not required:
        return ""
    if value is None:
        raise ResultError(name, "required, a non-empty text")
    if not isinstance(value, str):
        raise ResultError(name, f"a text, got {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise ResultError(name, "required, a non-empty text")
    if len(value) > limit:
        raise ResultError(name, f"at most {limit} characters, got {len(value)}")
    bad = next((c for c in value if unicodedata.category(c) in _CONTROL), None)
    if bad is not None:
        raise ResultError(name, f"no control characters or line breaks (U+{ord(bad):04X})")
    return value


def _comment(form: Mapping[str, Any]) -> str:
    return _text(form, "comment", required=False, limit=MAX_TEXT)


def _choice(form: Mapping[str, Any], name: str, values: tuple[str, ...]) -> str:
    value = form.get(name)
    if not isinstance(value, str) or value not in values:
        raise ResultError(name, f"one of {', '.join(values)}; got {value!r}")
    return value


def _duplicate_of(form: Mapping[str, Any], context: ResultContext) -> str:
    if form.get("duplicate_of") is None:
        raise ResultError("duplicate_of", "required with problem 'Дубль': the order this "
                                          "one duplicates")  # fmt: skip
    original = _text(form, "duplicate_of", required=True, limit=MAX_ORDER_ID)
    if original == context.order_id:
        raise ResultError("duplicate_of", f"an order cannot duplicate itself ({original!r})")
    if not context.known_order(original):
        raise ResultError("duplicate_of", f"no order {original!r} in campaign "
                                          f"{context.settings.name!r}")  # fmt: skip
    return original


def _joined(first: str, second: str) -> str:
    return f"{first}, {second}" if second else first


def _shown(text: str) -> str:
    return datetime.fromisoformat(text).strftime("%d.%m.%Y %H:%M")


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")
