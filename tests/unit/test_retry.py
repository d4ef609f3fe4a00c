"""The window-edge rule of campaigns/retry.py::retry_at, with one zone and with several."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from campaigns.retry import retry_at
from campaigns.settings import CallingWindow, RetrySettings

RING = timedelta(seconds=30)
WINDOW = CallingWindow()  # 10:00–19:00 local
RETRY = RetrySettings()  # quick retries 120–180 s, hourly from the 4th


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def asked(ended: datetime, zones: tuple[str, ...], attempt_no: int = 1) -> datetime:
    return retry_at(
        ended, attempt_no, retry=RETRY, jitter=0.9, zones=zones, window=WINDOW, ring_timeout=RING
    )


def test_rule_5_with_several_zones_the_first_to_close_sets_the_edge() -> None:
    # Samara closes at 15:00 UTC, an hour before Moscow: its edge counts.
    ended = utc(2026, 3, 10, 14, 57, 20)  # earliest 14:59:20, jittered 15:00:14
    assert asked(ended, ("Europe/Moscow", "Europe/Samara")) == utc(2026, 3, 10, 14, 59, 30)
    assert asked(ended, ("Europe/Moscow",)) == utc(2026, 3, 10, 15, 0, 14)  # Moscow still open


def test_rule_5_an_hourly_retry_has_no_jitter_to_pull_back() -> None:
    ended = utc(2026, 3, 10, 15, 30)  # 18:30 Moscow; one hour later is after closing
    assert asked(ended, ("Europe/Moscow",), attempt_no=4) == utc(2026, 3, 10, 16, 30)


def test_rule_5_a_retry_asked_for_at_night_is_left_to_the_next_opening() -> None:
    ended = utc(2026, 3, 10, 20, 0)  # 23:00 Moscow: the earliest is outside the window too
    assert asked(ended, ("Europe/Moscow",)) == ended + timedelta(seconds=174)
