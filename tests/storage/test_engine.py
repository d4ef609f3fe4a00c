"""Engines by URL: SQLite pragmas, friendly URL errors, and retrying while locked."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from dialer.storage.engine import is_locked_error, make_engine, retry_locked
from dialer.storage.errors import DatabaseLockedError, DatabaseUrlError
from dialer.storage.migrate import open_database
from dialer.storage.models import AgentRow, DoNotCall, OrderRow

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def pragma(engine: Engine, name: str) -> object:
    with engine.connect() as connection:
        return connection.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(db_url: str) -> None:
    engine = make_engine(db_url, busy_timeout_ms=1234)
    assert pragma(engine, "journal_mode") == "wal"
    assert pragma(engine, "busy_timeout") == 1234
    assert pragma(engine, "foreign_keys") == 1


def test_default_busy_timeout_is_five_seconds(db_url: str) -> None:
    assert pragma(make_engine(db_url), "busy_timeout") == 5000


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    row: dict[str, object] = {"id": "A1", "campaign": "no-such-campaign", "phone_raw": "8 916"}
    row |= {"name": "N", "product": "P", "crm_status": "s", "crm_state": "t"}
    row |= {"created_at": NOW, "updated_at": NOW}
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(insert(OrderRow).values(row))


def test_a_malformed_url_is_a_url_error_that_shows_the_url() -> None:
    with pytest.raises(DatabaseUrlError, match=r"malformed database URL 'not a url'"):
        make_engine("not a url")


def test_an_unsupported_backend_is_named() -> None:
    with pytest.raises(DatabaseUrlError, match=r"unsupported database 'mysql'"):
        make_engine("mysql://user@host/db")


def test_an_unknown_driver_is_a_url_error() -> None:
    with pytest.raises(DatabaseUrlError, match=r"postgresql\+nosuchdriver"):
        make_engine("postgresql+nosuchdriver://user@host/db")


def test_a_sqlite_file_in_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUrlError, match=r"folder .*nowhere.* does not exist"):
        make_engine(f"sqlite:///{tmp_path / 'nowhere' / 'x.db'}")


def test_the_password_is_hidden_in_url_errors() -> None:
    with pytest.raises(DatabaseUrlError) as caught:
        make_engine("mysql://user:secret@host/db")
    assert "secret" not in str(caught.value)


def _dnc_row(e164: str) -> dict[str, object]:
    return {"e164": e164, "reason": "", "added_at": NOW}


def test_retry_locked_outlasts_another_connection_holding_the_write_lock(
    db_url: str,
) -> None:
    engine = open_database(db_url, busy_timeout_ms=20)
    holder = engine.connect()
    held = holder.begin()
    holder.execute(insert(DoNotCall).values(_dnc_row("+79160000001")))
    tries: list[int] = []
    waits: list[float] = []

    def work() -> None:
        tries.append(1)
        with engine.begin() as connection:
            connection.execute(insert(DoNotCall).values(_dnc_row("+79160000002")))

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        held.commit()  # the other writer finishes while we back off

    retry_locked(work, attempts=3, backoff=0.01, sleep=sleep)
    holder.close()
    assert (len(tries), waits) == (2, [0.01])
    with engine.connect() as connection:
        listed = connection.scalars(select(DoNotCall.e164).order_by(DoNotCall.e164)).all()
    assert listed == ["+79160000001", "+79160000002"]


def test_retry_locked_gives_up_with_database_locked_error(db_url: str) -> None:
    engine = open_database(db_url, busy_timeout_ms=10)
    holder = engine.connect()
    holder.begin()
    holder.execute(insert(DoNotCall).values(_dnc_row("+79160000001")))
    waits: list[float] = []

    def work() -> None:
        with engine.begin() as connection:
            connection.execute(insert(DoNotCall).values(_dnc_row("+79160000002")))

    with pytest.raises(DatabaseLockedError, match="locked after 3 attempts"):
        retry_locked(work, attempts=3, backoff=0.01, sleep=waits.append)
    holder.close()
    assert waits == [0.01, 0.02]


def test_retry_locked_does_not_retry_other_database_errors(engine: Engine) -> None:
    tries: list[int] = []

    def work() -> None:
        tries.append(1)
        with engine.begin() as connection:
            connection.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(OperationalError, match="no such table"):
        retry_locked(work, attempts=5, backoff=0.0, sleep=lambda _: None)
    assert tries == [1]


def test_is_locked_error_recognises_only_lock_errors() -> None:
    assert is_locked_error(sqlite3.OperationalError("database is locked"))
    assert not is_locked_error(sqlite3.OperationalError("no such table: x"))
    assert not is_locked_error(ValueError("database is locked"))


def test_concurrent_read_modify_write_transactions_lose_no_update(db_url: str) -> None:
    """Two threads increment one counter; stale-snapshot writes are retried, not lost."""
    engine = open_database(db_url, busy_timeout_ms=2000)
    with engine.begin() as connection:
        connection.execute(
            insert(AgentRow).values(id="a1", display_name="A", channel="PJSIP/a1", state_since=NOW)
        )
    misses = select(AgentRow.consecutive_misses).where(AgentRow.id == "a1")

    tries: list[int] = []

    def increment() -> None:
        tries.append(1)
        with engine.begin() as connection:
            value = connection.scalar(misses)
            assert value is not None
            time.sleep(0.002)  # let the other thread read the same value meanwhile
            connection.execute(
                update(AgentRow).where(AgentRow.id == "a1").values(consecutive_misses=value + 1)
            )

    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(40):
                retry_locked(increment, attempts=50, backoff=0.001)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as connection:
        assert connection.scalar(misses) == 80
    assert len(tries) > 80, "the threads never contended: the test proved nothing"
