"""The pre-dial re-check (business-rules §2): does an order leave the queue silently?"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from campaigns.outcomes import CrmFields, OutcomeKind
from campaigns.settings import CampaignSettings
from crm_adapter.port import CrmOrderStatus


def dialer_statuses(mapping: Mapping[OutcomeKind, CrmFields]) -> frozenset[str]:
    """The statuses the dialer itself leaves on an order still in its queue (the CRM
    values of the non-final outcomes: "Недозвон", "В работе")."""
    return frozenset(fields.status for kind, fields in mapping.items() if not kind.is_final)


def leave_queue_reason(
    current: CrmOrderStatus,
    settings: CampaignSettings,
    *,
    dialer_written: Collection[str] = (),
) -> str | None:
    """Why the order must leave the queue with no call and no write, or None to dial.

    Leaves: a never-touch status (000), full prepayment, an excluded source, and any
    change made by a person: a status that is neither an intake status nor one the
    dialer writes (``dialer_written``), or an intake status whose state is no longer an
    intake state.
    """
    if current.status in settings.never_touch_statuses:
        return f"never-touch status {current.status!r}"
    if settings.skip_prepaid and current.prepaid:
        return "fully prepaid"
    if current.source is not None and current.source in settings.excluded_sources:
        return f"excluded source {current.source!r}"
    return _changed_by_person(current, settings, dialer_written)


def _changed_by_person(
    current: CrmOrderStatus, settings: CampaignSettings, dialer_written: Collection[str]
) -> str | None:
    if current.status in settings.intake_statuses:
        state_checked = current.state is not None and bool(settings.intake_states)
        if state_checked and current.state not in settings.intake_states:
            return f"state changed to {current.state!r}"
        return None
    if current.status in dialer_written:
        return None
    return f"status changed to {current.status!r}"
