"""contact imports run in committed batches: staged rows, attempts, the open-jobs index

Revision ID: 0004q
Revises: 0004c
Create Date: 2026-12-01 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004q"
down_revision: str | None = "0004c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_import_rows",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("import_id", sa.Uuid(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("errors", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id", "import_id"],
            ["contact_imports.workspace_id", "contact_imports.id"],
            name=op.f("fk_contact_import_rows_workspace_id_import_id_contact_imports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_contact_import_rows_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "import_id", "line", name=op.f("pk_contact_import_rows")
        ),
    )
    op.add_column(
        "contact_imports",
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.alter_column("contact_imports", "attempts", server_default=None)
    # Imports used to run inside their request: one still "processing" was interrupted.
    op.execute(
        "UPDATE contact_imports SET status = 'failed', detail = 'interrupted' "
        "WHERE status = 'processing'"
    )
    op.create_index(
        "ix_contact_imports_open",
        "contact_imports",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_contact_imports_open",
        table_name="contact_imports",
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    op.execute("UPDATE contact_imports SET status = 'failed' WHERE status IN ('queued', 'running')")
    op.drop_column("contact_imports", "attempts")
    op.drop_table("contact_import_rows")
