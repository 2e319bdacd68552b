"""Members: the team's people, to whom contacts, referrals and tasks are assigned."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field
from sqlalchemy import Index, String, text

from app.models.platform.api_key import Scope
from app.models.platform.audit import Actor
from app.models.platform.base import (
    IdMixin,
    TenantMixin,
    column,
    created_at_column,
    tenant_fk,
    workspace_fk,
)
from app.models.platform.common import SECRET, EmailAddress, InputModel, OutputModel
from app.models.platform.workspace import TimeZoneName

Role = Literal["admin", "leader", "agent", "assistant"]
ROLES: tuple[Role, ...] = ("admin", "leader", "agent", "assistant")
TIME_ZONE_DESCRIPTION = (
    "IANA zone for this member's agenda day and 07:00 digest; null means the workspace's"
)


class Member(IdMixin, table=True):
    __tablename__ = "members"
    __table_args__ = (
        workspace_fk(),
        Index("uq_members_workspace_id_email", "workspace_id", text("lower(email)"), unique=True),
    )

    name: str = column(String(200))
    email: str = column(String(320))
    role: str = column(String(16), default="agent")
    active: bool = True
    # The zone of the member's agenda day and 07:00 digest; null: the workspace's.
    time_zone: str | None = column(String(64), default=None)
    version: int = 1
    created_at: datetime = created_at_column()
    updated_at: datetime = created_at_column()


class MemberAssist(TenantMixin, table=True):
    """An assistant acts for the agents it is assigned to: it sees what they see."""

    __tablename__ = "member_assists"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["assistant_id"], "members", ondelete="CASCADE"),
        tenant_fk(["agent_id"], "members", ondelete="CASCADE"),
        Index("ix_member_assists_workspace_id_agent_id", "workspace_id", "agent_id"),
    )

    assistant_id: uuid.UUID = column(primary_key=True)
    agent_id: uuid.UUID = column(primary_key=True)


class MemberCreate(InputModel):
    name: str = Field(min_length=1, max_length=200, examples=["Dana Whitfield"])
    email: EmailAddress = Field(max_length=320, examples=["dana@example.com"])
    role: Role = "agent"
    active: bool = True
    assists: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=100,
        description="For an `assistant`: the members it acts for (it sees what they see).",
    )
    time_zone: TimeZoneName | None = Field(
        default=None,
        description=TIME_ZONE_DESCRIPTION,
        examples=["America/Chicago"],
    )


class MemberUpdate(InputModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: EmailAddress | None = Field(default=None, max_length=320)
    role: Role | None = None
    active: bool | None = None
    assists: list[uuid.UUID] | None = Field(default=None, max_length=100)
    time_zone: TimeZoneName | None = Field(
        default=None,
        description="IANA zone for this member's agenda day and 07:00 digest; null goes "
        "back to the workspace's.",
        examples=["America/Chicago"],
    )


class MemberRead(OutputModel):
    id: uuid.UUID
    name: str
    email: str
    role: Role
    active: bool
    time_zone: str | None = Field(description=TIME_ZONE_DESCRIPTION)
    assists: list[uuid.UUID] = Field(default_factory=list)
    version: int
    created_at: datetime
    updated_at: datetime


class SessionCreated(OutputModel):
    """A member token minted by an admin key (built-in sessions)."""

    member_id: uuid.UUID
    token: Annotated[str, SECRET] = Field(
        description="Send it as `Authorization: Bearer <token>` to act as the member. "
        "Shown once; a replay of this request answers `<redacted>`."
    )
    expires_at: datetime


class MeRead(OutputModel):
    """Who the credential acts as: what a front end shows in its header and decides its
    menus by."""

    workspace_id: uuid.UUID
    actor: Actor
    member: MemberRead | None = Field(description="The member, for a member credential.")
    role: Role | None
    scopes: list[Scope]
    sees_all: bool = Field(
        description="Whether every contact is visible (`false`: only the member's own "
        "and those shared with them, under the workspace's `own` visibility)."
    )
