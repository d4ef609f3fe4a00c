"""Persistence of the dialer: engine, schema, migrations, numbering plan, do-not-call list.

Every error this package raises derives from :class:`StorageError` (see ``errors.py``);
SQLAlchemy, Alembic and DB-API exceptions are translated at this package's boundary.
"""

from dialer.storage.errors import (
    DatabaseLockedError,
    DatabaseUnavailableError,
    DatabaseUrlError,
    InvalidValueError,
    NumberingImportError,
    SchemaError,
    StorageError,
)

__all__ = [
    "DatabaseLockedError",
    "DatabaseUnavailableError",
    "DatabaseUrlError",
    "InvalidValueError",
    "NumberingImportError",
    "SchemaError",
    "StorageError",
]
