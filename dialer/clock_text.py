"""Instants as text: ISO 8601 in, ``YYYY-MM-DDTHH:MM:SSZ`` out, always aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_utc(text: str) -> datetime:
    """ISO 8601 with an offset or ``Z`` → aware UTC; naive input is refused.

    The zone is ``datetime.UTC``, the one the policy core computes in: two aware instants
    with different UTC objects (pytz's and datetime's) compare ~15x slower than two with
    the same, and the simulator compares instants millions of times (heaps, windows)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"time without a zone: {text!r}")
    return value.astimezone(UTC)


def iso_z(at: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` for an aware instant."""
    if at.tzinfo is not UTC and at.utcoffset():
        at = at.astimezone(UTC)
    return at.replace(tzinfo=None, microsecond=0).isoformat() + "Z"
