"""Named session locks between dialer nodes: who leads, who owns which Asterisk server.

No home-made coordinator: the database the nodes share is the engine.

* PostgreSQL (``PgCoordinator``): one dedicated connection per node holding session-level
  advisory locks (``pg_try_advisory_lock`` on a 64-bit key derived from the name). The lock
  lives exactly as long as that connection: a node that dies (SIGKILL, power, network)
  loses its backend and PostgreSQL frees the lock. ``holds`` runs a query on that very
  connection and looks for its own lock in ``pg_locks``; a lost connection answers "no".
* SQLite on one host (``FileCoordinator``): an ``flock`` on a file beside the database; the
  kernel frees it when the holding process dies.
* An in-memory database, and the unit tests (``MemoryCoordinator``): a process-local table.

A coordinator is used from one thread at a time (the service gives it its own one-thread
executor so a slow database never stalls the event loop).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

log = logging.getLogger("dialer.coordination")

_NAMESPACE = b"callback-dialer:"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
# How long a dead peer may keep a PostgreSQL query waiting (TCP user timeout, keepalives)
_PG_CONNECT_ARGS: dict[str, Any] = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 6000,
}
APPLICATION_NAME = "callback-dialer-coordination"


class CoordinationUnavailableError(Exception):
    """The database could not be asked: nobody can say who holds the lock right now."""


class Coordinator(Protocol):
    """Named locks held by this node until released, closed, or the node dies."""

    def try_acquire(self, name: str) -> bool:
        """Take ``name`` if nobody holds it; True if this coordinator holds it now, False
        if another holds it. Raises ``CoordinationUnavailableError`` when the database does
        not answer (a node must tell "someone else owns it" from "can't tell")."""
        ...

    def holds(self, name: str) -> bool:
        """Whether this coordinator still holds ``name``, verified (never assumed)."""
        ...

    def is_held(self, name: str) -> bool:
        """Whether any node (this one included) holds ``name`` now, without taking it: how
        the leader finds a server nobody serves. Raises ``CoordinationUnavailableError``
        when the database does not answer."""
        ...

    def release(self, name: str) -> None: ...

    def close(self) -> None:
        """Release everything this coordinator holds."""
        ...


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (PostgreSQL's advisory lock space)."""
    digest = hashlib.blake2b(_NAMESPACE + name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def open_coordinator(db_url: str, node: str = "") -> Coordinator:
    """The coordinator for the database at ``db_url`` (the one the nodes share); ``node``
    names the connection in ``pg_stat_activity``."""
    url = make_url(db_url)
    backend = url.get_backend_name()
    if backend == "postgresql":
        return PgCoordinator(db_url, node)
    database = url.database or ""
    if (
        backend == "sqlite"
        and database not in ("", ":memory:")
        and not database.startswith("file:")
    ):
        return FileCoordinator(Path(database).resolve().parent / f"{Path(database).name}.locks")
    return MemoryCoordinator(PROCESS_LOCKS)


# ---- PostgreSQL ---------------------------------------------------------------------------


class PgCoordinator:
    """Session-level advisory locks on one dedicated connection."""

    def __init__(self, db_url: str, node: str = "") -> None:
        name = f"{APPLICATION_NAME} {node}".strip()[:63]
        self._engine: Engine = create_engine(
            db_url, poolclass=NullPool, connect_args={**_PG_CONNECT_ARGS, "application_name": name}
        )
        self._connection: Connection | None = None
        self._held: set[str] = set()

    def try_acquire(self, name: str) -> bool:
        if name in self._held:
            return self.holds(name)
        try:
            connection = self._connect()
            got = bool(
                connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(name)}
                ).scalar()
            )
        except SQLAlchemyError as exc:
            self._lost(f"lock {name!r} not taken: {_why(exc)}")
            raise CoordinationUnavailableError(_why(exc)) from exc
        if got:
            self._held.add(name)
        return got

    def holds(self, name: str) -> bool:
        if name not in self._held or self._connection is None:
            return False
        try:
            found = _granted(self._connection, name, here=True)
        except SQLAlchemyError as exc:
            self._lost(f"lock {name!r} not verified: {_why(exc)}")
            return False
        if not found:
            self._held.discard(name)
        return bool(found)

    def is_held(self, name: str) -> bool:
        try:
            return _granted(self._connect(), name, here=False)
        except SQLAlchemyError as exc:
            self._lost(f"lock {name!r} not looked up: {_why(exc)}")
            raise CoordinationUnavailableError(_why(exc)) from exc

    def release(self, name: str) -> None:
        if name not in self._held or self._connection is None:
            return
        self._held.discard(name)
        try:
            self._connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key(name)}
            )
        except SQLAlchemyError as exc:
            self._lost(f"lock {name!r} not released cleanly: {_why(exc)}")

    def close(self) -> None:
        self._held.clear()
        if self._connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._connection.close()
            self._connection = None
        self._engine.dispose()

    def _connect(self) -> Connection:
        if self._connection is None:
            connection = self._engine.connect()
            self._connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        return self._connection

    def _lost(self, why: str) -> None:
        """The connection failed: every lock it held is gone with it (or soon will be)."""
        if self._held:
            log.warning("coordination connection lost (%s); no longer holding %s",
                        why, ", ".join(sorted(self._held)))  # fmt: skip
        else:
            log.warning("coordination: %s", why)
        self._held.clear()
        if self._connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._connection.invalidate()
                self._connection.close()
            self._connection = None


