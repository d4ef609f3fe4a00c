"""Instants as text: ISO 8601 in, ``YYYY-MM-DDTHH:MM:SSZ`` out, always aware UTC."""

from __future__ import annotations

from datetime import datetime

import pytz


def parse_utc(text: str) -> datetime:
    """ISO 8601 with an offset or ``Z`` → aware UTC; naive input is refused."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"time without a zone: {text!r}")
    return value.astimezone(pytz.UTC)


def iso_z(at: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` for an aware instant."""
    if at.tzinfo is not pytz.UTC and at.utcoffset():
        at = at.astimezone(pytz.UTC)
    return at.replace(tzinfo=None, microsecond=0).isoformat() + "Z"
