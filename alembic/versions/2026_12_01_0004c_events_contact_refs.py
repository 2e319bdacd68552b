"""events: GIN index on the contact ids an event carries, for right-to-erasure scrubbing

Revision ID: 0004c
Revises: 0004i
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004c"
down_revision: str | None = "0004i"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTACT_REFS = (
    "ARRAY[data ->> 'id'::text, data ->> 'contact_id'::text, "
    "data ->> 'source_contact_id'::text, data ->> 'referred_contact_id'::text, "
    "data ->> 'partner_contact_id'::text]"
)


def upgrade() -> None:
    op.create_index(
        "ix_events_contact_refs", "events", [sa.text(f"({CONTACT_REFS})")], postgresql_using="gin"
    )


def downgrade() -> None:
    op.drop_index("ix_events_contact_refs", table_name="events")
