"""The retry ladder (business-rules §5): when the next customer attempt is due, or none.

The window's edge: jitter spreads quick retries over 2–3 minutes so a batch does not redial
in lock-step; it must never cost the customer a same-day call. When the jittered time falls
after the window closes but the earliest allowed retry (the delay without jitter) still
leaves at least one ring timeout before closing, the retry is due at the last instant that
leaves a full ring timeout (closing − ring timeout). When less than a ring timeout is left
even at the earliest, the retry moves to the next opening (``retry_at``). A retry asked for
inside the window keeps its time: the window is open then, as for any dial.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from campaigns.settings import CallingWindow, RetrySettings
from campaigns.window import local_date, next_window_open, window_close, window_open


def retry_delay(attempt_no: int, retry: RetrySettings, jitter: float) -> timedelta:
    """Pause after the ``attempt_no``-th unanswered call; ``jitter`` in [0, 1) spreads
    quick retries over 2–3 minutes so a batch does not redial in lock-step."""
    if attempt_no <= retry.quick_retries:
        span = retry.quick_retry_max_s - retry.quick_retry_min_s
        return timedelta(seconds=round(retry.quick_retry_min_s + jitter * span))
    return timedelta(seconds=retry.slow_retry_s)


def retry_at(
    ended_at: datetime,
    attempt_no: int,
    *,
    retry: RetrySettings,
    jitter: float,
    zones: Sequence[str],
    window: CallingWindow,
    ring_timeout: timedelta,
) -> datetime:
    """The instant asked for the retry after the ``attempt_no``-th unanswered call, with
    the window-edge rule of this module's docstring; next_attempt_at then fits it into
    the window and the horizon."""
    wanted = ended_at + retry_delay(attempt_no, retry, jitter)
    if window_open(wanted, zones, window):
        return wanted
    earliest = ended_at + retry_delay(attempt_no, retry, 0.0)
    if earliest == wanted or not window_open(earliest, zones, window):
        return wanted
    last = window_close(earliest, zones, window) - ring_timeout
    return last if last >= earliest else wanted


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
