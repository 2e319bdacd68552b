"""webhook deliveries: an index of pending ones by workspace, for claims shared out fairly

The dispatcher's claim used to take due deliveries oldest first across workspaces, so a
workspace with a backlog held every other workspace's deliveries back until it drained.
The claim now visits each workspace with pending deliveries (a skip scan of this index)
and gives each an even share of the batch (``app.services.webhooks.bookkeeping``).

Revision ID: 0007w
Revises: 0006i
Create Date: 2026-12-02 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007w"
down_revision: str | None = "0006i"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_webhook_deliveries_pending_by_workspace",
        "webhook_deliveries",
        ["workspace_id", "next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_webhook_deliveries_pending_by_workspace",
        table_name="webhook_deliveries",
        postgresql_where=sa.text("status = 'pending'"),
    )
