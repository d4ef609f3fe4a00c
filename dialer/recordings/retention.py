"""How long recordings are kept: pure functions of time, no file system.

``recordings_retention_days`` 0 keeps every recording; N > 0 deletes a recording once it is
older than N days (its file's modification time: when MixMonitor finished writing it)."""

from __future__ import annotations

from datetime import datetime, timedelta

MAX_RETENTION_DAYS = 36_500  # a hundred years: anything longer is a typo


def cutoff(now: datetime, days: int) -> datetime | None:
    """Files last written before this are past retention; None: kept forever (0 days)."""
    if days <= 0:
        return None
    return now - timedelta(days=days)


def expired(written_at: datetime, now: datetime, days: int) -> bool:
    """Whether a recording written at ``written_at`` is past retention at ``now``."""
    limit = cutoff(now, days)
    return limit is not None and written_at < limit


def check_days(days: int) -> int:
    """``days`` if it is a retention setting (0..MAX_RETENTION_DAYS), else ValueError."""
    if isinstance(days, bool) or not 0 <= days <= MAX_RETENTION_DAYS:
        raise ValueError(f"recordings_retention_days: 0 (keep forever) .. {MAX_RETENTION_DAYS}")
    return days
