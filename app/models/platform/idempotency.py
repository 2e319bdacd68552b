"""Stored responses of POST requests that carried an ``Idempotency-Key``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, LargeBinary, String, text
from sqlalchemy.dialects.postgresql import JSONB

from app.models.platform.base import (
    TenantMixin,
    column,
    created_at_column,
    timestamp,
    workspace_fk,
)


class IdempotencyRecord(TenantMixin, table=True):
    __tablename__ = "idempotency_keys"
    # expires_at alone leads the index: the purge job deletes expired keys of every
    # workspace at once (app.services.platform.idempotency.purge_expired).
    # A DELETE finds the keys whose POST created the path it deletes (``forget_created``).
    __table_args__ = (
        workspace_fk(),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
        Index(
            "ix_idempotency_keys_workspace_id_location",
            "workspace_id",
            "location",
            postgresql_where=text("location IS NOT NULL"),
        ),
    )

    key: str = column(String(255), primary_key=True)
    request_hash: str = column(String(64))
    status_code: int
    headers: dict[str, Any] = column(JSONB)
    body: bytes = column(LargeBinary)
    location: str | None = column(String(2048), default=None)  # of what the POST created
    created_at: datetime = created_at_column()
    expires_at: datetime = timestamp()
