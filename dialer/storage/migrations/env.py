"""Alembic environment: runs on the connection ``dialer.storage.migrate`` hands over.

Offline (``sql=True``) it renders the migrations as SQL for the dialect of the
``sqlalchemy.url`` option, which is how the PostgreSQL DDL is checked without a server.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from dialer.storage.models import Base


def _online(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _offline(url: str) -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _offline(context.config.get_main_option("sqlalchemy.url") or "sqlite://")
else:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("migrations run through dialer.storage.migrate on a live connection")
    _online(connection)
