"""integrator contract: CORS origins per workspace, rate limits and their shared buckets

A workspace lists the browser origins its front end runs on (``cors_origins``, found by
origin through a GIN index) and may set its credentials' default rate limit; an API key
may override it. ``rate_limit_buckets`` holds each credential's token bucket, shared by
every replica. All new columns are nullable or have a server default, so the previous
version keeps running against this schema while replicas roll.

Revision ID: 0009c
Revises: 0008p
Create Date: 2026-12-07 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009c"
down_revision: str | None = "0008p"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_buckets",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("tokens", sa.Double(), nullable=False),
        sa.Column("granted", sa.Integer(), nullable=False),
        sa.Column("refilled_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_rate_limit_buckets_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "subject_id", name=op.f("pk_rate_limit_buckets")),
    )
    op.add_column(
        "workspaces",
        sa.Column(
            "cors_origins",
            postgresql.ARRAY(sa.String(length=200)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
    )
    op.add_column("workspaces", sa.Column("rate_limit_per_minute", sa.Integer(), nullable=True))
    op.add_column("workspaces", sa.Column("rate_limit_burst", sa.Integer(), nullable=True))
    op.create_index(
        "ix_workspaces_cors_origins", "workspaces", ["cors_origins"], postgresql_using="gin"
    )
    op.add_column("api_keys", sa.Column("rate_limit_per_minute", sa.Integer(), nullable=True))
    op.add_column("api_keys", sa.Column("rate_limit_burst", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("api_keys", "rate_limit_burst")
    op.drop_column("api_keys", "rate_limit_per_minute")
    op.drop_index("ix_workspaces_cors_origins", table_name="workspaces", postgresql_using="gin")
    op.drop_column("workspaces", "rate_limit_burst")
    op.drop_column("workspaces", "rate_limit_per_minute")
    op.drop_column("workspaces", "cors_origins")
    op.drop_table("rate_limit_buckets")
