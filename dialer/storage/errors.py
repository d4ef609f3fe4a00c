"""The storage package's exception hierarchy.

    StorageError                  anything this package refuses or cannot do
    ├── DatabaseUrlError          the database URL is malformed or names an unsupported backend
    ├── DatabaseUnavailableError  the database cannot be opened or reached right now: the
    │   │                         work can be done again later (callers catch this one)
    │   └── DatabaseLockedError   SQLite stayed locked through every retry
    ├── SchemaError               migrating failed, or the schema is newer than this software
    ├── InvalidValueError         a value handed to storage is malformed (e.g. not E.164)
    └── NumberingImportError      a numbering-plan file is unreadable or has a malformed line

Store methods translate SQLAlchemy's "the database is down" errors (server gone or
restarting, connection lost, SQLite locked) into DatabaseUnavailableError at their boundary
(``dialer.storage.engine.translates_outages``), so no caller outside this package needs to
know SQLAlchemy's exception types.

The command line maps DatabaseUrlError, InvalidValueError and NumberingImportError (the
user's input is wrong) to exit status 2 and every other StorageError to exit status 1.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of every error raised by ``dialer.storage``."""


class DatabaseUrlError(StorageError):
    """The database URL cannot be used; the message names the problem and the URL."""


class DatabaseUnavailableError(StorageError):
    """The database exists in the URL but cannot be opened or reached right now.

    ``cause`` is the library error it stands for when a store translated one (its text is
    the message), None when storage raised it itself.
    """

    def __init__(self, message: str, *, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause


class DatabaseLockedError(DatabaseUnavailableError):
    """SQLite reported "database is locked" on every attempt."""


class SchemaError(StorageError):
    """A migration failed, or the database was migrated by a newer version."""


class InvalidValueError(StorageError, ValueError):
    """A value given to storage is malformed; the message names it."""


class NumberingImportError(StorageError):
    """A numbering-plan file cannot be imported; ``line`` is 1-based, 0 for the whole file."""

    def __init__(self, line: int, problem: str) -> None:
        self.line = line
        self.problem = problem
        where = f"line {line}: " if line else ""
        super().__init__(f"{where}{problem}")
