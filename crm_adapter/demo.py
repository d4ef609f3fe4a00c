"""The demo CRM: the in-memory CRM seeded from the demo orders, shaped for the local Asterisk.

``config/demo/orders.jsonl`` holds seed-001-shaped orders with a ``sim`` block saying how
the people behave. For a run on the local Asterisk the demo CRM:

* moves every ``created_at`` so the newest order arrived a minute before ``now`` (the
  spacing between orders is kept), so no order is "Новый" of a previous month or past the
  calling horizon;
* rewrites the last two digits of each dialable number so the callee doubles of
  ``config/asterisk/extensions-test.conf`` act as ``sim`` says: a customer who answers
  (on any attempt) ends in ``31`` (answers, stays 3 s), one who never answers in ``02``,
  busy in ``03``, congestion in ``04``, an unallocated number in ``05``. All orders with
  the same number take the behaviour of the oldest, so duplicates stay duplicates.
  Numbers the dialer refuses before dialling (wrong length, fake, foreign) are left alone;
* remembers each order's scripted verdict (``disposition``) for the service's
  ``auto_disposition = "scripted"``: the test-double agent "says" confirmed, refused with
  the reason, or a callback (moved by the same shift as ``created_at``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from campaigns.orders import Order
from crm_adapter.errors import CrmDataError
from crm_adapter.fake import InMemoryCrm
from crm_adapter.order_json import parse_instant, parse_order

_ENDINGS = {"answer": "31", "no_answer": "02", "busy": "03", "congestion": "04"}
_ENDINGS["invalid_number"] = "05"
_RUSSIAN_MOBILE = re.compile(r"(\+?7|8)[79]\d{9}")


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the demo's agent says after an answered call: ``confirmed``, ``refused`` (with
    ``reason``) or ``callback`` (at ``callback_at``)."""

    kind: str
    reason: str | None = None
    callback_at: datetime | None = None


class DemoCrm(InMemoryCrm):
    """``InMemoryCrm`` holding the demo orders; ``verdict(order_id)`` is the scripted
    disposition of an answered call."""

    def __init__(self, orders: tuple[Order, ...], verdicts: dict[str, Verdict]) -> None:
        super().__init__(orders)
        self._verdicts = verdicts

    @classmethod
    def from_file(cls, path: Path, now: datetime) -> DemoCrm:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise CrmDataError(f"{path}: cannot read: {exc}") from exc
        raws = [_json(line, f"{path}:{n}") for n, line in enumerate(lines, 1) if line.strip()]
        orders = [parse_order(_order_part(raw), f"{path}: {raw.get('id')}") for raw in raws]
        if not orders:
            raise CrmDataError(f"{path}: no orders")
        shift = now - timedelta(minutes=1) - max(o.created_at for o in orders)
        endings = _endings(orders, raws)
        moved = tuple(
            replace(o, created_at=o.created_at + shift, phone=_phone(o.phone, endings))
            for o in orders
        )
        verdicts = {
            o.id: _verdict(raw.get("sim") or {}, shift) for o, raw in zip(orders, raws, strict=True)
        }
        return cls(moved, verdicts)

    def verdict(self, order_id: str) -> Verdict:
        return self._verdicts.get(order_id, Verdict("confirmed"))


def _json(line: str, where: str) -> dict[str, Any]:
    try:
        raw = json.loads(line)
    except ValueError as exc:
        raise CrmDataError(f"{where}: not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise CrmDataError(f"{where}: expected a JSON object")
    return raw


def _order_part(raw: dict[str, Any]) -> dict[str, Any]:
    order = {k: v for k, v in raw.items() if k != "sim"}
    order.setdefault("state", "Новый")
    return order


def _endings(orders: list[Order], raws: list[dict[str, Any]]) -> dict[str, str]:
    """Number → the last two digits; the oldest order with a number decides."""
    endings: dict[str, str] = {}
    for order, raw in sorted(zip(orders, raws, strict=True), key=lambda pair: pair[0].created_at):
        sim = raw.get("sim") or {}
        behaviour = "answer" if sim.get("answer_on_attempt") else sim.get("unanswered")
        endings.setdefault(_digits(order.phone), _ENDINGS.get(behaviour or "", "02"))
    return endings


def _phone(phone: str, endings: dict[str, str]) -> str:
    digits = _digits(phone)
    if not _RUSSIAN_MOBILE.fullmatch(digits) or len(set(digits[-7:])) == 1:
        return phone  # screened before any dial: keep it as the CRM wrote it
    ending = endings[digits]
    positions = [i for i, c in enumerate(phone) if c.isdigit()][-2:]
    chars = list(phone)
    for position, digit in zip(positions, ending, strict=False):
        chars[position] = digit
    return "".join(chars)


def _digits(phone: str) -> str:
    return "".join(c for c in phone if c.isdigit() or c == "+")


def _verdict(sim: dict[str, Any], shift: timedelta) -> Verdict:
    text = str(sim.get("disposition") or "confirmed")
    if text.startswith("refused"):
        return Verdict("refused", reason=text.partition(":")[2] or "Передумал")
    if text.startswith("callback:"):
        at = parse_instant(text.partition(":")[2], "sim.disposition") + shift
        return Verdict("callback", callback_at=at)
    return Verdict("confirmed")
