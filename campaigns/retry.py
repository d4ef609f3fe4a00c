"""The retry ladder (business-rules §5): when the next customer attempt is due, or none."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from campaigns.settings import CallingWindow, RetrySettings
from campaigns.window import local_wall, next_window_open


def local_date(at: datetime, zone: str) -> date:
    """The calendar date at instant ``at`` in ``zone`` (the order's reference zone)."""
    return local_wall(at, zone).date()


def retry_delay(attempt_no: int, retry: RetrySettings, jitter: float) -> timedelta:
    """Pause after the ``attempt_no``-th unanswered call; ``jitter`` in [0, 1) spreads
    quick retries over 2–3 minutes so a batch does not redial in lock-step."""
    if attempt_no <= retry.quick_retries:
        span = retry.quick_retry_max_s - retry.quick_retry_min_s
        return timedelta(seconds=round(retry.quick_retry_min_s + jitter * span))
    return timedelta(seconds=retry.slow_retry_s)


def has_dense_day(attempt_times: Sequence[datetime], zone: str, retry: RetrySettings) -> bool:
    """Seed 004: some local day had at least N calls within the span (3 within 5 hours)."""
    need = retry.final_min_calls_per_day
    if need <= 0:
        return True
    span = timedelta(hours=retry.final_span_hours)
    ordered = sorted(attempt_times)
    for i in range(len(ordered) - need + 1):
        first, last = ordered[i], ordered[i + need - 1]
        if last - first <= span and local_date(first, zone) == local_date(last, zone):
            return True
    return False


def within_horizon(
    at: datetime,
    horizon_start: date,
    attempt_times: Sequence[datetime],
    zone: str,
    retry: RetrySettings,
) -> bool:
    """Calls go on over ``calling_days`` local days counting the arrival day; past that
    only while no day was dense enough for a final Недозвон, for at most
    ``max_extra_days`` more."""
    day_index = (local_date(at, zone) - horizon_start).days
    if day_index < retry.calling_days:
        return True
    if day_index >= retry.calling_days + retry.max_extra_days:
        return False
    return not has_dense_day(attempt_times, zone, retry)


def next_attempt_at(
    earliest: datetime,
    *,
    zones: Sequence[str],
    window: CallingWindow,
    retry: RetrySettings,
    horizon_start: date,
    attempt_times: Sequence[datetime],
) -> datetime | None:
    """First instant at or after ``earliest`` inside the window and the horizon, or None
    when the order must stop with the final no-answer."""
    at = next_window_open(earliest, zones, window)
    if at is None:
        return None
    if not within_horizon(at, horizon_start, attempt_times, zones[0], retry):
        return None
    return at
