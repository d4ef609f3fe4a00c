"""Schema migrations by Alembic, configured in code: upgrade, current revision, open_database."""

from __future__ import annotations

import io
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from dialer.storage.engine import (
    DEFAULT_BUSY_TIMEOUT_MS,
    is_locked_error,
    make_engine,
    retry_locked,
)
from dialer.storage.errors import DatabaseUnavailableError, SchemaError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(
    connection: Connection | None = None, output: io.StringIO | None = None
) -> Config:
    """An Alembic configuration built in code (no alembic.ini) for the packaged scripts."""
    config = Config(output_buffer=output)
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this version of the software knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise SchemaError("no migration scripts found in the package")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""

    def read() -> str | None:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    try:
        return retry_locked(read)
    except SQLAlchemyError as exc:
        raise _translated(exc, "cannot read the schema revision") from exc


def upgrade(engine_or_url: Engine | str, revision: str = "head") -> str:
    """Migrate the database to ``revision``; idempotent. Returns the revision reached."""
    engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    _refuse_unknown_revision(engine)
    try:
        retry_locked(lambda: _upgrade_once(engine, revision))
    except CommandError as exc:
        raise SchemaError(f"cannot migrate to {revision!r}: {exc}") from exc
    except SQLAlchemyError as exc:
        raise _translated(exc, "migration failed") from exc
    return current_revision(engine) or ""


def open_database(url: str, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> Engine:
    """An engine for ``url`` whose schema is at head, migrating it first when needed."""
    engine = make_engine(url, busy_timeout_ms=busy_timeout_ms)
    if current_revision(engine) != head_revision():
        upgrade(engine)
    return engine


def migration_sql(url: str, revision: str = "head") -> str:
    """The SQL the migrations would run on an empty database of ``url``'s dialect.

    Nothing is connected to: ``postgresql://`` renders PostgreSQL's DDL without a server.
    """
    output = io.StringIO()
    config = alembic_config(output=output)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    try:
        command.upgrade(config, revision, sql=True)
    except CommandError as exc:
        raise SchemaError(f"cannot render the migrations to {revision!r}: {exc}") from exc
    return output.getvalue()


def _upgrade_once(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def _refuse_unknown_revision(engine: Engine) -> None:
    current = current_revision(engine)
    if current is None:
        return
    script = ScriptDirectory.from_config(alembic_config())
    if current not in {rev.revision for rev in script.walk_revisions()}:
        raise SchemaError(
            f"the database is at schema revision {current!r}, unknown to this version "
            f"(newest known: {head_revision()!r}); it was migrated by a newer callback-dialer"
        )


def _translated(exc: SQLAlchemyError, doing: str) -> Exception:
    if isinstance(exc, OperationalError) and not is_locked_error(exc):
        return DatabaseUnavailableError(f"{doing}: {exc.orig}")
    return SchemaError(f"{doing}: {exc}")
