"""The crm_cursors table (migration 0007): a CRM intake cursor by name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from dialer.storage.cursors import MAX_CURSOR, SqlCursorStore
from dialer.storage.errors import InvalidValueError

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def test_a_cursor_is_kept_replaced_and_read_by_name(engine: Engine) -> None:
    store = SqlCursorStore(engine)
    assert store.get("crm-intake:c") is None
    store.put("crm-intake:c", '{"since_id":7}', NOW)
    store.put("crm-intake:c", '{"since_id":9}', NOW + timedelta(seconds=2))
    store.put("crm-intake:other", '{"since_id":1}', NOW)
    assert store.get("crm-intake:c") == '{"since_id":9}'
    assert SqlCursorStore(engine).get("crm-intake:other") == '{"since_id":1}'


def test_a_cursor_too_long_or_without_a_name_is_refused_naming_it(engine: Engine) -> None:
    store = SqlCursorStore(engine)
    with pytest.raises(InvalidValueError, match="crm-intake:c"):
        store.put("crm-intake:c", "x" * (MAX_CURSOR + 1), NOW)
    with pytest.raises(InvalidValueError):
        store.put("", "{}", NOW)
    assert store.get("crm-intake:c") is None
