"""contact imports match rows by e-mail and phone, refuse rows repeating a key, dry-run

* ``contacts``: GIN indexes over each contact's e-mail addresses (lowercased) and phone
  numbers, so an import finds the contacts a batch's rows match in one statement,
  probing the index per key (``app.services.contacts.importing.match``).
* ``contact_imports``: what the import was asked to do (``dry_run``, ``match_on``,
  ``mode``), the rows it skipped (matched, nothing to change) and the file's header, to
  name each refused row's column. Imports made before this one matched on external ids
  only and overwrote what the row gave: their rows say so.
* ``contact_import_repeats``: rows refused before the import ran, for sharing a key with
  another row of the file; the batch of their line reports them.

Revision ID: 0010i
Revises: 0009c
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010i"
down_revision: str | None = "0009c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMAIL_KEYS = "CAST(lower(CAST(jsonb_path_query_array(emails, '$[*].address') AS text)) AS jsonb)"
PHONE_KEYS = "jsonb_path_query_array(phones, '$[*].number')"
# No pending list: the import probes these indexes right after inserting into them.
GIN_PROBED = {"postgresql_using": "gin", "postgresql_with": {"fastupdate": "off"}}


def upgrade() -> None:
    op.create_index("ix_contacts_email_keys", "contacts", [sa.text(EMAIL_KEYS)], **GIN_PROBED)
    op.create_index("ix_contacts_phone_keys", "contacts", [sa.text(PHONE_KEYS)], **GIN_PROBED)
    add = op.add_column
    table = "contact_imports"
    add(table, sa.Column("skipped_count", sa.Integer(), nullable=False, server_default="0"))
    add(table, sa.Column("dry_run", sa.Boolean(), nullable=False, server_default=sa.false()))
    add(table, sa.Column("match_on", sa.String(64), nullable=False, server_default="external_id"))
    add(table, sa.Column("mode", sa.String(2000), nullable=False, server_default="overwrite"))
    add(
        table,
        sa.Column(
            "columns",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            server_default=sa.text("'[]'::jsonb"),
        ),
    )
    for name in ("skipped_count", "dry_run", "match_on", "mode", "columns"):
        op.alter_column(table, name, server_default=None)
    op.create_table(
        "contact_import_repeats",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("import_id", sa.Uuid(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("errors", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "import_id"],
            ["contact_imports.workspace_id", "contact_imports.id"],
            name=op.f("fk_contact_import_repeats_workspace_id_import_id_contact_imports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_contact_import_repeats_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "import_id", "line", name=op.f("pk_contact_import_repeats")
        ),
    )


def downgrade() -> None:
    op.drop_table("contact_import_repeats")
    for name in ("columns", "mode", "match_on", "dry_run", "skipped_count"):
        op.drop_column("contact_imports", name)
    op.drop_index("ix_contacts_phone_keys", table_name="contacts")
    op.drop_index("ix_contacts_email_keys", table_name="contacts")
