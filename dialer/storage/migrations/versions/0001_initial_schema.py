"""Initial schema: campaigns, orders, attempts, agents, outcomes, outbox, numbering, DNC.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 19:34:18.094296
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_INSTANT = sa.DateTime(timezone=True)  # models.UTCDateTime stores through this type

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("settings_json", sa.Text(), nullable=False),
        sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("paused_reason", sa.String(), nullable=True),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("updated_at", _INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_campaigns")),
    )
    op.create_table(
        "do_not_call",
        sa.Column("e164", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("added_at", _INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("e164", name=op.f("pk_do_not_call")),
    )
    op.create_table(
        "numbering_meta",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("imported_at", _INSTANT, nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_numbering_meta")),
    )
    op.create_table(
        "numbering_ranges",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("prefix", sa.Integer(), nullable=False),
        sa.Column("range_from", sa.Integer(), nullable=False),
        sa.Column("range_to", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("operator", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_numbering_ranges")),
    )
    op.create_index(
        op.f("ix_numbering_ranges_prefix_range_from"),
        "numbering_ranges",
        ["prefix", "range_from"],
        unique=False,
    )

    op.create_table(
        "agents",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("campaign", sa.String(), nullable=True),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("server", sa.String(), nullable=True),
        sa.Column("state", sa.String(), server_default="logged_out", nullable=False),
        sa.Column("state_since", _INSTANT, nullable=False),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("consecutive_misses", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_call_ended_at", _INSTANT, nullable=True),
        sa.CheckConstraint(
            "state IN ('logged_out', 'idle', 'ringing', 'on_call', 'wrap_up', 'paused')",
            name=op.f("ck_agents_state"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign"], ["campaigns.name"], name=op.f("fk_agents_campaign_campaigns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("campaign", sa.String(), nullable=False),
        sa.Column("phone_raw", sa.String(), nullable=False),
        sa.Column("e164", sa.String(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("product", sa.Text(), nullable=False),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("crm_status", sa.String(), nullable=False),
        sa.Column("crm_state", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=True),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("tz_hint", sa.String(), nullable=True),
        sa.Column("country", sa.String(), nullable=True),
        sa.Column("prepaid", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("zones", sa.Text(), server_default="", nullable=False),
        sa.Column("tz_source", sa.String(), nullable=True),
        sa.Column("identity", sa.Text(), server_default="", nullable=False),
        sa.Column("phase", sa.String(), server_default="queued", nullable=False),
        sa.Column("priority", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_due_at", _INSTANT, nullable=True),
        sa.Column("customer_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("agent_misses", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("network_failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("attempt_times", sa.Text(), server_default="", nullable=False),
        sa.Column("horizon_start", sa.Date(), nullable=True),
        sa.Column("callback_at", _INSTANT, nullable=True),
        sa.Column("live_attempt", sa.String(), nullable=True),
        sa.Column("outcome", sa.String(), nullable=True),
        sa.Column("outcome_problem", sa.Text(), nullable=True),
        sa.Column("outcome_comment", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(), nullable=True),
        sa.Column("lease_until", _INSTANT, nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("updated_at", _INSTANT, nullable=False),
        sa.CheckConstraint(
            "phase IN ('queued', 'claimed', 'dialing', 'awaiting_disposition', 'done')",
            name=op.f("ck_orders_phase"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign"], ["campaigns.name"], name=op.f("fk_orders_campaign_campaigns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    op.create_index(op.f("ix_orders_lease_until"), "orders", ["lease_until"])
    op.create_index(op.f("ix_orders_identity"), "orders", ["identity"])
    op.create_index(op.f("ix_orders_phase_next_due_at"), "orders", ["phase", "next_due_at"])
    op.create_index(
        op.f("ix_orders_phase_priority_next_due_at"), "orders", ["phase", "priority", "next_due_at"]
    )

    op.create_table(
        "attempts",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("e164", sa.String(), nullable=False),
        sa.Column("agent", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("customer_attempt", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("started_at", _INSTANT, nullable=False),
        sa.Column("answered_at", _INSTANT, nullable=True),
        sa.Column("ended_at", _INSTANT, nullable=True),
        sa.Column("result", sa.String(), nullable=True),
        sa.Column("detail", sa.Text(), server_default="", nullable=False),
        sa.Column("recording", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_attempts_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempts")),
    )
    op.create_index(op.f("ix_attempts_order_id"), "attempts", ["order_id"])
    op.create_index(
        "uq_attempts_live_e164",
        "attempts",
        ["e164"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_index(
        "uq_attempts_live_order",
        "attempts",
        ["order_id"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )

    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("attempt_id", sa.String(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("crm_status", sa.String(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("call_made", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("callback_at", _INSTANT, nullable=True),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempts.id"], name=op.f("fk_outcomes_attempt_id_attempts")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_outcomes_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcomes")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_outcomes_order_id"), "outcomes", ["order_id"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("outcome_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("idempotency_key", sa.String(), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("tries", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_try_at", _INSTANT, nullable=True),
        sa.Column("delivered_at", _INSTANT, nullable=True),
        sa.Column("dead", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_outbox_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["outcome_id"], ["outcomes.id"], name=op.f("fk_outbox_outcome_id_outcomes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
        sa.UniqueConstraint("outcome_id", name=op.f("uq_outbox_outcome_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_outbox_next_try_at"), "outbox", ["next_try_at"])
    op.create_index(op.f("ix_outbox_order_id"), "outbox", ["order_id"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("outcomes")
    op.drop_table("attempts")
    op.drop_table("orders")
    op.drop_table("agents")
    op.drop_table("numbering_ranges")
    op.drop_table("numbering_meta")
    op.drop_table("do_not_call")
    op.drop_table("campaigns")
