"""Owned callbacks (issue 15, «мой перезвон»): the agent offered an order's callback first.

Nullable: orders before this revision, and callbacks nobody owns, have NULL.

Revision ID: 0006_callback_owner
Revises: 0005_agent_auth
Create Date: 2026-12-04 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006_callback_owner"
down_revision: str | None = "0005_agent_auth"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("callback_owner", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("callback_owner")
