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
from sqlalchemy.orm import Mapped, mapped_column

from app.models.platform import (
    Base,
    IdMixin,
    TenantMixin,
    created_at_column,
    tenant_fk,
    workspace_fk,
)

TOUCH_CHANNELS = ("email", "sms", "call", "mail", "card", "gift", "event_invite", "meeting")
TOUCH_MODES = ("automated", "manual")
TOUCH_STATUSES = ("scheduled", "due", "sent", "completed", "skipped", "failed", "cancelled")
ENROLLMENT_STATUSES = ("active", "paused", "completed", "cancelled")


class TouchPlan(IdMixin, Base):
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

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(4000))
    audience_segments: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)
    audience_tags: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list)
    referral_reminder: Mapped[str] = mapped_column(String(4000))
    repeat_yearly: Mapped[bool] = mapped_column(default=False)
    pause_on_reply: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    builtin_key: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class TouchPlanStep(IdMixin, Base):
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

    plan_id: Mapped[uuid.UUID]
    position: Mapped[int]
    channel: Mapped[str] = mapped_column(String(16))
    content_kind: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16))
    assignee_id: Mapped[uuid.UUID | None]
    subject_template: Mapped[str | None] = mapped_column(String(2000))
    body_template: Mapped[str] = mapped_column(Text, default="")
    timing: Mapped[dict[str, Any]] = mapped_column(JSONB)
    send_time: Mapped[time | None]
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class Enrollment(IdMixin, Base):
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

    plan_id: Mapped[uuid.UUID]
    contact_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(16), default="active")
    source: Mapped[str] = mapped_column(String(16), default="manual")
    start_date: Mapped[date]
    materialized_until: Mapped[date]
    reason: Mapped[str | None] = mapped_column(String(200))
    paused_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class Touch(IdMixin, Base):
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
    )

    contact_id: Mapped[uuid.UUID]
    enrollment_id: Mapped[uuid.UUID | None]
    plan_id: Mapped[uuid.UUID | None]
    step_id: Mapped[uuid.UUID | None]
    assignee_id: Mapped[uuid.UUID | None]
    channel: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    content_kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    reason: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime]
    due_date: Mapped[date | None]
    occurrence_key: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(2000))
    body: Mapped[str | None] = mapped_column(Text)
    referral_reminder: Mapped[str | None] = mapped_column(String(4000))
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_note: Mapped[str | None] = mapped_column(String(10_000))
    emitted_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class CalendarToken(TenantMixin, Base):
    """A member's read-only calendar feed token, stored as its SHA-256 digest only."""

    __tablename__ = "calendar_tokens"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["member_id"], "members", ondelete="CASCADE"),
        UniqueConstraint("workspace_id", "token_hash"),
    )

    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
