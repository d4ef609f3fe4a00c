"""The do-not-call list in the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from dialer.storage.dnc import DncEntry, DoNotCallList
from dialer.storage.errors import InvalidValueError

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_number_is_listed_once_and_keeps_its_first_entry(engine: Engine) -> None:
    dnc = DoNotCallList(engine)
    assert dnc.add("+79161234567", now=NOW, reason="asked not to call") is True
    assert dnc.add("+79161234567", now=NOW + timedelta(days=1), reason="again") is False
    assert dnc.entries() == [DncEntry("+79161234567", "asked not to call", NOW)]


def test_contains_and_remove(engine: Engine) -> None:
    dnc = DoNotCallList(engine)
    dnc.add("+79161234567", now=NOW)
    assert dnc.contains("+79161234567") and not dnc.contains("+79161234568")
    assert dnc.remove("+79161234567") is True
    assert dnc.remove("+79161234567") is False
    assert not dnc.contains("+79161234567")


def test_entries_are_in_number_order(engine: Engine) -> None:
    dnc = DoNotCallList(engine)
    for number in ("+79990000000", "+77012345678", "+79160000000"):
        dnc.add(number, now=NOW)
    assert [e.e164 for e in dnc.entries()] == ["+77012345678", "+79160000000", "+79990000000"]


@pytest.mark.parametrize("bad", ["89161234567", "+7", "+0123456789", "+7916 123", ""])
def test_only_e164_numbers_are_accepted(engine: Engine, bad: str) -> None:
    with pytest.raises(InvalidValueError, match=r"not an E\.164 number"):
        DoNotCallList(engine).add(bad, now=NOW)
    assert DoNotCallList(engine).entries() == []
