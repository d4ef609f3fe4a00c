"""The calling window of business-rules §4: local 10:00–19:00 in every candidate zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import pytz
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.regions import ALL_REGIONS
from campaigns.settings import CallingWindow
from campaigns.window import (
    local_date,
    local_isoformat,
    local_wall,
    next_window_open,
    window_close,
    window_open,
)

WINDOW = CallingWindow()  # 10:00-19:00, every day
MOSCOW = ("Europe/Moscow",)
YAKUTIA = ("Asia/Yakutsk", "Asia/Ust-Nera", "Asia/Srednekolymsk")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("local", "is_open"),
    [
        ("09:59:59", False),
        ("10:00:00", True),
        ("18:59:59", True),
        ("19:00:00", False),
    ],
)
def test_rule_4_window_edges_in_local_time(local: str, is_open: bool) -> None:
    at = datetime.fromisoformat(f"2024-06-03T{local}+03:00")  # Moscow local time
    assert window_open(at, MOSCOW, WINDOW) is is_open


@pytest.mark.parametrize(
    ("zone", "opens_utc", "closes_utc"),
    [
        ("Europe/Kaliningrad", "2024-06-03T08:00:00", "2024-06-03T17:00:00"),  # UTC+2
        ("Europe/Samara", "2024-06-03T06:00:00", "2024-06-03T15:00:00"),  # UTC+4
        ("Asia/Kamchatka", "2024-06-02T22:00:00", "2024-06-03T07:00:00"),  # UTC+12
    ],
)
def test_rule_4_window_follows_the_customers_zone(
    zone: str, opens_utc: str, closes_utc: str
) -> None:
    opens, closes = utc(opens_utc), utc(closes_utc)
    assert not window_open(opens - timedelta(seconds=1), (zone,), WINDOW)
    assert window_open(opens, (zone,), WINDOW)
    assert window_open(closes - timedelta(seconds=1), (zone,), WINDOW)
    assert not window_open(closes, (zone,), WINDOW)
    assert next_window_open(opens - timedelta(hours=1), (zone,), WINDOW) == opens
    assert window_close(opens, (zone,), WINDOW) == closes


def test_rule_4_window_open_only_if_open_in_every_candidate_zone() -> None:
    # 02:00Z: Yakutsk 11:00 and Ust-Nera 12:00 are open, Srednekolymsk 13:00 too.
    assert window_open(utc("2024-06-03T02:00"), YAKUTIA, WINDOW)
    # 00:30Z: Yakutsk 09:30 is still closed although the others are open.
    assert not window_open(utc("2024-06-03T00:30"), YAKUTIA, WINDOW)
    # 08:30Z: Srednekolymsk 19:30 is closed although Yakutsk 17:30 is open.
    assert not window_open(utc("2024-06-03T08:30"), YAKUTIA, WINDOW)


def test_rule_4_several_zones_open_when_the_last_opens_and_close_when_the_first_closes() -> None:
    at = utc("2024-06-03T00:30")
    assert next_window_open(at, YAKUTIA, WINDOW) == utc("2024-06-03T01:00")  # Yakutsk 10:00
    assert window_close(utc("2024-06-03T01:00"), YAKUTIA, WINDOW) == utc("2024-06-03T08:00")


def test_rule_4_next_window_open_is_now_when_the_window_is_open() -> None:
    at = utc("2024-06-03T12:34:56.789")
    assert next_window_open(at, MOSCOW, WINDOW) == at


def test_rule_5_a_retry_after_the_window_closed_waits_for_next_days_opening() -> None:
    last_call = datetime.fromisoformat("2024-06-03T18:59:00+03:00")
    retry_at = last_call + timedelta(minutes=2)  # 19:01 local: closed
    assert next_window_open(retry_at, MOSCOW, WINDOW) == utc("2024-06-04T07:00")  # 10:00 MSK


def test_rule_4_zones_too_far_apart_for_the_window_never_open_together() -> None:
    at = utc("2024-06-03T00:00")
    assert next_window_open(at, ("Europe/Moscow", "Asia/Kamchatka"), WINDOW) is None  # 9 h
    assert next_window_open(at, ("America/New_York", "Asia/Tokyo"), WINDOW) is None  # 13 h
    assert not window_open(utc("2024-06-03T07:00"), ("Europe/Moscow", "Asia/Kamchatka"), WINDOW)


def test_rule_4_zones_eight_hours_apart_share_one_hour() -> None:
    zones = ("Europe/Moscow", "Asia/Magadan")  # UTC+3 and UTC+11
    assert next_window_open(utc("2024-06-03T00:00"), zones, WINDOW) == utc("2024-06-03T07:00")
    assert window_close(utc("2024-06-03T07:00"), zones, WINDOW) == utc("2024-06-03T08:00")


def test_rule_4_kazakhstan_moved_from_utc6_to_utc5_on_2024_03_01() -> None:
    almaty = ("Asia/Almaty",)
    # 04:30Z is 10:30 at UTC+6 (open) but 09:30 at UTC+5 (closed).
    assert window_open(utc("2024-02-29T04:30"), almaty, WINDOW)
    assert not window_open(utc("2024-03-02T04:30"), almaty, WINDOW)
    # 13:30Z is 19:30 at UTC+6 (closed) but 18:30 at UTC+5 (open).
    assert not window_open(utc("2024-02-29T13:30"), almaty, WINDOW)
    assert window_open(utc("2024-03-02T13:30"), almaty, WINDOW)
    assert next_window_open(utc("2024-02-29T14:00"), almaty, WINDOW) == utc("2024-03-01T05:00")


def test_rule_4_dst_zone_opens_at_local_10_on_both_sides_of_the_change() -> None:
    berlin = ("Europe/Berlin",)  # CET -> CEST on 2024-03-31
    assert next_window_open(utc("2024-03-30T18:00"), berlin, WINDOW) == utc("2024-03-31T08:00")
    assert next_window_open(utc("2024-03-29T18:00"), berlin, WINDOW) == utc("2024-03-30T09:00")
    new_york = ("America/New_York",)  # EST -> EDT on 2024-03-10, back on 2024-11-03
    assert next_window_open(utc("2024-03-10T00:00"), new_york, WINDOW) == utc("2024-03-10T14:00")
    assert next_window_open(utc("2024-11-03T00:00"), new_york, WINDOW) == utc("2024-11-03T15:00")


def test_dst_a_window_edge_in_the_skipped_hour_opens_when_the_clock_jumps() -> None:
    window = CallingWindow(start=time(2, 30), end=time(10, 0))
    new_york = ("America/New_York",)  # 2024-03-10 02:00 EST -> 03:00 EDT (07:00Z)
    assert next_window_open(utc("2024-03-10T05:00"), new_york, window) == utc("2024-03-10T07:00")
    assert not window_open(utc("2024-03-10T06:59:59"), new_york, window)
    # The day after, 02:30 EDT exists again.
    assert next_window_open(utc("2024-03-10T15:00"), new_york, window) == utc("2024-03-11T06:30")


def test_dst_a_window_end_in_the_skipped_hour_closes_when_the_clock_jumps() -> None:
    window = CallingWindow(start=time(1, 0), end=time(2, 30))
    berlin = ("Europe/Berlin",)  # 2024-03-31 02:00 CET -> 03:00 CEST (01:00Z)
    assert window_close(utc("2024-03-31T00:30"), berlin, window) == utc("2024-03-31T01:00")


def test_dst_a_window_end_in_the_repeated_hour_reopens_when_the_clock_goes_back() -> None:
    window = CallingWindow(start=time(0, 0), end=time(2, 30))
    berlin = ("Europe/Berlin",)  # 2024-10-27 03:00 CEST -> 02:00 CET (01:00Z)
    assert window_close(utc("2024-10-26T22:00"), berlin, window) == utc("2024-10-27T00:30")
    assert not window_open(utc("2024-10-27T00:30"), berlin, window)  # 02:30 CEST
    assert next_window_open(utc("2024-10-27T00:30"), berlin, window) == utc("2024-10-27T01:00")
    assert window_close(utc("2024-10-27T01:00"), berlin, window) == utc("2024-10-27T01:30")


def test_dst_a_window_start_in_the_repeated_hour_is_met_twice() -> None:
    window = CallingWindow(start=time(1, 30), end=time(9, 0))
    new_york = ("America/New_York",)  # 2024-11-03 02:00 EDT -> 01:00 EST (06:00Z)
    assert next_window_open(utc("2024-11-03T04:00"), new_york, window) == utc("2024-11-03T05:30")
    # At 06:00Z the clock shows 01:00 again, before the start: closed until 01:30 EST.
    assert window_close(utc("2024-11-03T05:30"), new_york, window) == utc("2024-11-03T06:00")
    assert next_window_open(utc("2024-11-03T06:00"), new_york, window) == utc("2024-11-03T06:30")
    assert window_close(utc("2024-11-03T06:30"), new_york, window) == utc("2024-11-03T14:00")


def test_rule_4_weekdays_and_holidays_are_local_dates() -> None:
    window = CallingWindow(weekdays=frozenset(range(5)), holidays=frozenset({date(2024, 6, 12)}))
    friday_evening = utc("2024-06-07T16:30")  # 19:30 MSK Friday
    assert next_window_open(friday_evening, MOSCOW, window) == utc("2024-06-10T07:00")
    assert not window_open(utc("2024-06-12T09:00"), MOSCOW, window)  # Russia Day
    assert next_window_open(utc("2024-06-11T16:00"), MOSCOW, window) == utc("2024-06-13T07:00")
    # Kamchatka's Monday 10:00 is still Sunday in UTC.
    assert next_window_open(friday_evening, ("Asia/Kamchatka",), window) == utc("2024-06-09T22:00")


def test_next_window_open_gives_up_after_the_horizon() -> None:
    at = utc("2024-06-03T16:30")
    assert next_window_open(at, MOSCOW, WINDOW, horizon=timedelta(hours=12)) is None
    assert next_window_open(at, MOSCOW, WINDOW, horizon=timedelta(hours=15)) == utc(
        "2024-06-04T07:00"
    )


def test_window_close_of_a_closed_window_is_the_instant_itself() -> None:
    at = utc("2024-06-03T20:00")
    assert window_close(at, MOSCOW, WINDOW) == at


def test_instants_must_be_aware_and_zones_given() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        window_open(datetime(2024, 6, 3, 12), MOSCOW, WINDOW)  # noqa: DTZ001 - under test
    with pytest.raises(ValueError, match="at least one"):
        next_window_open(utc("2024-06-03T12:00"), (), WINDOW)


ZONE_POOL = (
    "Europe/Moscow",
    "Europe/Kaliningrad",
    "Asia/Yakutsk",
    "Asia/Srednekolymsk",
    "Asia/Almaty",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kamchatka",
)
INSTANTS = st.datetimes(
    min_value=datetime(2023, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(2026, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@settings(max_examples=200, deadline=None)
@given(
    INSTANTS,
    st.lists(st.sampled_from(ZONE_POOL), min_size=1, max_size=3, unique=True),
    st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=5, max_size=5),
)
def test_next_window_open_is_open_and_nothing_sampled_before_it_is(
    at: datetime, zones: list[str], fractions: list[float]
) -> None:
    found = next_window_open(at, zones, WINDOW)
    if found is None:
        horizon = timedelta(days=30)
        assert not any(window_open(at + f * horizon, zones, WINDOW) for f in fractions)
        return
    assert found >= at
    assert window_open(found, zones, WINDOW)
    gap = found - at
    earlier = [at + f * gap for f in fractions] + [found - timedelta(seconds=1)]
    assert not any(window_open(t, zones, WINDOW) for t in earlier if at <= t < found)
    assert window_close(found, zones, WINDOW) > found


_WALL_ZONES = sorted(
    {z for r in ALL_REGIONS for z in (*r.zones, *(cz for _, cz in r.city_zones))}
    | {"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"}
)


@given(
    at=st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2045, 1, 1),  # noqa: DTZ001
                    timezones=st.just(UTC)),
    name=st.sampled_from(_WALL_ZONES),
)  # fmt: skip
@settings(max_examples=400, deadline=None)
def test_local_wall_time_is_pytz_local_time_in_every_zone_we_use(at: datetime, name: str) -> None:
    assert local_wall(at, name) == at.astimezone(pytz.timezone(name)).replace(tzinfo=None)


@given(
    at=st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2045, 1, 1),  # noqa: DTZ001
                    timezones=st.sampled_from([UTC, pytz.utc])),
    name=st.sampled_from(_WALL_ZONES),
)  # fmt: skip
@settings(max_examples=400, deadline=None)
def test_local_text_and_date_are_pytz_local_time_in_every_zone_we_use(
    at: datetime, name: str
) -> None:
    """The simulator's ``local_time`` and the comment's date: the same as pytz gives, with
    microseconds, before a zone's last transition and in DST zones too."""
    local = at.astimezone(pytz.timezone(name))
    assert local_isoformat(at, name) == local.isoformat()
    assert local_date(at, name) == local.date()
