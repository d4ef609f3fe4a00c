"""Parsing the simulator's orders file (JSON Lines) with errors that name line and field."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from campaigns.calls import CallResult
from campaigns.orders import Order
from dialer.clock_text import parse_utc
from dialer.sim.crm import CANCELLED, StatusChange
from dialer.sim.phones import SimCallee, parse_disposition


class SimInputError(Exception):
    """A line of the orders file is malformed; the message names the line and field."""


_UNANSWERED = {
    r.value: r
    for r in (
        CallResult.NO_ANSWER,
        CallResult.BUSY,
        CallResult.CONGESTION,
        CallResult.INVALID_NUMBER,
    )
}


def read_orders(lines: Iterable[str]) -> Iterator[tuple[Order, SimCallee]]:
    """One ``(order, callee)`` per non-blank line; the first bad line raises."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SimInputError(f"line {number}: not JSON: {exc.msg}") from None
        if not isinstance(raw, dict):
            raise SimInputError(f"line {number}: expected a JSON object")
        try:
            yield _order(raw), _callee(raw.get("sim") or {})
        except SimInputError as exc:
            raise SimInputError(f"line {number}: {exc}") from None


def _order(raw: dict[str, Any]) -> Order:
    created = _text(raw, "created_at")
    try:
        created_at = parse_utc(created)
    except ValueError:
        raise SimInputError(f"created_at: not an ISO 8601 time with a zone: {created!r}") from None
    prepaid = raw.get("prepaid", False)
    if not isinstance(prepaid, bool):
        raise SimInputError("prepaid: expected true or false")
    return Order(
        id=_text(raw, "id"),
        phone=_text(raw, "phone"),
        name=_text(raw, "name", ""),
        product=_text(raw, "product", ""),
        created_at=created_at,
        status=_text(raw, "status", "Ожидает подтверждения"),
        state=_text(raw, "state", "Новый"),
        source=_optional(raw, "source"),
        region=_optional(raw, "region"),
        city=_optional(raw, "city"),
        tz=_optional(raw, "tz"),
        country=_optional(raw, "country"),
        prepaid=prepaid,
    )


def _callee(sim: Any) -> SimCallee:
    if not isinstance(sim, dict):
        raise SimInputError("sim: expected an object")
    answer = sim.get("answer_on_attempt")
    if answer is not None and (
        not isinstance(answer, int) or isinstance(answer, bool) or answer < 1
    ):
        raise SimInputError("sim.answer_on_attempt: expected a positive integer or null")
    disposition = sim.get("disposition", "confirmed")
    if not isinstance(disposition, str):
        raise SimInputError("sim.disposition: expected a string")
    try:
        parse_disposition(disposition)
    except ValueError as exc:
        raise SimInputError(f"sim.disposition: {exc}") from None
    unanswered = sim.get("unanswered", "no_answer")
    if unanswered not in _UNANSWERED:
        raise SimInputError(f"sim.unanswered: expected one of {sorted(_UNANSWERED)}")
    misses = _agent_misses(sim.get("agent_answers", True))
    return SimCallee(answer, disposition, misses, _UNANSWERED[unanswered], _status_change(sim))


def _status_change(sim: dict[str, Any]) -> StatusChange | None:
    """``sim.cancel_at``: ISO time the order is cancelled in the CRM; ``sim.status_at``:
    ``{"at": ISO, "status": TEXT, "state": TEXT}`` (state optional). At most one of them."""
    cancel, change = sim.get("cancel_at"), sim.get("status_at")
    if cancel is not None and change is not None:
        raise SimInputError("sim.cancel_at and sim.status_at: give one of them")
    if cancel is not None:
        return StatusChange(_time(cancel, "sim.cancel_at"), CANCELLED)
    if change is None:
        return None
    if not isinstance(change, dict):
        raise SimInputError('sim.status_at: expected {"at": ISO, "status": TEXT}')
    status, state = change.get("status"), change.get("state")
    if not isinstance(status, str) or not status:
        raise SimInputError("sim.status_at.status: expected a status text")
    if state is not None and not isinstance(state, str):
        raise SimInputError("sim.status_at.state: expected a string")
    return StatusChange(_time(change.get("at"), "sim.status_at.at"), status, state)


def _time(value: Any, key: str) -> datetime:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return parse_utc(value)
    raise SimInputError(f"{key}: not an ISO 8601 time with a zone: {value!r}")


def _agent_misses(value: Any) -> int:
    if value is True:
        return 0
    if value is False:
        return 1
    if isinstance(value, int) and value >= 0:
        return value
    raise SimInputError("sim.agent_answers: expected true, false or a number of misses")


def _text(raw: dict[str, Any], key: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if value is None:
        raise SimInputError(f"{key}: missing")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise SimInputError(f"{key}: expected a string")
    return value


def _optional(raw: dict[str, Any], key: str) -> str | None:
    return None if raw.get(key) is None else _text(raw, key)
