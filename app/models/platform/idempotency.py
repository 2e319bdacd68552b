"""Stored responses of POST requests that carried an ``Idempotency-Key``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.platform.base import Base, TenantMixin, created_at_column, workspace_fk


class IdempotencyRecord(TenantMixin, Base):
    __tablename__ = "idempotency_keys"
    # expires_at alone leads the index: the purge job deletes expired keys of every
    # workspace at once (app.services.platform.idempotency.purge_expired).
    __table_args__ = (workspace_fk(), Index("ix_idempotency_keys_expires_at", "expires_at"))

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    headers: Mapped[dict[str, Any]]
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime]
