"""Telling "the database is down, try again later" from a refused statement, and the pooled
connections of a server engine being checked before use (a restarted server leaves stale ones)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, ProgrammingError

from dialer.storage.engine import is_database_down, make_engine
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
