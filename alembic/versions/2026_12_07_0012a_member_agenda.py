"""member agenda: snoozes and dismissals, the daily digest claim, ranking parameters

A member's agenda is computed on read from the rows other domains keep; what it stores is
only what a person decided about an item (``agenda_decisions``: snoozed until a date, or
dismissed with a reason, kept as history for the team analytics) and which members were
sent their morning ``agenda.ready`` (``agenda_digests``: one row per member and local day,
the claim that makes two replicas send it once). Two workspace parameters tune the
ranking: how long past the funnel's usual time in stage a referral counts as stalled, and
the probability lift of a touch. Partial indexes find a member's open referrals and advocates. Both have server defaults, so the previous version keeps
running against this schema while replicas roll.

Revision ID: 0012a
Revises: 0011t
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012a"
down_revision: str | None = "0011t"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "workspaces",
        sa.Column("agenda_stall_factor", sa.Double(), server_default="1.5", nullable=False),
    )
    op.add_column(
        "workspaces",
        sa.Column("agenda_touch_lift", sa.Double(), server_default="0.25", nullable=False),
    )
    op.create_table(
        "agenda_decisions",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("item_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("actor", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "member_id"],
            ["members.workspace_id", "members.id"],
            name=op.f("fk_agenda_decisions_workspace_id_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_agenda_decisions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_agenda_decisions")),
    )
    op.create_index(
        "ix_agenda_decisions_workspace_id_member_id_item_key",
        "agenda_decisions",
        ["workspace_id", "member_id", "item_key"],
        unique=False,
    )
    op.create_index(
        "ix_agenda_decisions_workspace_id_at",
        "agenda_decisions",
        ["workspace_id", "at"],
        unique=False,
    )
    op.create_index(
        "ix_referrals_workspace_id_owner_id_open",
        "referrals",
        ["workspace_id", "owner_id"],
        unique=False,
        postgresql_where=sa.text(
            "direction = 'received' AND stage IN ('received', 'contacted', 'meeting', 'agreement')"
        ),
    )
    op.create_index(
        "ix_contacts_workspace_id_owner_id_advocates",
        "contacts",
        ["workspace_id", "owner_id"],
        unique=False,
        postgresql_where=sa.text("advocacy_stage IN ('advocate', 'core_advocate')"),
    )
    op.create_table(
        "agenda_digests",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "member_id"],
            ["members.workspace_id", "members.id"],
            name=op.f("fk_agenda_digests_workspace_id_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_agenda_digests_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "member_id", "day", name=op.f("pk_agenda_digests")),
    )


def downgrade() -> None:
    op.drop_table("agenda_digests")
    op.drop_index("ix_contacts_workspace_id_owner_id_advocates", table_name="contacts")
    op.drop_index("ix_referrals_workspace_id_owner_id_open", table_name="referrals")
    op.drop_index("ix_agenda_decisions_workspace_id_at", table_name="agenda_decisions")
    op.drop_index(
        "ix_agenda_decisions_workspace_id_member_id_item_key", table_name="agenda_decisions"
    )
    op.drop_table("agenda_decisions")
    op.drop_column("workspaces", "agenda_touch_lift")
    op.drop_column("workspaces", "agenda_stall_factor")
