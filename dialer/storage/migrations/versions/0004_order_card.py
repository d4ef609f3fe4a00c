"""The order card (issue 15): items, total, address, delivery date, extra phone, comment.

All nullable: orders admitted before this revision keep NULLs and load as an order
without a card (no items, the rest None). Items are JSON text, money Decimal text.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_COLUMNS = (
    ("items_json", sa.Text()),
    ("total", sa.String()),
    ("address", sa.Text()),
    ("delivery_date", sa.Date()),
    ("extra_phone", sa.String()),
    ("customer_comment", sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        for name, kind in _COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
