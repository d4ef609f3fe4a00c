"""Campaigns in the database (issue 21): ``campaign_versions`` (every saved version of a
campaign's settings, who saved it, when, why) and, on ``campaigns``, ``version``, ``state``
(active|paused|archived, replacing ``paused``) and ``updated_by``.

Existing rows with stored settings become version 1 of their ``settings_json``; a row with
``"{}"`` (settings never saved) stays at version 0 until the node's first start imports its
campaign file. ``paused`` becomes ``state = 'paused'``.

Revision ID: 0011_campaign_versions
Revises: 0010_agent_states
Create Date: 2026-12-05 23:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_INSTANT = sa.DateTime(timezone=True)  # models.UTCDateTime stores through this type
_STATES = "state IN ('active', 'paused', 'archived')"
_AUTHOR = "migration:0011"
_NOTE = "the settings stored before versions (migration 0011)"

revision: str = "0011_campaign_versions"
down_revision: str | None = "0010_agent_states"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "campaign_versions",
        sa.Column("campaign", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("settings_json", sa.Text(), nullable=False),
        sa.Column("author", sa.String(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign"], ["campaigns.name"], name=op.f("fk_campaign_versions_campaign_campaigns")
        ),
        sa.PrimaryKeyConstraint("campaign", "version", name=op.f("pk_campaign_versions")),
    )
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(
            sa.Column("version", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(
            sa.Column("state", sa.String(), server_default=sa.text("'active'"), nullable=False)
        )
        batch.add_column(
            sa.Column("updated_by", sa.String(), server_default=sa.text("''"), nullable=False)
        )
    campaigns = sa.table(
        "campaigns",
        sa.column("name", sa.String()),
        sa.column("paused", sa.Boolean()),
        sa.column("settings_json", sa.Text()),
        sa.column("version", sa.Integer()),
        sa.column("state", sa.String()),
        sa.column("updated_by", sa.String()),
        sa.column("updated_at", _INSTANT),
    )
    op.execute(campaigns.update().where(campaigns.c.paused.is_(True)).values(state="paused"))
    op.execute(
        campaigns.update()
        .where(campaigns.c.settings_json != "{}")
        .values(version=1, updated_by=_AUTHOR)
    )
    versions = sa.table(
        "campaign_versions",
        *(sa.column(n) for n in ("campaign", "version", "settings_json", "author", "note")),
        sa.column("created_at", _INSTANT),
    )
    old = sa.select(
        campaigns.c.name, sa.literal(1), campaigns.c.settings_json, sa.literal(_AUTHOR),
        sa.literal(_NOTE), campaigns.c.updated_at,
    ).where(campaigns.c.version == 1)  # fmt: skip
    op.execute(versions.insert().from_select(list(versions.c.keys()), old))
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("paused")
        batch.create_check_constraint(op.f("ck_campaigns_state"), sa.text(_STATES))


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_constraint(op.f("ck_campaigns_state"), type_="check")
        batch.add_column(
            sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.execute("UPDATE campaigns SET paused = (state = 'paused')")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("updated_by")
        batch.drop_column("state")
        batch.drop_column("version")
    op.drop_table("campaign_versions")
