"""scores: the counts behind a score as narrow columns; the run's shared parameters once

``contact_scores.inputs`` (a JSON document repeating the window, half-life, weights and
targets on every row) becomes nine narrow columns, and what every row of a run shares moves
to ``score_params``, one row per workspace. The nightly recompute rewrites every row, so
the row size is what it costs: about 740 bytes before, about 250 after.

Revision ID: 0005s
Revises: 0004n
Create Date: 2026-12-01 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005s"
down_revision: str | None = "0004n"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = (
    "interactions",
    "referrals_received",
    "referrals_given",
    "events_attended",
    "appreciation_touches",
    "rewards_issued",
)
WEIGHTED = ("communication_weighted", "reciprocity_weighted", "appreciation_weighted")


def upgrade() -> None:
    op.create_table(
        "score_params",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("half_life_days", sa.Double(), nullable=False),
        sa.Column("weights", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("targets", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_score_params_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_score_params")),
    )
    for name in COUNTS:
        op.add_column(
            "contact_scores",
            sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False),
        )
    for name in WEIGHTED:
        op.add_column(
            "contact_scores",
            sa.Column(name, sa.Double(), server_default=sa.text("0"), nullable=False),
        )
    sets = ", ".join(
        [f"{n} = coalesce(CAST(inputs ->> '{n}' AS integer), 0)" for n in COUNTS]
        + [f"{n} = coalesce(CAST(inputs ->> '{n}' AS float8), 0)" for n in WEIGHTED]
    )
    op.execute(f"UPDATE contact_scores SET {sets}")
    op.execute(
        """
        INSERT INTO score_params (workspace_id, computed_at, window_days, half_life_days,
                                  weights, targets)
        SELECT DISTINCT ON (workspace_id) workspace_id, computed_at,
               CAST(inputs ->> 'window_days' AS integer),
               CAST(inputs ->> 'half_life_days' AS float8), inputs -> 'weights',
               inputs -> 'targets'
          FROM contact_scores
         WHERE inputs ?& ARRAY['window_days', 'half_life_days', 'weights', 'targets']
         ORDER BY workspace_id, computed_at DESC
        """
    )
    op.drop_column("contact_scores", "inputs")


def downgrade() -> None:
    op.add_column(
        "contact_scores",
        sa.Column(
            "inputs",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            server_default="{}",
        ),
    )
    pairs = ", ".join(f"'{n}', cs.{n}" for n in (*COUNTS, *WEIGHTED))
    op.execute(
        f"""
        UPDATE contact_scores cs
           SET inputs = jsonb_build_object({pairs})
               || jsonb_build_object('window_days', p.window_days,
                                     'half_life_days', p.half_life_days,
                                     'weights', p.weights, 'targets', p.targets)
          FROM score_params p
         WHERE p.workspace_id = cs.workspace_id
        """
    )
    op.alter_column("contact_scores", "inputs", server_default=None)
    for name in (*WEIGHTED, *COUNTS):
        op.drop_column("contact_scores", name)
    op.drop_table("score_params")
