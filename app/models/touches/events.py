"""What the touches domain's events carry as ``data``: the schemas of their webhooks.

``touch.due`` and ``touch.skipped`` carry everything a sender needs without calling back;
``touch.completed`` and ``touch.failed`` the touch and when it finished.
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
    due_at: datetime
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
    completed_at: datetime | None = None
    reason: str | None = None


class EnrollmentCompleted(OutputModel):
    id: uuid.UUID
    contact_id: uuid.UUID
    plan_id: uuid.UUID


EVENT_DATA: dict[str, type[BaseModel]] = {
    "touch.due": TouchToSend,
    "touch.skipped": TouchToSend,
    "touch.completed": TouchOutcome,
    "touch.failed": TouchOutcome,
    "enrollment.completed": EnrollmentCompleted,
}
