"""contact imports stage a batch's worth of rows per row (``contact_import_chunks``)

``contact_import_rows`` held one row per file row, as jsonb: for a 100,000-row file,
100,000 jsonb values to parse, index, read back and delete, and the app decoded each and
pickled it again for the validation process. A chunk holds the rows of one batch as
JSON text, stored uncompressed (``STORAGE EXTERNAL``: the text is read once, whole, and
compressing it cost the server more than the bytes it saved).

Rows still staged by an unfinished import move into chunks of ``CHUNK_ROWS``, in line
order, so the import resumes where it stopped.

Revision ID: 0006i
Revises: 0005s
Create Date: 2026-12-02 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006i"
down_revision: str | None = "0005s"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK_ROWS = 1000  # app.services.contacts.importing.jobs.BATCH_ROWS when this was written


def _fks(table: str) -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint(
            ["workspace_id", "import_id"],
            ["contact_imports.workspace_id", "contact_imports.id"],
            name=op.f(f"fk_{table}_workspace_id_import_id_contact_imports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f(f"fk_{table}_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "contact_import_chunks",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("import_id", sa.Uuid(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("last_line", sa.Integer(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Text(), nullable=False),
        *_fks("contact_import_chunks"),
        sa.PrimaryKeyConstraint(
            "workspace_id", "import_id", "line", name=op.f("pk_contact_import_chunks")
        ),
    )
    op.execute("ALTER TABLE contact_import_chunks ALTER COLUMN rows SET STORAGE EXTERNAL")
    op.execute(
        f"""
        INSERT INTO contact_import_chunks
            (workspace_id, import_id, line, last_line, row_count, rows)
        SELECT workspace_id, import_id, min(line), max(line), count(*),
               CAST(json_agg(json_build_array(line, data, errors) ORDER BY line) AS text)
        FROM (
            SELECT *, (row_number() OVER (PARTITION BY workspace_id, import_id ORDER BY line)
                       - 1) / {CHUNK_ROWS} AS chunk
            FROM contact_import_rows
        ) AS staged
        GROUP BY workspace_id, import_id, chunk
        """
    )
    op.drop_table("contact_import_rows")


def downgrade() -> None:
    op.create_table(
        "contact_import_rows",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("import_id", sa.Uuid(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("errors", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        *_fks("contact_import_rows"),
        sa.PrimaryKeyConstraint(
            "workspace_id", "import_id", "line", name=op.f("pk_contact_import_rows")
        ),
    )
    op.execute(
        """
        INSERT INTO contact_import_rows (workspace_id, import_id, line, data, errors)
        SELECT c.workspace_id, c.import_id, CAST(r.value ->> 0 AS integer), r.value -> 1,
               NULLIF(r.value -> 2, CAST('null' AS jsonb))
        FROM contact_import_chunks AS c,
             jsonb_array_elements(CAST(c.rows AS jsonb)) AS r(value)
        """
    )
    op.drop_table("contact_import_chunks")
