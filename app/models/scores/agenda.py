"""A member's agenda: what the member decided about its items, the morning digest's claim,
and the API schemas of the agenda itself.

The agenda is computed on every read from the rows other domains keep (touches, referrals,
rewards, contacts and their scores), so it is never stale; only the member's decisions are
stored. A decision names its item by ``item_key`` (``kind:record[:occurrence]``), so a
dismissed reconnect stays dismissed until the contact engages again (a new occurrence), and
a dismissed birthday comes back next year. Decisions are history, never updated: the
latest one of an item counts, and the team analytics count dismissals by kind.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field
from sqlalchemy import Index, String
from sqlalchemy.dialects.postgresql import JSONB

from app.models.platform import (
    IdMixin,
    InputModel,
    IsoDate,
    OutputModel,
    TenantMixin,
    column,
    created_at_column,
    tenant_fk,
    timestamp,
    workspace_fk,
)

AgendaKind = Literal["task", "follow_up", "reconnect", "observance", "approve", "thank"]
AGENDA_KINDS: tuple[AgendaKind, ...] = (
    "task",
    "follow_up",
    "reconnect",
    "observance",
    "approve",
    "thank",
)
Decision = Literal["snoozed", "dismissed"]


class AgendaDecision(IdMixin, table=True):
    __tablename__ = "agenda_decisions"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["member_id"], "members", ondelete="CASCADE"),
        Index(
            "ix_agenda_decisions_workspace_id_member_id_item_key",
            "workspace_id",
            "member_id",
            "item_key",
        ),
        Index("ix_agenda_decisions_workspace_id_at", "workspace_id", "at"),
    )

    member_id: uuid.UUID
    item_key: str = column(String(200))
    kind: str = column(String(16))
    decision: str = column(String(16))
    until: date | None = None
    reason: str | None = column(String(500), default=None)
    actor: dict[str, Any] | None = column(JSONB, default=None)
    at: datetime = timestamp()
    created_at: datetime = created_at_column()


class AgendaDigest(TenantMixin, table=True):
    """A member's ``agenda.ready`` of one local day: inserted once, by one replica."""

    __tablename__ = "agenda_digests"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["member_id"], "members", ondelete="CASCADE"),
    )

    member_id: uuid.UUID = column(primary_key=True)
    day: date = column(primary_key=True)
    sent_at: datetime = timestamp()


class AgendaContact(OutputModel):
    id: uuid.UUID
    name: str
    segment: str
    advocacy_stage: str


class AgendaAction(OutputModel):
    """An API call that settles the item: ``method`` and ``path``, and the body's shape."""

    name: Literal["complete_task", "record_contact", "snooze", "dismiss", "approve_reward"]
    method: Literal["POST", "PUT", "PATCH"]
    path: str
    body: dict[str, Any] = Field(
        description="An example body; fields in angle brackets are the caller's to fill in."
    )


class AgendaItem(OutputModel):
    key: str = Field(
        description="The item's stable key (`kind:record[:occurrence]`) for snooze and dismiss.",
        examples=["reconnect:5a3f0c1e-8d2b-4c6a-9f1e-2b7d4e6a8c10:2026-08-20"],
    )
    kind: AgendaKind
    contact: AgendaContact | None = Field(
        description="The person to call, write to or thank (null for a reward whose "
        "referrer was erased)."
    )
    reason: str = Field(description="Why the item is here and why it ranks where it does.")
    due_at: datetime = Field(description="When it became (or becomes) due.")
    value: Decimal = Field(
        description="Expected referral value the action protects or creates, in `currency` "
        "(docs/SCORES.md, 'The agenda')."
    )
    record_id: uuid.UUID = Field(
        description="The touch, referral, reward, contact or observance the item is about."
    )
    actions: list[AgendaAction]


class AgendaRead(OutputModel):
    member_id: uuid.UUID
    date: date
    time_zone: str = Field(
        description="The zone the day is read in: the member's, else the workspace's."
    )
    currency: str
    touch_lift: float = Field(description="The probability lift of a touch used for values.")
    touch_lift_source: Literal["setting", "measured"]
    total_items: int = Field(
        description="Items on the whole agenda; `items` holds the first `limit`."
    )
    items: list[AgendaItem]


ItemKey = Annotated[
    str,
    Field(
        min_length=3,
        max_length=200,
        description="The item's `key`, as the agenda gave it.",
        examples=["task:0e9d8c7b-6a5f-4e3d-8c1b-0a9f8e7d6c5b"],
    ),
]


class AgendaSnooze(InputModel):
    key: ItemKey
    until: IsoDate = Field(description="The item returns on this local date (after today).")


class AgendaDismiss(InputModel):
    key: ItemKey
    reason: str = Field(min_length=1, max_length=500, examples=["Moved away"])


class AgendaDecisionRead(OutputModel):
    id: uuid.UUID
    member_id: uuid.UUID
    item_key: str
    kind: AgendaKind
    decision: Decision
    until: date | None
    reason: str | None
    at: datetime


class AgendaMember(OutputModel):
    id: uuid.UUID
    name: str
    email: str


class AgendaReadyData(OutputModel):
    """The ``agenda.ready`` event's data: the member's top items of the day."""

    member: AgendaMember
    date: date
    time_zone: str = Field(description="The member's zone, else the workspace's.")
    currency: str
    total_items: int = Field(description="Items on the whole agenda (`items` holds the top 10).")
    items: list[AgendaItem]
