"""CRM intake cursors: where incremental intake (RetailCRM's ``orders/history``) goes on.

One row per name (the campaign's intake), the adapter's opaque cursor text and when it was
written. Written only after the orders it covers were admitted (at-least-once intake).

Revision ID: 0008_crm_cursors
Revises: 0007_telephony_outbox
Create Date: 2026-12-05 08:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_INSTANT = sa.DateTime(timezone=True)  # models.UTCDateTime stores through this type

revision: str = "0008_crm_cursors"
down_revision: str | None = "0007_telephony_outbox"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "crm_cursors",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", _INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_crm_cursors")),
    )


def downgrade() -> None:
    op.drop_table("crm_cursors")
