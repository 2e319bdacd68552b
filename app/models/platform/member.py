"""Members: the team's people, to whom contacts, referrals and tasks are assigned."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field
from sqlalchemy import Index, String, text

from app.models.platform.base import (
    IdMixin,
    column,
    created_at_column,
    workspace_fk,
)
from app.models.platform.common import EmailAddress, InputModel, OutputModel

Role = Literal["leader", "agent", "assistant"]


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
    version: int = 1
    created_at: datetime = created_at_column()
    updated_at: datetime = created_at_column()


class MemberCreate(InputModel):
    name: str = Field(min_length=1, max_length=200, examples=["Dana Whitfield"])
    email: EmailAddress = Field(max_length=320, examples=["dana@example.com"])
    role: Role = "agent"
    active: bool = True


class MemberUpdate(InputModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: EmailAddress | None = Field(default=None, max_length=320)
    role: Role | None = None
    active: bool | None = None


class MemberRead(OutputModel):
    id: uuid.UUID
    name: str
    email: str
    role: Role
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime
