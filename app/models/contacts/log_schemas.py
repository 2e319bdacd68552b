"""API schemas of observances and interactions (tables: ``app.models.contacts.tables``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, ValidationInfo, field_validator

from app.models.platform import Actor, AwareTime, InputModel, OutputModel

InteractionChannel = Literal["call", "email", "sms", "meeting", "note", "event", "mail"]
Direction = Literal["inbound", "outbound", "two_way"]
ENGAGING_DIRECTIONS: frozenset[str] = frozenset({"inbound", "two_way"})
# Same values as ``app.services.touches.timing.ObservanceKind`` (a test keeps them equal);
# declared here because models do not import services.
ObservanceKind = Literal[
    "birthday", "anniversary", "home_anniversary", "closing_anniversary", "custom"
]
LEAP_YEAR = 2000  # any leap year: a month/day without a year is checked against it
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ObservanceCreate(InputModel):
    kind: ObservanceKind
    label: Label | None = Field(
        default=None,
        validate_default=True,
        description="Required for `custom`, e.g. `first day at the new job`.",
    )
    year: int | None = Field(default=None, ge=1900, le=2200, description="Optional.")
    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31, description="29 February is allowed.")

    @field_validator("label")
    @classmethod
    def _custom_needs_label(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("kind") == "custom":
            raise ValueError("a custom observance needs a label")
        return value

    @field_validator("day")
    @classmethod
    def _real_date(cls, value: int, info: ValidationInfo) -> int:
        month = info.data.get("month")
        if month is not None:
            try:
                date(info.data.get("year") or LEAP_YEAR, month, value)
            except ValueError as exc:
                raise ValueError(f"{month}/{value} is not a date ({exc})") from exc
        return value


class ObservanceRead(OutputModel):
    id: uuid.UUID
    contact_id: uuid.UUID
    kind: ObservanceKind
    label: str | None
    month: int
    day: int
    year: int | None
    next_occurrence: date = Field(
        description="The next date it falls on (29 February → 28 February in common years)."
    )
    created_at: datetime


class InteractionCreate(InputModel):
    channel: InteractionChannel
    direction: Direction
    occurred_at: AwareTime
    member_id: uuid.UUID | None = None
    summary: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    duration_seconds: int | None = Field(default=None, ge=0, le=7 * 86_400)
    touch_id: uuid.UUID | None = Field(default=None, description="The touch this fulfils.")


class InteractionRead(OutputModel):
    id: uuid.UUID
    contact_id: uuid.UUID
    member_id: uuid.UUID | None
    channel: InteractionChannel
    direction: Direction
    occurred_at: datetime
    summary: str | None
    duration_seconds: int | None
    touch_id: uuid.UUID | None
    actor: Actor | None = Field(description="Who logged it (none on entries before actors).")
    created_at: datetime
