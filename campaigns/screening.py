"""Screening before the queue (business-rules §2–§3): which orders are dialled at all."""

from __future__ import annotations

import enum
from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime

from campaigns.duplicates import normalise_text
from campaigns.orders import Order
from campaigns.phones import PhoneCheck, check_phone, is_do_not_call, is_foreign
from campaigns.settings import CampaignSettings
from campaigns.spam import SpamWords, spam_word_in
from campaigns.timezones import NumberingLookup, resolve_order_timezone


class Verdict(enum.Enum):
    DIAL = "dial"
    INVALID = "invalid"
    SPAM = "spam"
    CONSULT = "consult"
    DO_NOT_CALL = "do_not_call"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class Screening:
    """The verdict on one order, with what the queue needs when it is dialled."""

    verdict: Verdict
    e164: str | None
    zones: tuple[str, ...]
    identity: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ScreeningRules:
    """What screening consults besides the order: the campaign, spam words, the
    do-not-call list and the numbering plan (each an in-memory value or a port)."""

    settings: CampaignSettings
    spam: SpamWords
    do_not_call: Container[str] = frozenset()
    numbering: NumberingLookup | None = None


def screen(order: Order, rules: ScreeningRules, now: datetime) -> Screening:
    """Business-rules §2–§3 in order: never-touch and intake filter, invalid number,
    do-not-call, spam name, foreign number; otherwise the zones to dial in."""
    skip = _skip_reason(order, rules.settings, now)
    if skip is not None:
        return Screening(Verdict.SKIP, None, (), "", skip)
    phone = check_phone(order.phone)
    identity = _identity(order, phone.e164)
    if not phone.valid or phone.e164 is None:
        invalid = phone.invalid_reason.value if phone.invalid_reason else "invalid"
        return Screening(Verdict.INVALID, None, (), identity, invalid)
    tz = resolve_order_timezone(
        order, phone, at=now, default_tz=rules.settings.default_tz, numbering=rules.numbering
    )
    verdict, reason = _number_verdict(order, phone.e164, phone, rules)
    return Screening(verdict, phone.e164, tz.zones, identity, reason)


def _number_verdict(
    order: Order, e164: str, phone: PhoneCheck, rules: ScreeningRules
) -> tuple[Verdict, str | None]:
    if is_do_not_call(e164, rules.do_not_call):
        return Verdict.DO_NOT_CALL, "do-not-call list"
    word = spam_word_in(order.name, rules.spam)
    if word is not None:
        return Verdict.SPAM, f"spam word in the name: {word}"
    settings = rules.settings
    if settings.foreign_numbers == "flag" and is_foreign(phone, settings.countries):
        return Verdict.CONSULT, f"number of {phone.country}, outside {','.join(settings.countries)}"
    return Verdict.DIAL, None


def _skip_reason(order: Order, settings: CampaignSettings, now: datetime) -> str | None:
    """Never touch (000), prepaid, not waiting for confirmation, or an excluded source."""
    if order.status in settings.never_touch_statuses:
        return f"never-touch status {order.status!r}"
    if settings.skip_prepaid and order.prepaid:
        return "fully prepaid"
    if order.status == "Новый" and (order.created_at.year, order.created_at.month) < (
        now.year,
        now.month,
    ):
        return "status Новый of a previous month"
    if order.status not in settings.intake_statuses or order.state not in settings.intake_states:
        return f"not waiting for confirmation ({order.status} / {order.state})"
    if order.source is not None and order.source in settings.excluded_sources:
        return f"excluded source {order.source!r}"
    return None


def _identity(order: Order, e164: str | None) -> str:
    """Phone + name + product, normalised: orders sharing it are duplicates (§3)."""
    return "|".join(
        (e164 or order.phone, normalise_text(order.name), normalise_text(order.product))
    )
