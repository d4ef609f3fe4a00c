"""Scale-out: each attempt records the Asterisk server it was placed on.

Existing attempts (one node, one server) get "default". A partial index serves "live
attempts on this server" (recovery, the per-server line cap).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_LIVE = sa.text("ended_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("server", sa.String(), server_default="default", nullable=False))
    op.create_index(
        "ix_attempts_live_server",
        "attempts",
        ["server"],
        unique=False,
        sqlite_where=_LIVE,
        postgresql_where=_LIVE,
    )


def downgrade() -> None:
    op.drop_index("ix_attempts_live_server", table_name="attempts")
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("server")
