"""API schemas of enrolments, touches, outcomes and calendar feed tokens."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from app.models.contacts import Segment
from app.models.platform import SECRET, AwareTime, InputModel, IsoDate, OutputModel
from app.models.touches.plan_schemas import ContentKind, TouchChannel, TouchMode

TouchStatus = Literal[
    "scheduled", "due", "sent", "completed", "skipped", "failed", "cancelled", "unconfirmed"
]
EnrollmentStatus = Literal["active", "paused", "completed", "cancelled"]
Outcome = Literal["sent", "delivered", "completed", "bounced", "failed"]


class EnrollmentCreate(InputModel):
    plan_id: uuid.UUID
    contact_id: uuid.UUID
    start_date: IsoDate | None = Field(
        default=None,
        description="Defaults to today (UTC). May be in the past: the dates that fell "
        "before today are recorded as `skipped` (`before_start`) unless `catch_up`.",
    )
    catch_up: bool = Field(
        default=False,
        description="With a past start date: schedule the dates already passed too; those "
        "still fresh (within their step's `valid_for_days`) go out at the next moment "
        "inside the contact's send window, the others are skipped as `stale`.",
    )


class EnrollmentBulkCreate(InputModel):
    """Enrol every contact in any listed segment, with any listed tag, or listed by id."""

    plan_id: uuid.UUID
    segments: list[Segment] = Field(default_factory=list, max_length=5)
    tags: list[str] = Field(default_factory=list, max_length=50)
    contact_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10_000)
    start_date: IsoDate | None = None
    catch_up: bool = Field(default=False, description="As for one enrolment.")

    @model_validator(mode="after")
    def _some_filter(self) -> EnrollmentBulkCreate:
        if not (self.segments or self.tags or self.contact_ids):
            raise ValueError("give at least one of segments, tags, contact_ids")
        return self


class EnrollmentBulkResult(OutputModel):
    plan_id: uuid.UUID
    enrolled: int = Field(description="New enrolments created.")
    skipped: int = Field(
        description="Matching contacts already enrolled, do-not-contact, or (a plan whose "
        "templates name the member) with neither an owner nor a workspace default sender."
    )


class EnrollmentRead(OutputModel):
    id: uuid.UUID
    plan_id: uuid.UUID
    contact_id: uuid.UUID
    status: EnrollmentStatus
    source: Literal["manual", "bulk", "auto", "experiment"]
    start_date: date
    catch_up: bool
    reason: str | None = Field(
        description="Why it is paused, cancelled: `paused` (by hand), `reply`, "
        "`do_not_contact` (resumes when the flag is cleared), `cancelled`."
    )
    paused_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class TouchCreate(InputModel):
    """An ad-hoc touch outside any plan; subject and body are final text, not templates."""

    contact_id: uuid.UUID
    channel: TouchChannel
    mode: TouchMode = "manual"
    content_kind: str = ContentKind
    subject: str | None = Field(default=None, max_length=2000)
    body: str | None = Field(default=None, max_length=10_000)
    referral_reminder: str | None = Field(default=None, max_length=4000)
    due_at: AwareTime = Field(
        description="An automated touch goes out at the first moment from then on inside "
        "the contact's send window."
    )
    assignee_id: uuid.UUID | None = None
    valid_for_days: int = Field(
        default=3,
        ge=1,
        le=365,
        description="Not released within this many days of `due_at`, it is skipped as stale.",
    )


class TouchOutcomeIn(InputModel):
    """What happened to a touch, from the outside sender or the member who did it."""

    outcome: Outcome = Field(
        description="sent → sent (`touch.sent`); delivered/completed → completed (logs an "
        "interaction; `touch.completed`); bounced/failed → failed (`touch.failed`). Taken "
        "for an `unconfirmed` touch too (reported after the workspace's grace period)."
    )
    provider_message_id: str | None = Field(default=None, max_length=255)
    note: str | None = Field(default=None, max_length=10_000)


class TouchRead(OutputModel):
    id: uuid.UUID
    contact_id: uuid.UUID
    enrollment_id: uuid.UUID | None
    plan_id: uuid.UUID | None
    step_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    channel: TouchChannel
    mode: TouchMode
    content_kind: str
    status: TouchStatus
    reason: str | None
    due_at: datetime = Field(
        description="When it is due (moved to the send window's opening if it came due outside it)."
    )
    expires_at: datetime | None = Field(
        description="Not released by then, it is skipped as `stale`."
    )
    subject: str | None = Field(description="Rendered when the touch became due.")
    body: str | None
    referral_reminder: str | None
    provider_message_id: str | None
    outcome: Outcome | None
    outcome_note: str | None
    emitted_at: datetime | None
    finished_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class CalendarTokenRead(OutputModel):
    member_id: uuid.UUID
    # Both carry the token: a replay (same Idempotency-Key) answers them `<redacted>`.
    token: Annotated[str, SECRET] = Field(
        description="Shown once; store it in the calendar app's feed URL."
    )
    url: Annotated[str, SECRET] = Field(examples=["/v1/calendar.ics?token=rcal_..."])
