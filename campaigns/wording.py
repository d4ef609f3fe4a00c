"""The words an outcome is written in: the comment texts and problems the CRM's operators
know from the manuals (business-rules §6, seed 001). The only place they are spelled.

A comment text here is the part after ``DD.MM - `` (``outcomes.manual_comment`` adds the
date); ``note`` is the agent's own comment as ``", …"`` or empty.
"""

from __future__ import annotations

from datetime import datetime

# ---- problems (the CRM's «Проблема» field) ----
PROBLEM_INVALID = "Невалидный номер"
PROBLEM_SPAM = "Спам"
PROBLEM_DUPLICATE = "Дубль"
PROBLEM_CONSULT = "Консультация"
PROBLEM_NO_ANSWER = "Не отвечает"
PROBLEM_CALLBACK = "Нужно перезвонить"
PROBLEM_OTHER = "Другое"
PROBLEM_FEEDBACK = "Обратная связь"  # Невалид: the order was a way to reach the shop (001)
PROBLEM_CHANGED_MIND = "Передумал"

# ---- the agent's «Невалид» problems (seed 001; business-rules §6) ----
INVALID_PROBLEMS = (PROBLEM_INVALID, PROBLEM_DUPLICATE, PROBLEM_FEEDBACK)

# ---- the agent's «Отказ» problems: the campaign's ``refusal_problems`` by default ----
# seed 001 («Передумал», «Другое») and seed 004's cancelled group («Не устроила цена»,
# «Не устроила доставка», «Купил в другом месте», «Нет в наличии», «Снято с производства»)
REFUSAL_PROBLEMS = (
    PROBLEM_CHANGED_MIND,
    "Не устроила цена",
    "Не устроила доставка",
    "Купил в другом месте",
    "Нет в наличии",
    "Снято с производства",
    PROBLEM_OTHER,
)

# ---- whether a call was made (the CRM's «Звонок» field) ----
CALL_MADE = "совершался"
CALL_NOT_MADE = "не совершался"

# ---- comments on screening refusals, before any call ----
INVALID_AT_SCREENING = "невалидный номер"
SPAM_AT_SCREENING = "спам"
OUTSIDE_COUNTRIES = "номер вне стран кампании"


def duplicate_of(order_id: str | None) -> str:
    """The comment of a Невалид/"Дубль" outcome, naming the kept order (business-rules §3)."""
    return f"дубль к заказу №{order_id}"


# ---- comments after calls ----
NUMBER_DOES_NOT_EXIST = "номер не существует"


def no_answer(attempts: int, *, busy: bool) -> str:
    return f"не отвечает-{attempts}" + (", занято" if busy else "")


def no_answer_final(attempts: int) -> str:
    return f"не отвечает-{attempts}, недозвон"


# ---- comments on dispositions ----
def note(comment: str | None) -> str:
    return f", {comment}" if comment else ""


def confirmed(note: str) -> str:
    return f"подтвержден{note}"


def refused(reason: str | None, note: str) -> str:
    return f"отказ: {reason}{note}"


def invalid(note: str) -> str:
    return f"невалид{note}"


def consult(note: str) -> str:
    return f"консультация{note}"


def callback(local_due: datetime, note: str) -> str:
    return f"перезвонить {local_due:%d.%m %H:%M}{note}"


def call_made(made: bool) -> str:
    return CALL_MADE if made else CALL_NOT_MADE