_GRANTED = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
_KEY = "classid::bigint = :hi AND objid::bigint = :lo AND objsubid = 1"
_HELD_HERE = text(f"{_GRANTED} AND pid = pg_backend_pid() AND {_KEY}")
_HELD_BY_ANYONE = text(
    f"{_GRANTED} AND {_KEY}"  # noqa: S608 - constants
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def _granted(connection: Connection, name: str, *, here: bool) -> bool:
    """Whether ``pg_locks`` shows the advisory lock of ``name`` granted to this backend
    (``here``) or to any backend on this database."""
    unsigned = lock_key(name) & 0xFFFFFFFFFFFFFFFF
    query = _HELD_HERE if here else _HELD_BY_ANYONE
    found = connection.execute(query, {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF})
    return bool(found.scalar())


def _why(exc: SQLAlchemyError) -> str:
    text_ = str(getattr(exc, "orig", exc) or exc).strip().splitlines()
    return text_[0] if text_ else type(exc).__name__


# ---- SQLite on one host: flock ------------------------------------------------------------


class FileCoordinator:
    """``flock`` on one file per name in ``directory`` (beside the SQLite database)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._held: dict[str, int] = {}

    def path(self, name: str) -> Path:
        safe = _SAFE.sub("_", name)[:80]
        return self._directory / f"{safe}-{lock_key(name) & 0xFFFFFFFF:08x}.lock"

    def try_acquire(self, name: str) -> bool:
        if name in self._held:
            return self.holds(name)
        self._directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path(name), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._held[name] = fd
        return True

    def holds(self, name: str) -> bool:
        fd = self._held.get(name)
        if fd is None:
            return False
        try:
            same = os.fstat(fd).st_ino == os.stat(self.path(name)).st_ino
        except OSError:
            same = False
        if not same:  # the file was removed or replaced: someone else may lock the new one
            self.release(name)
        return same

    def is_held(self, name: str) -> bool:
        if name in self._held:
            return self.holds(name)
        try:
            fd = os.open(self.path(name), os.O_RDONLY)
        except FileNotFoundError:
            return False  # never taken on this host
        try:  # a shared probe: it never blocks another probe, only a taker for an instant
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing the descriptor drops the probe's lock
        return False

    def release(self, name: str) -> None:
        fd = self._held.pop(name, None)
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def close(self) -> None:
        for name in list(self._held):
            self.release(name)


# ---- in memory ----------------------------------------------------------------------------


class MemoryLocks:
    """A lock table shared by the ``MemoryCoordinator`` s of one process."""

    def __init__(self) -> None:
        self._owners: dict[str, object] = {}
        self._mutex = threading.Lock()

    def take(self, name: str, owner: object) -> bool:
        with self._mutex:
            if self._owners.get(name, owner) is not owner:
                return False
            self._owners[name] = owner
            return True

    def owner(self, name: str) -> object | None:
        with self._mutex:
            return self._owners.get(name)

    def drop(self, name: str, owner: object) -> None:
        with self._mutex:
            if self._owners.get(name) is owner:
                del self._owners[name]

    def drop_all(self, owner: object) -> None:
        """Free everything ``owner`` holds, as if its process had died."""
        with self._mutex:
            for name in [n for n, o in self._owners.items() if o is owner]:
                del self._owners[name]


PROCESS_LOCKS = MemoryLocks()


class MemoryCoordinator:
    """Locks in a ``MemoryLocks`` table: one process (an in-memory database, unit tests)."""

    def __init__(self, locks: MemoryLocks) -> None:
        self._locks = locks

    def try_acquire(self, name: str) -> bool:
        return self._locks.take(name, self)

    def holds(self, name: str) -> bool:
        return self._locks.owner(name) is self

    def is_held(self, name: str) -> bool:
        return self._locks.owner(name) is not None

    def release(self, name: str) -> None:
        self._locks.drop(name, self)

    def close(self) -> None:
        self._locks.drop_all(self)
