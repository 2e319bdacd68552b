"""people: roles, record visibility, identity providers, the audit log, actors

Members sign in (a workspace's OpenID Connect provider: issuer, audience, the claim naming
the member, whether unknown people are created) and act within a role; a workspace's
``visibility`` (``team`` or ``own``) says whether agents see every contact or only theirs
and those shared with them (``contact_shares``); assistants act for the agents named in
``member_assists``. API keys may be bound to a member. Every change is attributed: the
``audit_log``, and an ``actor`` on events, stage changes, reward decisions and log entries.
All new columns are nullable or have a server default, so the previous version keeps
running against this schema while replicas roll.

Revision ID: 0008p
Revises: 0007w
Create Date: 2026-12-07 12:29:36.892325
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008p"
down_revision: str | None = "0007w"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=True),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_audit_log_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"], unique=False, postgresql_using="brin")
    op.create_index(
        "ix_audit_log_workspace_id_actor_id_id",
        "audit_log",
        ["workspace_id", "actor_id", "id"],
        unique=False,
    )
    op.create_index(
        "ix_audit_log_workspace_id_resource_type_resource_id_id",
        "audit_log",
        ["workspace_id", "resource_type", "resource_id", "id"],
        unique=False,
    )
    op.create_table(
        "member_assists",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("assistant_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "agent_id"],
            ["members.workspace_id", "members.id"],
            name=op.f("fk_member_assists_workspace_id_agent_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "assistant_id"],
            ["members.workspace_id", "members.id"],
            name=op.f("fk_member_assists_workspace_id_assistant_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_member_assists_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "assistant_id", "agent_id", name=op.f("pk_member_assists")
        ),
    )
    op.create_index(
        "ix_member_assists_workspace_id_agent_id",
        "member_assists",
        ["workspace_id", "agent_id"],
        unique=False,
    )
    op.create_table(
        "contact_shares",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "contact_id"],
            ["contacts.workspace_id", "contacts.id"],
            name=op.f("fk_contact_shares_workspace_id_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "member_id"],
            ["members.workspace_id", "members.id"],
            name=op.f("fk_contact_shares_workspace_id_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_contact_shares_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "contact_id", "member_id", name=op.f("pk_contact_shares")
        ),
    )
    op.create_index(
        "ix_contact_shares_workspace_id_member_id",
        "contact_shares",
        ["workspace_id", "member_id"],
        unique=False,
    )
    op.add_column("api_keys", sa.Column("member_id", sa.Uuid(), nullable=True))
    op.create_index(
        "ix_api_keys_workspace_id_member_id",
        "api_keys",
        ["workspace_id", "member_id"],
        unique=False,
    )
    op.create_foreign_key(
        op.f("fk_api_keys_workspace_id_member_id_members"),
        "api_keys",
        "members",
        ["workspace_id", "member_id"],
        ["workspace_id", "id"],
        ondelete="CASCADE",
    )
    op.create_index(
        "ix_contacts_workspace_id_owner_id", "contacts", ["workspace_id", "owner_id"], unique=False
    )
    op.add_column(
        "events", sa.Column("actor", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    op.add_column(
        "interactions", sa.Column("actor", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    op.add_column(
        "referral_stage_history",
        sa.Column("actor", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column(
        "rewards", sa.Column("approved_by", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    op.add_column(
        "rewards", sa.Column("issued_by", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    op.add_column(
        "rewards", sa.Column("cancelled_by", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    op.add_column(
        "workspaces",
        sa.Column("visibility", sa.String(length=8), server_default="team", nullable=False),
    )
    op.add_column("workspaces", sa.Column("idp_issuer", sa.String(length=500), nullable=True))
    op.add_column("workspaces", sa.Column("idp_audience", sa.String(length=500), nullable=True))
    op.add_column(
        "workspaces",
        sa.Column("idp_member_claim", sa.String(length=64), server_default="email", nullable=False),
    )
    op.add_column(
        "workspaces",
        sa.Column(
            "idp_unknown_members", sa.String(length=8), server_default="refuse", nullable=False
        ),
    )
    op.create_index(
        "uq_workspaces_idp_issuer_idp_audience",
        "workspaces",
        ["idp_issuer", "idp_audience"],
        unique=True,
        postgresql_where=sa.text("idp_issuer IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_workspaces_idp_issuer_idp_audience",
        table_name="workspaces",
        postgresql_where=sa.text("idp_issuer IS NOT NULL"),
    )
    op.drop_column("workspaces", "idp_unknown_members")
    op.drop_column("workspaces", "idp_member_claim")
    op.drop_column("workspaces", "idp_audience")
    op.drop_column("workspaces", "idp_issuer")
    op.drop_column("workspaces", "visibility")
    op.drop_column("rewards", "cancelled_by")
    op.drop_column("rewards", "issued_by")
    op.drop_column("rewards", "approved_by")
    op.drop_column("referral_stage_history", "actor")
    op.drop_column("interactions", "actor")
    op.drop_column("events", "actor")
    op.drop_index("ix_contacts_workspace_id_owner_id", table_name="contacts")
    op.drop_constraint(
        op.f("fk_api_keys_workspace_id_member_id_members"), "api_keys", type_="foreignkey"
    )
    op.drop_index("ix_api_keys_workspace_id_member_id", table_name="api_keys")
    op.drop_column("api_keys", "member_id")
    op.drop_index("ix_contact_shares_workspace_id_member_id", table_name="contact_shares")
    op.drop_table("contact_shares")
    op.drop_index("ix_member_assists_workspace_id_agent_id", table_name="member_assists")
    op.drop_table("member_assists")
    op.drop_index("ix_audit_log_workspace_id_resource_type_resource_id_id", table_name="audit_log")
    op.drop_index("ix_audit_log_workspace_id_actor_id_id", table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log", postgresql_using="brin")
    op.drop_table("audit_log")
