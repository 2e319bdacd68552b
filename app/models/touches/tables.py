"""Touch tables: plans and their steps, enrolments, the touches themselves, feed tokens.

A touch is a row from the moment it is planned (``scheduled``), so the upcoming view, a
member's calendar and the scheduler all read one table. Rendered subject and body are
stored when the touch becomes due: a later plan edit must not rewrite what was already sent.
The API schemas live in ``app.models.touches.schemas`` to keep this file about storage.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from app.models.platform import (
    IdMixin,
    TenantMixin,
    column,
    created_at_column,
    tenant_fk,
    timestamp,
    workspace_fk,
)

TOUCH_CHANNELS = ("email", "sms", "call", "mail", "card", "gift", "event_invite", "meeting")
TOUCH_MODES = ("automated", "manual")
TOUCH_STATUSES = (
    "scheduled",
    "due",
    "sent",
    "completed",
    "skipped",
    "failed",
    "cancelled",
    "unconfirmed",
)
#: A step's touch may still go out this long after its due time (``valid_for_days``).
DEFAULT_VALID_FOR_DAYS = 3
ENROLLMENT_STATUSES = ("active", "paused", "completed", "cancelled")


class TouchPlan(IdMixin, table=True):
    __tablename__ = "touch_plans"
    __table_args__ = (
        workspace_fk(),
        # Built-in plans are seeded once per workspace; the key makes seeding idempotent.
        Index(
            "uq_touch_plans_workspace_id_builtin_key",
            "workspace_id",
            "builtin_key",
            unique=True,
            postgresql_where=text("builtin_key IS NOT NULL"),
        ),
        Index("ix_touch_plans_workspace_id_created_at_id", "workspace_id", "created_at", "id"),
    )

    name: str = column(String(200))
    description: str | None = column(String(4000), default=None)
    audience_segments: list[str] = column(ARRAY(String(32)), default_factory=list)
    audience_tags: list[str] = column(ARRAY(String(100)), default_factory=list)
    referral_reminder: str = column(String(4000))
    repeat_yearly: bool = False
    pause_on_reply: bool = False
    active: bool = True
    builtin_key: str | None = column(String(64), default=None)
    # Some template names the member: a contact needs an owner or the workspace a default
    # sender to be enrolled (set when the plan is saved).
    needs_sender: bool = column(default=False, server_default=text("false"))
    version: int = 1
    created_at: datetime = created_at_column()
    updated_at: datetime = created_at_column()


class TouchPlanStep(IdMixin, table=True):
    __tablename__ = "touch_plan_steps"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["plan_id"], "touch_plans", ondelete="CASCADE"),
        tenant_fk(["assignee_id"], "members", ondelete="SET NULL"),
        Index(
            "ix_touch_plan_steps_workspace_id_plan_id_position",
            "workspace_id",
            "plan_id",
            "position",
        ),
    )

    plan_id: uuid.UUID
    position: int
    channel: str = column(String(16))
    content_kind: str = column(String(32))
    mode: str = column(String(16))
    assignee_id: uuid.UUID | None = None
    subject_template: str | None = column(String(2000), default=None)
    body_template: str = column(Text, default="")
    timing: dict[str, Any] = column(JSONB)
    send_time: time | None = None
    valid_for_days: int = column(default=DEFAULT_VALID_FOR_DAYS, server_default=text("3"))
    created_at: datetime = created_at_column()
    updated_at: datetime = created_at_column()


class Enrollment(IdMixin, table=True):
    __tablename__ = "enrollments"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["plan_id"], "touch_plans", ondelete="CASCADE"),
        tenant_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        # A contact is on a plan at most once at a time.
        Index(
            "uq_enrollments_workspace_id_plan_id_contact_id_open",
            "workspace_id",
            "plan_id",
            "contact_id",
            unique=True,
            postgresql_where=text("status IN ('active', 'paused')"),
        ),
        Index("ix_enrollments_workspace_id_contact_id", "workspace_id", "contact_id"),
        Index("ix_enrollments_workspace_id_created_at_id", "workspace_id", "created_at", "id"),
        # The top-up job reads only enrolments whose planned horizon is running out.
        Index(
            "ix_enrollments_materialized_until_active",
            "materialized_until",
            postgresql_where=text("status = 'active'"),
        ),
    )

    plan_id: uuid.UUID
    contact_id: uuid.UUID
    status: str = column(String(16), default="active")
    source: str = column(String(16), default="manual")
    start_date: date
    materialized_until: date
    # Steps that fell before the enrolment was made go out if still fresh (else skipped).
    catch_up: bool = column(default=False, server_default=text("false"))
    reason: str | None = column(String(200), default=None)
    paused_at: datetime | None = timestamp(default=None)
    completed_at: datetime | None = timestamp(default=None)
    cancelled_at: datetime | None = timestamp(default=None)
    version: int = 1
    created_at: datetime = created_at_column()
    updated_at: datetime = created_at_column()


class Touch(IdMixin, table=True):
    __tablename__ = "touches"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        tenant_fk(["enrollment_id"], "enrollments", ondelete="SET NULL"),
        tenant_fk(["plan_id"], "touch_plans", ondelete="SET NULL"),
        tenant_fk(["step_id"], "touch_plan_steps", ondelete="SET NULL"),
        tenant_fk(["assignee_id"], "members", ondelete="SET NULL"),
        # Materialising the same occurrence twice is a no-op (ON CONFLICT DO NOTHING).
        UniqueConstraint("workspace_id", "enrollment_id", "step_id", "occurrence_key"),
        # The scheduler's claim: only scheduled rows, in due order, whatever else is stored.
        Index(
            "ix_touches_due_at_scheduled", "due_at", postgresql_where=text("status = 'scheduled'")
        ),
        Index("ix_touches_workspace_id_due_at_id", "workspace_id", "due_at", "id"),
        Index("ix_touches_workspace_id_contact_id_due_at", "workspace_id", "contact_id", "due_at"),
        Index(
            "ix_touches_workspace_id_assignee_id_due_at", "workspace_id", "assignee_id", "due_at"
        ),
        Index("ix_touches_workspace_id_plan_id_status", "workspace_id", "plan_id", "status"),
        # Settling: touches released but never reported, per workspace, oldest first.
        Index(
            "ix_touches_workspace_id_due_at_due",
            "workspace_id",
            "due_at",
            postgresql_where=text("status = 'due'"),
        ),
    )

    contact_id: uuid.UUID
    enrollment_id: uuid.UUID | None = None
    plan_id: uuid.UUID | None = None
    step_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    channel: str = column(String(16))
    mode: str = column(String(16))
    content_kind: str = column(String(32))
    status: str = column(String(16), default="scheduled")
    reason: str | None = column(String(200), default=None)
    due_at: datetime = timestamp()
    # Not released by then, the touch is skipped as stale (null: never stale).
    expires_at: datetime | None = timestamp(default=None)
    due_date: date | None = None
    occurrence_key: str | None = column(String(64), default=None)
    subject: str | None = column(String(2000), default=None)
    body: str | None = column(Text, default=None)
    referral_reminder: str | None = column(String(4000), default=None)
    provider_message_id: str | None = column(String(255), default=None)
    outcome: str | None = column(String(16), default=None)
    outcome_note: str | None = column(String(10000), default=None)
    emitted_at: datetime | None = timestamp(default=None)
    finished_at: datetime | None = timestamp(default=None)
    version: int = 1
    created_at: datetime = created_at_column()
    updated_at: datetime = created_at_column()


class CalendarToken(TenantMixin, table=True):
    """A member's read-only calendar feed token, stored as its SHA-256 digest only."""

    __tablename__ = "calendar_tokens"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["member_id"], "members", ondelete="CASCADE"),
        UniqueConstraint("workspace_id", "token_hash"),
    )

    member_id: uuid.UUID = column(primary_key=True)
    token_hash: str = column(String(64))
    created_at: datetime = created_at_column()
