"""Where a number's customer may be and whether the calling window is open there: the one
answer ``phone-info`` prints and «почему не звоним?» explains (business-rules §4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from campaigns.phones import PhoneCheck
from campaigns.settings import CallingWindow
from campaigns.timezones import CustomerPlace, NumberingLookup, TzSource, resolve_timezone
from campaigns.window import next_window_open, window_open


@dataclass(frozen=True, slots=True)
class ZoneFacts:
    """Candidate zones (westernmost first), where they came from, and the window at ``at``:
    open in all of them, and when it next opens (None for an invalid number, or never)."""

    zones: tuple[str, ...]
    source: TzSource
    region: str | None
    country: str | None
    window_open: bool | None
    next_open: datetime | None
    notes: tuple[str, ...] = ()


def zone_facts(
    phone: PhoneCheck,
    place: CustomerPlace,
    *,
    at: datetime,
    window: CallingWindow,
    default_tz: str,
    numbering: NumberingLookup | None = None,
) -> ZoneFacts:
    """The zones of ``phone`` and ``place`` and the window in all of them at ``at``."""
    tz = resolve_timezone(phone, place, at=at, default_tz=default_tz, numbering=numbering)
    opened = window_open(at, tz.zones, window) if phone.valid else None
    opens = next_window_open(at, tz.zones, window) if phone.valid else None
    country = phone.country or place.country
    return ZoneFacts(tz.zones, tz.source, tz.region, country, opened, opens, tz.notes)
