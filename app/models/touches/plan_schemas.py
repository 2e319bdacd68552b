"""API schemas of touch plans and their steps.

A step's ``timing`` is ``app.services.touches.timing.Timing`` itself, so the API, the
stored JSON and the scheduler share one definition of "when is this step due".
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, TypeAdapter

from app.models.contacts import Segment
from app.models.platform import InputModel, LocalTime, OutputModel
from app.models.touches.tables import DEFAULT_VALID_FOR_DAYS
from app.models.touches.timing import Timing

TouchChannel = Literal["email", "sms", "call", "mail", "card", "gift", "event_invite", "meeting"]
TouchMode = Literal["automated", "manual"]
ContentKind = Field(
    min_length=1,
    max_length=32,
    pattern=r"^[a-z][a-z0-9_]*$",
    examples=["market_report"],
    description="newsletter, market_report, holiday_card, personal_note, observance_card, "
    "call, gift, event... (free text, snake_case)",
)

TIMING_ADAPTER: TypeAdapter[Timing] = TypeAdapter(Timing)


class StepIn(InputModel):
    """One step. Send ``id`` of an existing step to keep it (and its touches' history)."""

    id: uuid.UUID | None = Field(default=None, description="Keep this existing step.")
    position: int | None = Field(
        default=None,
        description="Ignored (the list order is the order); lets a read "
        "step be sent back unchanged.",
    )
    channel: TouchChannel
    content_kind: str = ContentKind
    mode: TouchMode = Field(
        description="automated: a touch.due event for an outside sender; "
        "manual: a task for the contact's owner or `assignee_id`."
    )
    assignee_id: uuid.UUID | None = Field(
        default=None, description="Manual steps: this member instead of the contact's owner."
    )
    subject_template: str | None = Field(
        default=None,
        max_length=2000,
        examples=["{{ contact.first_name }}, this month's market report"],
    )
    body_template: str = Field(
        default="",
        max_length=10_000,
        examples=["Hi {{ contact.first_name }},\n...\n{{ referral_reminder }}\n{{ member.name }}"],
    )
    timing: Timing
    send_time: LocalTime | None = Field(
        default=None,
        description="Preferred contact-local time (`HH:MM`); pulled inside the workspace "
        "send window.",
        examples=["10:00"],
    )
    valid_for_days: int = Field(
        default=DEFAULT_VALID_FOR_DAYS,
        ge=1,
        le=365,
        description="How long after its due time a touch of this step may still go out "
        "(a late one waits for the contact's send window); past that it is skipped as "
        "`stale`. Dated content (yearly dates, observances, event invitations) also "
        "never goes out after the end of its date in the contact's zone.",
    )


class StepRead(OutputModel):
    id: uuid.UUID
    position: int
    channel: TouchChannel
    content_kind: str
    mode: TouchMode
    assignee_id: uuid.UUID | None
    subject_template: str | None
    body_template: str
    timing: Timing
    send_time: LocalTime | None = Field(description="`HH:MM`, contact-local.", examples=["10:00"])
    valid_for_days: int


class TemplateWarning(OutputModel):
    """A template that works but prints a variable some contacts lack."""

    loc: list[str | int] = Field(examples=[["steps", 0, "body_template"]])
    variable: str = Field(examples=["contact.first_name"])
    msg: str


class Audience(InputModel):
    """Who is enrolled automatically: contacts in any listed segment or with any listed tag."""

    segments: list[Segment] = Field(default_factory=list, max_length=5)
    tags: list[str] = Field(default_factory=list, max_length=50)


class TouchPlanCreate(InputModel):
    name: str = Field(min_length=1, max_length=200, examples=["33 Touch"])
    description: str | None = Field(default=None, max_length=4000)
    audience: Audience = Field(default_factory=Audience)
    referral_reminder: str = Field(
        min_length=1,
        max_length=4000,
        description="How to send a referral and why it helps; carried by every touch.",
        examples=["Know someone thinking of moving? Reply with their name; we'll take care."],
    )
    repeat_yearly: bool = False
    pause_on_reply: bool = False
    active: bool = True
    steps: list[StepIn] = Field(min_length=1, max_length=100)


class TouchPlanUpdate(InputModel):
    """Fields to change. ``steps`` replaces the whole list (keep steps by sending their id)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    audience: Audience | None = None
    referral_reminder: str | None = Field(default=None, min_length=1, max_length=4000)
    repeat_yearly: bool | None = None
    pause_on_reply: bool | None = None
    active: bool | None = None
    steps: list[StepIn] | None = Field(default=None, min_length=1, max_length=100)


class AudienceRead(OutputModel):
    segments: list[str]
    tags: list[str]


class TouchPlanRead(OutputModel):
    id: uuid.UUID
    name: str
    description: str | None
    audience: AudienceRead
    referral_reminder: str
    repeat_yearly: bool
    pause_on_reply: bool
    active: bool
    builtin_key: str | None = Field(description="Which built-in plan this was seeded from.")
    needs_sender: bool = Field(
        description="A template names the member: a contact is enrolled only if it has an "
        "owner or the workspace a `default_sender_member_id`."
    )
    steps: list[StepRead]
    warnings: list[TemplateWarning] = Field(
        description="Template variables printed unguarded that some contacts lack "
        "(the plan is saved all the same)."
    )
    version: int
    created_at: datetime
    updated_at: datetime


def step_read(step: Any) -> StepRead:
    return StepRead(
        id=step.id,
        position=step.position,
        channel=step.channel,
        content_kind=step.content_kind,
        mode=step.mode,
        assignee_id=step.assignee_id,
        subject_template=step.subject_template,
        body_template=step.body_template,
        timing=TIMING_ADAPTER.validate_python(step.timing),
        send_time=step.send_time,
        valid_for_days=step.valid_for_days,
    )


def plan_read(plan: Any, steps: list[Any], warnings: list[TemplateWarning]) -> TouchPlanRead:
    return TouchPlanRead(
        id=plan.id,
        name=plan.name,
        description=plan.description,
        audience=AudienceRead(segments=list(plan.audience_segments), tags=list(plan.audience_tags)),
        referral_reminder=plan.referral_reminder,
        repeat_yearly=plan.repeat_yearly,
        pause_on_reply=plan.pause_on_reply,
        active=plan.active,
        builtin_key=plan.builtin_key,
        needs_sender=plan.needs_sender,
        steps=[step_read(s) for s in sorted(steps, key=lambda s: s.position)],
        warnings=warnings,
        version=plan.version,
        created_at=plan.created_at,
        updated_at=plan.updated_at,
    )
