"""RetailCRM's telephony module (issue 17 §2): telephony_outbox, the call events and call
uploads waiting for RetailCRM, so an outage of RetailCRM loses no call.

Revision ID: 0007_telephony_outbox
Revises: 0006_callback_owner
Create Date: 2026-12-05 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_INSTANT = sa.DateTime(timezone=True)  # models.UTCDateTime stores through this type

revision: str = "0007_telephony_outbox"
down_revision: str | None = "0006_callback_owner"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "telephony_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("node", sa.String(), nullable=False),
        sa.Column("attempt_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("tries", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_try_at", _INSTANT, nullable=True),
        sa.Column("delivered_at", _INSTANT, nullable=True),
        sa.Column("dead", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.CheckConstraint("kind IN ('event', 'upload')", name=op.f("ck_telephony_outbox_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telephony_outbox")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_telephony_outbox_node"), "telephony_outbox", ["node"])
    op.create_index(op.f("ix_telephony_outbox_next_try_at"), "telephony_outbox", ["next_try_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_telephony_outbox_next_try_at"), table_name="telephony_outbox")
    op.drop_index(op.f("ix_telephony_outbox_node"), table_name="telephony_outbox")
    op.drop_table("telephony_outbox")
