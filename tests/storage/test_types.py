"""UTC instants in and out of the database, and the compact attempt-times text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import StatementError

from dialer.storage.models import DoNotCall
from dialer.storage.types import decode_instants, encode_instants

MSK = timezone(timedelta(hours=3))


def stored(engine: Engine, instant: datetime) -> datetime:
    with engine.begin() as connection:
        connection.execute(insert(DoNotCall).values(e164="+79160000000", added_at=instant))
        value = connection.scalar(select(DoNotCall.added_at))
    assert isinstance(value, datetime)
    return value


def test_an_aware_instant_comes_back_as_the_same_instant_in_utc(engine: Engine) -> None:
    value = stored(engine, datetime(2026, 3, 2, 12, 30, 15, 250, tzinfo=MSK))
    assert value == datetime(2026, 3, 2, 9, 30, 15, 250, tzinfo=UTC)
    assert value.tzinfo is UTC


def test_sqlite_stores_the_utc_wall_time(engine: Engine) -> None:
    stored(engine, datetime(2026, 3, 2, 12, 0, tzinfo=MSK))
    with engine.connect() as connection:
        raw = connection.exec_driver_sql("SELECT added_at FROM do_not_call").scalar()
    assert raw == "2026-03-02 09:00:00.000000"


def test_a_naive_datetime_is_refused(engine: Engine) -> None:
    with pytest.raises(StatementError, match="naive datetime refused"):
        stored(engine, datetime(2026, 3, 2, 12, 0))  # noqa: DTZ001 - the point of the test


def test_attempt_times_round_trip_in_utc_whole_seconds() -> None:
    instants = [datetime(2026, 3, 2, 10, 0, 5, tzinfo=MSK), datetime(2026, 3, 2, 9, 3, tzinfo=UTC)]
    text = encode_instants(instants)
    assert text == "20260302T070005Z,20260302T090300Z"
    assert decode_instants(text) == [
        datetime(2026, 3, 2, 7, 0, 5, tzinfo=UTC),
        datetime(2026, 3, 2, 9, 3, tzinfo=UTC),
    ]
    assert decode_instants("") == [] and encode_instants([]) == ""
