"""Engagement activities: hosted events, subscriptions and online programs, with who took part.

Attendance is engagement: marking a participant ``attended`` moves the contact's
``last_engaged_at`` like an inbound interaction does. Costs feed the ROI of each activity.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints
from sqlalchemy import Index, Numeric, String

from app.models.platform import (
    Amount,
    IdMixin,
    InputModel,
    IsoDate,
    Money,
    OutputModel,
    TenantMixin,
    column,
    created_at_column,
    omit_null,
    tenant_fk,
    timestamp,
    workspace_fk,
)

ActivityKind = Literal[
    "seminar",
    "roundtable",
    "client_party",
    "newsletter",
    "whitepaper",
    "webcast",
    "virtual_meeting",
    "community",
]
ParticipantStatus = Literal["invited", "registered", "attended"]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class EngagementActivity(IdMixin, table=True):
    __tablename__ = "engagement_activities"
    __table_args__ = (
        workspace_fk(),
        Index("ix_engagement_activities_workspace_id_date_id", "workspace_id", "date", "id"),
    )

    kind: str = column(String(32))
    name: str = column(String(200))
    date: dt.date
    cost: Decimal = column(Numeric(14, 2), default=Decimal(0))
    audience: str | None = column(String(500), default=None)
    version: int = 1
    created_at: dt.datetime = created_at_column()
    updated_at: dt.datetime = created_at_column()


class EngagementParticipant(TenantMixin, table=True):
    __tablename__ = "engagement_participants"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["activity_id"], "engagement_activities", ondelete="CASCADE"),
        tenant_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        Index("ix_engagement_participants_workspace_id_contact_id", "workspace_id", "contact_id"),
    )

    activity_id: uuid.UUID = column(primary_key=True)
    contact_id: uuid.UUID = column(primary_key=True)
    status: str = column(String(16))
    attended_at: dt.datetime | None = timestamp(default=None)
    updated_at: dt.datetime = created_at_column()


class ActivityCreate(InputModel):
    kind: ActivityKind
    name: Text200 = Field(examples=["Spring client appreciation party"])
    date: IsoDate
    cost: Money = Field(default=Decimal(0), examples=["1250.00"])
    audience: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = (
        Field(default=None, examples=["past clients and core advocates"])
    )


class ActivityUpdate(InputModel):
    """Fields sent replace the stored ones; only ``audience`` may be cleared with null."""

    model_config = ConfigDict(json_schema_extra=omit_null("kind", "name", "date", "cost"))

    kind: ActivityKind | None = None
    name: Text200 | None = None
    date: IsoDate | None = None
    cost: Money | None = None
    audience: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class ActivityRead(OutputModel):
    id: uuid.UUID
    kind: ActivityKind
    name: str
    date: dt.date
    cost: Amount
    audience: str | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ParticipantsSet(InputModel):
    """Invite, register or mark attended many contacts at once (an upsert per contact)."""

    contact_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)
    status: ParticipantStatus


class ParticipantRead(OutputModel):
    activity_id: uuid.UUID
    contact_id: uuid.UUID
    status: ParticipantStatus
    attended_at: dt.datetime | None
    updated_at: dt.datetime
