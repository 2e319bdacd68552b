"""touches people would trust: freshness, sender identity, catch-up, plan experiments

* ``touches.expires_at``: a touch not released by then is skipped as stale. Touches
  still scheduled get their due time plus the default three days, so an old backlog
  (a scheduler stopped for weeks, an enrolment dated years back) never goes out.
* ``touch_plan_steps.valid_for_days`` (default 3) and ``enrollments.catch_up``.
* ``touch_plans.needs_sender``: some template names the member. Existing plans are
  marked where a template mentions ``member`` inside ``{{ }}`` or ``{% %}``.
* ``workspaces.default_sender_member_id`` and ``outcome_grace_days`` (default 14), and
  the partial index the settling job reads (touches released but never reported).
* experiments of touch plans: ``experiments.kind``, ``experiment_arms.plan_id`` (one of
  program or plan per arm).

Revision ID: 0011t
Revises: 0010i
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011t"
down_revision: str | None = "0010i"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A template that names the member: ``{{ member.name }}``, ``{% if member %}``...
_NAMES_MEMBER = r"(\{\{|\{%)([^}%]|%[^}])*\mmember\M"


def upgrade() -> None:
    op.add_column("workspaces", sa.Column("default_sender_member_id", sa.Uuid(), nullable=True))
    op.add_column(
        "workspaces",
        sa.Column("outcome_grace_days", sa.Integer(), server_default=sa.text("14"), nullable=False),
    )
    op.add_column(
        "touch_plans",
        sa.Column("needs_sender", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column(
        "touch_plan_steps",
        sa.Column("valid_for_days", sa.Integer(), server_default=sa.text("3"), nullable=False),
    )
    op.add_column(
        "enrollments",
        sa.Column("catch_up", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("touches", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_touches_workspace_id_due_at_due",
        "touches",
        ["workspace_id", "due_at"],
        unique=False,
        postgresql_where=sa.text("status = 'due'"),
    )
    op.add_column(
        "experiments",
        sa.Column(
            "kind",
            sa.String(length=16),
            server_default=sa.text("'reward_program'"),
            nullable=False,
        ),
    )
    op.add_column("experiment_arms", sa.Column("plan_id", sa.Uuid(), nullable=True))
    op.alter_column("experiment_arms", "program_id", existing_type=sa.Uuid(), nullable=True)
    op.create_foreign_key(
        op.f("fk_experiment_arms_workspace_id_plan_id_touch_plans"),
        "experiment_arms",
        "touch_plans",
        ["workspace_id", "plan_id"],
        ["workspace_id", "id"],
        ondelete="RESTRICT",
    )
    op.create_check_constraint(
        op.f("ck_experiment_arms_one_treatment"),
        "experiment_arms",
        "num_nonnulls(program_id, plan_id) = 1",
    )
    op.execute(
        "UPDATE touches SET expires_at = due_at + interval '3 days' WHERE status = 'scheduled'"
    )
    op.execute(
        sa.text(
            """
            UPDATE touch_plans AS p SET needs_sender = true
            WHERE p.referral_reminder ~ :pattern OR EXISTS (
                SELECT 1 FROM touch_plan_steps AS s
                WHERE s.workspace_id = p.workspace_id AND s.plan_id = p.id
                  AND (coalesce(s.subject_template, '') ~ :pattern
                       OR s.body_template ~ :pattern))
            """
        ).bindparams(pattern=_NAMES_MEMBER)
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_experiment_arms_one_treatment"), "experiment_arms", type_="check")
    op.drop_constraint(
        op.f("fk_experiment_arms_workspace_id_plan_id_touch_plans"),
        "experiment_arms",
        type_="foreignkey",
    )
    op.execute("DELETE FROM experiment_arms WHERE program_id IS NULL")
    op.alter_column("experiment_arms", "program_id", existing_type=sa.Uuid(), nullable=False)
    op.drop_column("experiment_arms", "plan_id")
    op.drop_column("experiments", "kind")
    op.drop_index(
        "ix_touches_workspace_id_due_at_due",
        table_name="touches",
        postgresql_where=sa.text("status = 'due'"),
    )
    op.drop_column("touches", "expires_at")
    op.drop_column("enrollments", "catch_up")
    op.drop_column("touch_plan_steps", "valid_for_days")
    op.drop_column("touch_plans", "needs_sender")
    op.drop_column("workspaces", "outcome_grace_days")
    op.drop_column("workspaces", "default_sender_member_id")
