"""Contact import jobs: one row per uploaded file, with progress and per-row errors."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, created_at_column, workspace_fk
from app.models.common import OutputModel

ImportStatus = Literal["processing", "completed", "failed"]
ImportFormat = Literal["csv", "jsonl"]
MAX_STORED_ERRORS = 1000


class ContactImport(IdMixin, Base):
    __tablename__ = "contact_imports"
    __table_args__ = (
        workspace_fk(),
        Index("ix_contact_imports_workspace_id_created_at_id", "workspace_id", "created_at", "id"),
    )

    status: Mapped[str] = mapped_column(String(16), default="processing")
    format: Mapped[str] = mapped_column(String(8))
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    created_count: Mapped[int] = mapped_column(default=0)
    updated_count: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    detail: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None]


class RowErrorRead(OutputModel):
    line: int = Field(description="1-based line of the file (the CSV header is line 1).")
    errors: list[dict[str, Any]] = Field(
        description='Each `{"loc": [...], "msg": ...}`; `loc` names the field.'
    )


class ImportRead(OutputModel):
    id: uuid.UUID
    status: ImportStatus
    format: ImportFormat
    total_rows: int
    processed_rows: int
    created_count: int
    updated_count: int
    error_count: int
    errors: list[RowErrorRead] = Field(
        description=f"Rejected rows, the first {MAX_STORED_ERRORS}; `error_count` counts all."
    )
    detail: str | None = Field(description="Why the whole file was refused, if it was.")
    created_at: datetime
    finished_at: datetime | None
