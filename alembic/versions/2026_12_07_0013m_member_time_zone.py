"""member time zone: a member's own zone for their agenda day and 07:00 digest

Members of one team may work from different places; the agenda read "today" and the
morning ``agenda.ready`` fired at 07:00 in the workspace's zone for everyone. A member now
carries an IANA zone of their own (``members.time_zone``); null means the workspace's, so
every existing member keeps the day they had. The column is nullable, without a default,
so the previous version keeps running against this schema while replicas roll: it neither
reads nor writes it, and its inserts leave it null.

Revision ID: 0013m
Revises: 0012a
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013m"
down_revision: str | None = "0012a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("members", sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("members", "time_zone")
