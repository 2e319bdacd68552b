"""What the touches domain's events carry as ``data``: the schemas of their webhooks.

``touch.due`` and ``touch.skipped`` carry everything a sender needs without calling back;
``touch.sent``, ``touch.completed`` and ``touch.failed`` the touch and when that happened;
``task.*`` a member's manual step with the contact's card; ``enrollment.completed`` how the
plan's touches ended.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from app.models.platform import OutputModel


class Recipient(OutputModel):
    """By channel: `email` (email, event_invite), `phone` in E.164 (sms, call, meeting) or
    `address` (mail, card, gift)."""

    email: str | None = None
    phone: str | None = None
    address: dict[str, str | None] | None = None


class TouchContact(OutputModel):
    id: uuid.UUID
    name: str
    first_name: str | None
    last_name: str | None
    locale: str | None
    time_zone: str | None


class TouchMember(OutputModel):
    id: uuid.UUID
    name: str
    email: str | None


class TouchPlanRef(OutputModel):
    id: uuid.UUID
    name: str


class TouchStepRef(OutputModel):
    id: uuid.UUID
    position: int


class TouchToSend(OutputModel):
    id: uuid.UUID
    idempotency_key: str = Field(description="The touch id: send each touch once.")
    status: str
    channel: str
    mode: str
    content_kind: str
    due_at: datetime = Field(description="When it was released (inside the send window).")
    expires_at: datetime | None = Field(description="Do not send it after this moment.")
    subject: str | None
    body: str | None
    referral_reminder: str | None
    recipient: Recipient
    contact_id: uuid.UUID
    contact: TouchContact
    member: TouchMember | None
    plan: TouchPlanRef | None
    step: TouchStepRef | None
    enrollment_id: uuid.UUID | None
    reason: str | None = Field(default=None, description="Why a touch was skipped.")


class TouchOutcome(OutputModel):
    id: uuid.UUID
    contact_id: uuid.UUID
    channel: str
    content_kind: str
    mode: str
    due_at: datetime
    status: str
    plan_id: uuid.UUID | None
    enrollment_id: uuid.UUID | None
    provider_message_id: str | None
    reason: str | None = None


class TouchSent(TouchOutcome):
    sent_at: datetime


class TouchCompleted(TouchOutcome):
    completed_at: datetime


class TouchFailed(TouchOutcome):
    failed_at: datetime


class Address(OutputModel):
    line1: str | None
    line2: str | None
    city: str | None
    region: str | None
    postal_code: str | None
    country: str | None


class ContactCard(OutputModel):
    """The contact as a member doing a task needs it: who, and how to reach them."""

    id: uuid.UUID
    name: str
    first_name: str | None
    last_name: str | None
    company_name: str | None
    company: str | None
    job_title: str | None
    primary_email: str | None
    primary_phone: str | None
    address: Address | None
    locale: str | None
    time_zone: str | None


class TaskData(OutputModel):
    """``task.assigned`` (instructions null: rendered when it falls due) and ``task.due``."""

    id: uuid.UUID
    idempotency_key: str = Field(description="The task's touch id.")
    status: str
    channel: str
    mode: str
    content_kind: str
    due_at: datetime
    expires_at: datetime | None
    subject: str | None
    body: str | None
    referral_reminder: str | None
    assignee: TouchMember | None
    contact_id: uuid.UUID
    contact: ContactCard
    plan: TouchPlanRef | None
    step: TouchStepRef | None
    enrollment_id: uuid.UUID | None


class TaskCancelled(OutputModel):
    id: uuid.UUID
    reason: str
    channel: str
    mode: str
    content_kind: str
    due_at: datetime
    assignee_id: uuid.UUID | None
    contact_id: uuid.UUID
    plan_id: uuid.UUID | None
    step_id: uuid.UUID | None
    enrollment_id: uuid.UUID | None


class SettledTouches(OutputModel):
    """How an enrolment's touches ended."""

    completed: int
    sent: int
    skipped: int
    failed: int
    cancelled: int
    unconfirmed: int = Field(
        description="Released but never reported within the workspace's outcome_grace_days."
    )


class EnrollmentCompleted(OutputModel):
    id: uuid.UUID
    contact_id: uuid.UUID
    plan_id: uuid.UUID
    completed_at: datetime
    touches: SettledTouches


EVENT_DATA: dict[str, type[BaseModel]] = {
    "touch.due": TouchToSend,
    "touch.skipped": TouchToSend,
    "touch.sent": TouchSent,
    "touch.completed": TouchCompleted,
    "touch.failed": TouchFailed,
    "task.assigned": TaskData,
    "task.due": TaskData,
    "task.cancelled": TaskCancelled,
    "enrollment.completed": EnrollmentCompleted,
}
