"""Results that come from the CRM (issue 15 §3): which source gives an answered call its
result, what a CRM reading means, when to read the CRM again, when to give up waiting.

Where agents work in the CRM's own order card (1C, RetailCRM; business-rules §7), the
result of a call is what the agent set there. With ``disposition_source`` "crm" (or "both")
the dialer follows an answered order in the CRM and maps what it reads:

* a status in ``crm_confirmed_statuses`` → confirmed; in ``crm_refused_statuses`` →
  refused (the status is the reason);
* otherwise a CRM callback date-time later than the end of the call → a callback then (one
  that is not later is the CRM's old value: an order is dialled no earlier than its
  callback, so the call ended after it);
* anything else (an intake status, or a status in neither list) → no result yet.

Nothing of such a result is written back: the CRM already has it. No result within
``crm_result_timeout_s`` of the call's end is «нет результата» for ops. The CRM is read at
``crm_result_read_s`` after the call, then at doubling intervals up to 8 × that, and
once more at the timeout; pushes are taken whenever they come.

Pure: time is an argument, nothing here reads a clock or the CRM.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from datetime import datetime, timedelta

from campaigns.dispositions import Disposition, DispositionKind
from campaigns.settings import CampaignSettings

READ_INTERVAL_GROWTH = 2
READ_INTERVAL_MAX_STEPS = 8  # the longest interval between reads, in crm_result_read_s
CRM_NOTE = "результат из CRM: статус «{status}»"


class DispositionSource(enum.Enum):
    """Who gives an answered call its result."""

    AGENT = "agent"  # the agent, on the dialer's page or through the API
    CRM = "crm"  # the agent, in the CRM's card: the dialer follows the order there
    BOTH = "both"  # whichever comes first; the other is ignored


def source_of(settings: CampaignSettings) -> DispositionSource:
    return DispositionSource(settings.disposition_source)


def follows_crm(settings: CampaignSettings) -> bool:
    """The dialer follows answered orders in the CRM ("crm" or "both")."""
    return source_of(settings) is not DispositionSource.AGENT


def agent_result_wait_s(settings: CampaignSettings) -> int | None:
    """How long an agent whose call was answered is held, offered nothing, for a result
    from the dialer's page (``wrap_up_max_s``). None with "crm": the agent records it in the
    CRM, which the dialer follows by itself, so the agent has only the plain wrap-up."""
    if source_of(settings) is DispositionSource.CRM:
        return None
    return settings.wrap_up_max_s


def no_result_after_s(settings: CampaignSettings) -> int:
    """After how long an answered call still without a result is «нет результата»: the
    agent's wait, the CRM's, or with "both" the later of them (either may still answer)."""
    source = source_of(settings)
    if source is DispositionSource.AGENT:
        return settings.wrap_up_max_s
    if source is DispositionSource.CRM:
        return settings.crm_result_timeout_s
    return max(settings.wrap_up_max_s, settings.crm_result_timeout_s)


def no_result_reason(settings: CampaignSettings) -> str:
    """What ops read beside an order that is «нет результата»."""
    wait = no_result_after_s(settings)
    source = source_of(settings)
    if source is DispositionSource.AGENT:
        return f"агент не дал результат за {wait} с"
    if source is DispositionSource.CRM:
        return f"в CRM нет результата за {wait} с (статус не изменился, нет даты перезвона)"
    return f"ни агент, ни CRM не дали результат за {wait} с"


def crm_verdict(
    status: str,
    callback_at: datetime | None,
    *,
    call_ended_at: datetime,
    settings: CampaignSettings,
) -> Disposition | None:
    """The result a CRM reading gives an answered order, or None (none yet)."""
    note = CRM_NOTE.format(status=status)
    if status in settings.crm_confirmed_statuses:
        return Disposition(DispositionKind.CONFIRMED, comment=note)
    if status in settings.crm_refused_statuses:
        return Disposition(DispositionKind.REFUSED, reason=status, comment=note)
    if callback_at is not None and callback_at > call_ended_at:
        return Disposition(DispositionKind.CALLBACK, callback_at=callback_at, comment=note)
    return None


def read_times(call_ended_at: datetime, settings: CampaignSettings) -> Iterator[datetime]:
    """When the CRM is read for an answered order's result: backing off from
    ``crm_result_read_s`` after the call, and last at the timeout."""
    step = timedelta(seconds=settings.crm_result_read_s)
    longest = step * READ_INTERVAL_MAX_STEPS
    last = call_ended_at + timedelta(seconds=settings.crm_result_timeout_s)
    at = call_ended_at + step
    while at < last:
        yield at
        step = min(step * READ_INTERVAL_GROWTH, longest)
        at += step
    yield last


def next_read_at(
    call_ended_at: datetime, last_read_at: datetime | None, settings: CampaignSettings
) -> datetime | None:
    """The next read after ``last_read_at`` (the first one when None); None after the
    read at the timeout: the order is «нет результата», and only a push can still end it."""
    return next(
        (at for at in read_times(call_ended_at, settings)
         if last_read_at is None or at > last_read_at),
        None,
    )  # fmt: skip


def is_overdue(call_ended_at: datetime, now: datetime, settings: CampaignSettings) -> bool:
    """The answered call has waited longer than ``no_result_after_s``: «нет результата»."""
    return (now - call_ended_at).total_seconds() > no_result_after_s(settings)
