"""Telling "the database is down, try again later" from a refused statement, and the pooled
connections of a server engine being checked before use (a restarted server leaves stale ones)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, ProgrammingError

from dialer.storage.campaigns import SqlCampaignStore
from dialer.storage.engine import (
    database_state,
    is_database_down,
    make_engine,
    translates_outages,
)
from dialer.storage.errors import DatabaseLockedError, DatabaseUnavailableError, SchemaError


def test_lost_connections_and_lock_timeouts_are_down_refused_statements_are_not() -> None:
    lost = Exception("server closed the connection unexpectedly")
    assert is_database_down(OperationalError("SELECT 1", {}, lost))
    assert is_database_down(InterfaceError("SELECT 1", {}, lost))
    assert is_database_down(DatabaseLockedError("locked"))
    assert is_database_down(DatabaseUnavailableError("refused"))
    assert not is_database_down(IntegrityError("INSERT", {}, Exception("unique")))
    assert not is_database_down(ProgrammingError("SELEC", {}, Exception("syntax")))
    assert not is_database_down(SchemaError("newer schema"))
    assert not is_database_down(ValueError("bad"))


def test_server_engines_ping_pooled_connections_sqlite_engines_do_not() -> None:
    server = make_engine("postgresql+psycopg://dialer@127.0.0.1:1/none")  # never connected
    assert server.pool._pre_ping
    assert not make_engine("sqlite://").pool._pre_ping


def test_a_store_on_an_unreachable_server_raises_database_unavailable_naming_the_cause() -> None:
    """Callers outside storage catch one domain error; the library's error is its cause."""
    store = SqlCampaignStore(make_engine("postgresql+psycopg://dialer@127.0.0.1:1/none"))
    with pytest.raises(DatabaseUnavailableError) as caught:
        store.is_paused("c1")
    assert isinstance(caught.value.cause, OperationalError)
    assert caught.value.__cause__ is caught.value.cause
    assert str(caught.value) == str(caught.value.cause)


def test_a_refused_statement_is_not_translated_into_an_outage() -> None:
    @translates_outages
    class Refusing:
        def insert(self) -> None:
            raise IntegrityError("INSERT", {}, Exception("unique"))

    with pytest.raises(IntegrityError):
        Refusing().insert()


def test_sqlite_locked_through_every_retry_is_an_outage_callers_catch_as_one() -> None:
    assert issubclass(DatabaseLockedError, DatabaseUnavailableError)


def test_database_state_names_the_error_type_while_down() -> None:
    assert database_state(make_engine("sqlite://")) == "ok"
    down = make_engine("postgresql+psycopg://dialer@127.0.0.1:1/none")
    assert database_state(down) == "down: OperationalError"
