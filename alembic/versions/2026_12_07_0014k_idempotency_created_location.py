"""idempotency keys: the resource a stored POST created, forgotten when it is deleted

A stored response replayed after the resource it created was deleted answered 201 with a
``Location`` that answers 404 (Schemathesis' stateful phase found it: its generated
``Idempotency-Key`` values repeat across a create, a delete and a create again). Each
stored response now keeps the ``Location`` it answered, indexed per workspace, so a
``DELETE`` of that path drops the key in its own transaction and the same key then
creates anew. The column is nullable: rows the previous version writes carry none, and
it keeps running against this schema while replicas roll.

Revision ID: 0014k
Revises: 0013m
Create Date: 2026-12-07 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014k"
down_revision: str | None = "0013m"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("idempotency_keys", sa.Column("location", sa.String(length=2048), nullable=True))
    op.create_index(
        "ix_idempotency_keys_workspace_id_location",
        "idempotency_keys",
        ["workspace_id", "location"],
        unique=False,
        postgresql_where=sa.text("location IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_workspace_id_location", table_name="idempotency_keys")
    op.drop_column("idempotency_keys", "location")
