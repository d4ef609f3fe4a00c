"""Reports (issue 19): the history of agents' states (one row per change, with who made it),
indexes on ``attempts.started_at``, ``outcomes.created_at`` and ``orders.created_at``
for reading by day, and the
audit actions ``view_report``, ``play_recording`` and ``why``.

Revision ID: 0010_agent_states
Revises: 0009_supervisors
Create Date: 2026-12-05 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_INSTANT = sa.DateTime(timezone=True)  # models.UTCDateTime stores through this type
_STATES = "state IN ('logged_out', 'idle', 'ringing', 'on_call', 'wrap_up', 'paused')"
_ACTIONS_0009 = "action IN ('listen', 'whisper', 'barge', 'sign_in', 'sign_out')"
_ACTIONS = (
    "action IN ('listen', 'whisper', 'barge', 'sign_in', 'sign_out', 'view_report',"
    " 'play_recording', 'why')"
)

revision: str = "0010_agent_states"
down_revision: str | None = "0009_supervisors"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "agent_states",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agent_id", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("by", sa.String(), nullable=False),
        sa.Column("at", _INSTANT, nullable=False),
        sa.CheckConstraint(_STATES, name=op.f("ck_agent_states_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_states")),
    )
    op.create_index(op.f("ix_agent_states_agent_id_at"), "agent_states", ["agent_id", "at"])
    op.create_index(op.f("ix_agent_states_at"), "agent_states", ["at"])
    op.create_index(op.f("ix_attempts_started_at"), "attempts", ["started_at"])
    op.create_index(op.f("ix_outcomes_created_at"), "outcomes", ["created_at"])
    op.create_index(op.f("ix_orders_created_at"), "orders", ["created_at"])
    _audit_actions(_ACTIONS)


def downgrade() -> None:
    _audit_actions(_ACTIONS_0009)
    op.drop_index(op.f("ix_orders_created_at"), table_name="orders")
    op.drop_index(op.f("ix_outcomes_created_at"), table_name="outcomes")
    op.drop_index(op.f("ix_attempts_started_at"), table_name="attempts")
    op.drop_index(op.f("ix_agent_states_at"), table_name="agent_states")
    op.drop_index(op.f("ix_agent_states_agent_id_at"), table_name="agent_states")
    op.drop_table("agent_states")


def _audit_actions(check: str) -> None:
    """Replace the CHECK on ``supervision_audit.action`` (SQLite: by copying the table)."""
    with op.batch_alter_table("supervision_audit") as batch:
        batch.drop_constraint(op.f("ck_supervision_audit_action"), type_="check")
        batch.create_check_constraint(op.f("ck_supervision_audit_action"), sa.text(check))
