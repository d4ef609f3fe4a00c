"""Supervisors (issue 19): accounts with their phone extension, their password hashes and
lockout, their dashboard sessions (as the agents' of 0005), and the audit log of listen,
whisper and barge (and sign-in/out).

Revision ID: 0009_supervisors
Revises: 0008_crm_cursors
Create Date: 2026-12-05 12:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_INSTANT = sa.DateTime(timezone=True)  # models.UTCDateTime stores through this type

revision: str = "0009_supervisors"
down_revision: str | None = "0008_crm_cursors"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "supervisors",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.Column("extension", sa.String(), nullable=True),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervisors")),
    )
    op.create_table(
        "supervisor_credentials",
        sa.Column("supervisor_id", sa.String(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("locked_until", _INSTANT, nullable=True),
        sa.Column("changed_at", _INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["supervisor_id"],
            ["supervisors.id"],
            name=op.f("fk_supervisor_credentials_supervisor_id_supervisors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("supervisor_id", name=op.f("pk_supervisor_credentials")),
    )
    op.create_table(
        "supervisor_sessions",
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("supervisor_id", sa.String(), nullable=False),
        sa.Column("csrf_token", sa.String(), nullable=False),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("expires_at", _INSTANT, nullable=False),
        sa.Column("last_seen_at", _INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["supervisor_id"],
            ["supervisors.id"],
            name=op.f("fk_supervisor_sessions_supervisor_id_supervisors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_supervisor_sessions")),
    )
    op.create_index(
        op.f("ix_supervisor_sessions_supervisor_id"), "supervisor_sessions", ["supervisor_id"]
    )
    op.create_index(
        op.f("ix_supervisor_sessions_expires_at"), "supervisor_sessions", ["expires_at"]
    )
    op.create_table(
        "supervision_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", _INSTANT, nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("actor_kind", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("attempt_id", sa.String(), nullable=True),
        sa.Column("order_id", sa.String(), nullable=True),
        sa.Column("agent_id", sa.String(), nullable=True),
        sa.Column("result", sa.String(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "action IN ('listen', 'whisper', 'barge', 'sign_in', 'sign_out', 'why')",
            name=op.f("ck_supervision_audit_action"),
        ),
        sa.CheckConstraint(
            "result IN ('accepted', 'refused')", name=op.f("ck_supervision_audit_result")
        ),
        sa.CheckConstraint(
            "actor_kind IN ('supervisor', 'token')", name=op.f("ck_supervision_audit_actor_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_audit")),
    )
    op.create_index(op.f("ix_supervision_audit_at"), "supervision_audit", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_supervision_audit_at"), table_name="supervision_audit")
    op.drop_table("supervision_audit")
    op.drop_index(op.f("ix_supervisor_sessions_expires_at"), table_name="supervisor_sessions")
    op.drop_index(op.f("ix_supervisor_sessions_supervisor_id"), table_name="supervisor_sessions")
    op.drop_table("supervisor_sessions")
    op.drop_table("supervisor_credentials")
    op.drop_table("supervisors")
