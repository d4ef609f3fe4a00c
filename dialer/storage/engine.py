"""Engines by URL: SQLite tuned for a small always-on service, PostgreSQL as is, lock retries."""

from __future__ import annotations

import functools
import inspect
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import select

from dialer.storage.errors import (
    DatabaseLockedError,
    DatabaseUnavailableError,
    DatabaseUrlError,
    StorageError,
)

T = TypeVar("T")
C = TypeVar("C", bound=type)
Database = Engine  # the handle callers outside storage pass back in; they never use it

SUPPORTED_BACKENDS = ("sqlite", "postgresql")
DEFAULT_BUSY_TIMEOUT_MS = 5000
_LOCKED_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def make_engine(url: str, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> Engine:
    """An engine for ``url``; raises DatabaseUrlError naming what is wrong with it.

    SQLite connections get WAL journaling, ``busy_timeout`` and foreign keys, and run in
    explicit transactions (``BEGIN`` when SQLAlchemy begins, not at the first write).
    A server's pooled connections are pinged before use, so after the server restarted a
    stale one is replaced instead of failing the next transaction.
    """
    parsed = _parse_url(url)
    try:
        engine = create_engine(parsed, pool_pre_ping=parsed.get_backend_name() != "sqlite")
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise DatabaseUrlError(f"cannot use database URL {_shown(parsed)}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        _tune_sqlite(engine, busy_timeout_ms)
    return engine


def _parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUrlError(
            f"malformed database URL {url!r}: expected e.g. sqlite:///path/to/file.db "
            "or postgresql+psycopg://user@host/dbname"
        ) from exc
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise DatabaseUrlError(
            f"unsupported database {backend!r} in URL {_shown(parsed)}: "
            f"use one of {', '.join(SUPPORTED_BACKENDS)}"
        )
    if backend == "sqlite":
        _check_sqlite_path(parsed)
    return parsed


def _check_sqlite_path(url: URL) -> None:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    folder = Path(database).resolve().parent  # SQLite does not expand ~
    if not folder.is_dir():
        raise DatabaseUrlError(f"database URL {_shown(url)}: folder {str(folder)!r} does not exist")


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _tune_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    in_memory = (engine.url.database or ":memory:") == ":memory:"

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event issues BEGIN
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    def on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)


def is_database_down(exc: BaseException) -> bool:
    """True when ``exc`` says the database cannot be used right now (server gone or
    restarting, connection lost, SQLite locked through every retry): the work can be done
    again later, unlike a refused statement."""
    if isinstance(exc, DatabaseLockedError | DatabaseUnavailableError):
        return True
    return isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def failure_line(exc: BaseException) -> str:
    """One short line saying why the database failed (no SQL, no parameters)."""
    if isinstance(exc, DatabaseUnavailableError) and exc.cause is not None:
        exc = exc.cause  # the library's error a store translated: name it as before
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"


def outage(exc: BaseException) -> str | None:
    """Why ``exc`` is a database outage (a dial round keeps its work), or None."""
    return failure_line(exc) if is_database_down(exc) else None


def translates_outages(cls: C) -> C:
    """Class decorator: every public method of ``cls`` raises DatabaseUnavailableError (its
    ``cause`` the library error) where SQLAlchemy said the database is down; any other error
    (a refused statement, a bug) propagates unchanged."""
    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and inspect.isfunction(member):
            setattr(cls, name, _translating(member))
    return cls


def _translating(method: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(method)
    def translated(*args: Any, **kwargs: Any) -> T:
        try:
            return method(*args, **kwargs)
        except DatabaseUnavailableError:
            raise
        except Exception as exc:
            if not is_database_down(exc):
                raise
            raise DatabaseUnavailableError(str(exc), cause=exc) from exc

    return translated


def database_state(engine: Engine) -> str:
    """``ok`` when ``SELECT 1`` answers, else ``down: <the error's type>`` (for /healthz)."""
    try:
        with engine.connect() as connection:
            connection.execute(select(1))
    except Exception as exc:  # any failure is "down", reported as text
        return f"down: {type(exc).__name__}"
    return "ok"


def is_locked_error(exc: BaseException) -> bool:
    """True when ``exc`` is SQLite's "database is locked" / "database table is locked"."""
    orig = exc.orig if isinstance(exc, OperationalError) else exc
    if not isinstance(orig, sqlite3.OperationalError):
        return False
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _LOCKED_CODES
    return "is locked" in str(orig)


def retry_locked(
    work: Callable[[], T],
    *,
    attempts: int = 5,
    backoff: float = 0.05,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``work`` (one whole transaction) again while SQLite says the database is locked.

    Waits ``backoff``, then twice that, and so on between attempts. ``work`` must be safe to
    repeat: it should open and commit its own transaction. Raises DatabaseLockedError when
    every attempt was locked out; any other error propagates at once.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(attempts):
        try:
            return work()
        except OperationalError as exc:
            if not is_locked_error(exc):
                raise
            if attempt == attempts - 1:
                raise DatabaseLockedError(
                    f"database still locked after {attempts} attempts: {exc.orig}"
                ) from exc
            sleep(backoff * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def write_transaction(engine: Engine, work: Callable[[Session], T], what: str) -> T:
    """``work`` in one transaction, again while SQLite is locked; a database that is down or
    stays locked is ``DatabaseUnavailableError`` naming ``what`` ("agents table" …)."""

    def transaction() -> T:
        with Session(engine) as session, session.begin():
            return work(session)

    try:
        return retry_locked(transaction)
    except SQLAlchemyError as exc:
        state = "locked" if is_locked_error(exc) else "unavailable"
        raise DatabaseUnavailableError(f"{what} {state}: {exc}") from exc


# What a caller outside this package (``doctor``) catches when it touches the database
# directly: the package's own errors and SQLAlchemy's, without importing SQLAlchemy itself.
DATABASE_ERRORS: tuple[type[Exception], ...] = (StorageError, SQLAlchemyError)
