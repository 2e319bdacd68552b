"""The audit log: who did what to which record, and when, with the fields it changed.

One row per change of a record people care about (contacts, referrals, rewards, reward
programs, members, API keys, webhook endpoints, workspace settings: with ``before`` and
``after`` of each changed field), and one per other write request, so every write can be
traced to a person, a key or the system. It is written in the transaction of the change,
kept ``RAPPORT_AUDIT_RETENTION_DAYS`` and purged by the scheduler. Secrets never enter it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import Index, String
from sqlalchemy.dialects.postgresql import JSONB

from app.models.platform.base import (
    TenantMixin,
    column,
    identity_key,
    timestamp,
    workspace_fk,
)
from app.models.platform.common import OutputModel

ActorType = Literal["member", "api_key", "system"]


class AuditEntry(TenantMixin, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        workspace_fk(),
        Index(
            "ix_audit_log_workspace_id_resource_type_resource_id_id",
            "workspace_id",
            "resource_type",
            "resource_id",
            "id",
        ),
        Index("ix_audit_log_workspace_id_actor_id_id", "workspace_id", "actor_id", "id"),
        # Purging by age walks this tiny index: rows are appended in time order.
        Index("ix_audit_log_at", "at", postgresql_using="brin"),
    )

    id: int = identity_key()
    at: datetime = timestamp()
    actor_type: str = column(String(16))
    actor_id: uuid.UUID | None = None
    actor_name: str | None = column(String(200), default=None)
    action: str = column(String(64))
    resource_type: str = column(String(32))
    resource_id: str | None = column(String(64), default=None)
    changes: dict[str, Any] = column(JSONB, default_factory=dict)
    request_id: str | None = column(String(64), default=None)


class Actor(OutputModel):
    """Who made a change: a member (signed in, or through a key bound to them), an API
    key of the workspace, or Rapport itself (the scheduler)."""

    type: ActorType
    id: uuid.UUID | None = Field(description="The member's or the key's id; none for system.")
    name: str = Field(description="The member's name, the key's name, or `system`.")


class FieldChange(OutputModel):
    before: Any = None
    after: Any = None


class AuditEntryRead(OutputModel):
    id: int
    at: datetime
    actor: Actor
    action: str = Field(examples=["contact.updated"])
    resource_type: str = Field(examples=["contact"])
    resource_id: str | None = Field(examples=["3f1c2a9e-2b1d-4c8e-9a41-7e3c5d0b8f12"])
    changes: dict[str, FieldChange] = Field(
        description="Each changed field's value before and after (secrets never appear)."
    )
    request_id: str | None
