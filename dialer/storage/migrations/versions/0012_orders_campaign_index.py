"""The queue index by campaign (issue 21): several campaigns share ``orders`` and every
queue query (the claim, ``next_due_at``, the dashboard's reads) names its campaign, which
``(phase, priority, next_due_at)`` left to a filter over every campaign's queued rows;
``(campaign, phase, priority, next_due_at)`` reads one campaign's rows only.

Revision ID: 0012_orders_campaign_index
Revises: 0011_campaign_versions
Create Date: 2026-12-06 05:30:00
"""

from __future__ import annotations

from alembic import op

_COLUMNS = ["campaign", "phase", "priority", "next_due_at"]

revision: str = "0012_orders_campaign_index"
down_revision: str | None = "0011_campaign_versions"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_orders_campaign_phase_priority_next_due_at"), "orders", _COLUMNS)


def downgrade() -> None:
    op.drop_index(op.f("ix_orders_campaign_phase_priority_next_due_at"), table_name="orders")
