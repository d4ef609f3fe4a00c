"""Outcomes written back to the CRM (business-rules §6) and their manual-style comments."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import NamedTuple

from campaigns import wording
from campaigns.window import local_date


class OutcomeKind(enum.Enum):
    """What the dialer tells the CRM about an order."""

    CONFIRMED = "confirmed"
    CALLBACK = "callback"
    REFUSED = "refused"
    NO_ANSWER = "no_answer"
    NO_ANSWER_FINAL = "no_answer_final"
    INVALID = "invalid"
    SPAM = "spam"
    DUPLICATE = "duplicate"
    CONSULT = "consult"
    SKIPPED = "skipped"

    @property
    def is_final(self) -> bool:
        """The order is finished: no further call (a callback and a no-answer are not)."""
        return self not in (OutcomeKind.NO_ANSWER, OutcomeKind.CALLBACK)


class Outcome(NamedTuple):
    """One write-back. ``attempt_no`` counts customer attempts so far; ``comment`` is
    already in the manuals' ``DD.MM - text`` form. ``write_back`` False: the result came
    from the CRM itself (issue 15 §3), so it is recorded but never sent back to it."""

    order_id: str
    kind: OutcomeKind
    at: datetime
    attempt_no: int
    call_made: bool
    problem: str | None = None
    callback_at: datetime | None = None
    comment: str = ""
    attempt_id: str | None = None
    write_back: bool = True


@dataclass(frozen=True, slots=True)
class CrmFields:
    """The CRM button and problem an outcome maps to (configuration; manuals' defaults).

    ``problem_configured``: the admin set ``problem`` in ``[crm.mapping.<outcome>]``, so it
    replaces the dialer's own wording of that outcome (``crm_problem``).
    """

    status: str
    problem: str | None
    problem_configured: bool = field(default=False, compare=False)


DEFAULT_CRM_MAPPING: dict[OutcomeKind, CrmFields] = {
    OutcomeKind.CONFIRMED: CrmFields("В буфер", None),
    OutcomeKind.CALLBACK: CrmFields("В работе", wording.PROBLEM_CALLBACK),
    OutcomeKind.REFUSED: CrmFields("Отказ", wording.PROBLEM_OTHER),
    OutcomeKind.NO_ANSWER: CrmFields("Недозвон", wording.PROBLEM_NO_ANSWER),
    OutcomeKind.NO_ANSWER_FINAL: CrmFields("Недозвон", wording.PROBLEM_NO_ANSWER),
    OutcomeKind.INVALID: CrmFields("Невалид", wording.PROBLEM_INVALID),
    OutcomeKind.SPAM: CrmFields("Невалид", wording.PROBLEM_SPAM),
    OutcomeKind.DUPLICATE: CrmFields("Невалид", wording.PROBLEM_DUPLICATE),
    OutcomeKind.CONSULT: CrmFields("Консультация", None),
}


def crm_problem(kind: OutcomeKind, problem: str | None, fields: CrmFields) -> str | None:
    """The problem written to the CRM for an outcome of ``kind`` whose dialer-side problem
    is ``problem``: a problem the admin configured wins over the dialer's own default text
    for the outcome (e.g. a dictionary code ``no-answer`` over «Не отвечает»); a problem a
    person picked (a refusal's reason, «Дубль» for an invalid) is kept."""
    default = DEFAULT_CRM_MAPPING.get(kind)
    own_text = problem is None or (default is not None and problem == default.problem)
    if fields.problem_configured and own_text:
        return fields.problem
    return problem or fields.problem


def manual_comment(at: datetime, zone: str, text: str) -> str:
    """``DD.MM - text`` with the date in the customer's local time (seed 001)."""
    return f"{_day_month(local_date(at, zone))} - {text}"


@lru_cache(maxsize=512)
def _day_month(day: date) -> str:
    """``DD.MM``, cached: every call's outcome is written on one of a few local days."""
    return f"{day.day:02d}.{day.month:02d}"
