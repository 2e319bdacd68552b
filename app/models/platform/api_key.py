"""API keys: how a client proves which workspace it speaks for."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field
from sqlalchemy import Index, String
from sqlalchemy.dialects.postgresql import ARRAY

from app.models.platform.base import (
    IdMixin,
    column,
    created_at_column,
    tenant_fk,
    timestamp,
    workspace_fk,
)
from app.models.platform.common import SECRET, InputModel, OutputModel
from app.models.platform.rate_limit import RateLimit, RateLimitRead, rate_limit_of

Scope = Literal["read", "write", "admin"]
ALL_SCOPES: tuple[Scope, ...] = ("read", "write", "admin")


class ApiKey(IdMixin, table=True):
    """Only a SHA-256 of the secret is kept; the key itself is shown once, at creation.

    The token embeds the workspace id so that resolving it is a primary-key lookup
    inside one workspace, which keeps the table distributable by workspace.
    """

    __tablename__ = "api_keys"
    __table_args__ = (
        workspace_fk(),
        Index("uq_api_keys_workspace_id_secret_hash", "workspace_id", "secret_hash", unique=True),
        tenant_fk(["member_id"], "members", ondelete="CASCADE"),
        Index("ix_api_keys_workspace_id_member_id", "workspace_id", "member_id"),
    )

    name: str = column(String(200))
    prefix: str = column(String(32))
    secret_hash: str = column(String(64))
    scopes: list[str] = column(ARRAY(String(16)))
    member_id: uuid.UUID | None = None
    # This key's own limit (null: the workspace's, else the service's default).
    rate_limit_per_minute: int | None = None
    rate_limit_burst: int | None = None
    created_at: datetime = created_at_column()
    revoked_at: datetime | None = timestamp(default=None)


class ApiKeyCreate(InputModel):
    name: str = Field(min_length=1, max_length=200, examples=["CRM sync"])
    scopes: list[Scope] = Field(default=["read", "write"], min_length=1, max_length=3)
    member_id: uuid.UUID | None = Field(
        default=None,
        description="Bind the key to a member: it then acts as that member, within the "
        "member's role (its scopes are cut to the role's) and record visibility.",
    )
    rate_limit: RateLimit | None = Field(
        default=None, description="This key's own limit; null: the workspace's."
    )


class ApiKeyUpdate(InputModel):
    name: str | None = Field(default=None, min_length=1, max_length=200, examples=["CRM sync"])
    rate_limit: RateLimit | None = Field(
        default=None, description="This key's own limit; null: the workspace's."
    )


class ApiKeyRead(OutputModel):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="The first characters of the key, to recognise it by.")
    scopes: list[Scope]
    member_id: uuid.UUID | None
    rate_limit: RateLimitRead | None = Field(
        description="This key's own limit; null: the workspace's (or the service's)."
    )
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyRead:
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            scopes=key.scopes,
            member_id=key.member_id,
            rate_limit=rate_limit_of(key.rate_limit_per_minute, key.rate_limit_burst),
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        )


class ApiKeyCreated(ApiKeyRead):
    key: Annotated[str, SECRET] = Field(
        description="The full key. Shown once: store it now. A replay of this request "
        "(same `Idempotency-Key`) answers `<redacted>` here, as the key is never stored."
    )
