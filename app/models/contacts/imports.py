"""Contact import jobs: one row per uploaded file, with progress and per-row errors.

The uploaded rows wait in ``contact_import_chunks`` (parsed, with their line numbers, a
batch's worth per row) until a batch imports them; each batch deletes the chunk it
imported in the transaction that writes the contacts and the job's progress, so a crash
resumes where the last committed batch ended and nothing is imported twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB

from app.models.platform import (
    IdMixin,
    OutputModel,
    TenantMixin,
    column,
    created_at_column,
    tenant_fk,
    timestamp,
    workspace_fk,
)

ImportStatus = Literal["queued", "running", "completed", "failed"]
OPEN_STATUSES = ("queued", "running")
ImportFormat = Literal["csv", "jsonl"]
MAX_STORED_ERRORS = 1000


class ContactImport(IdMixin, table=True):
    __tablename__ = "contact_imports"
    __table_args__ = (
        workspace_fk(),
        Index("ix_contact_imports_workspace_id_created_at_id", "workspace_id", "created_at", "id"),
        # The resume job's scan: only imports still to finish, whatever else is stored.
        Index(
            "ix_contact_imports_open",
            "created_at",
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )

    status: str = column(String(16), default="queued")
    format: str = column(String(8))
    total_rows: int = 0
    processed_rows: int = 0
    created_count: int = 0
    updated_count: int = 0
    error_count: int = 0
    errors: list[dict[str, Any]] = column(JSONB, default_factory=list)
    detail: str | None = column(String(2000), default=None)
    attempts: int = 0
    created_at: datetime = created_at_column()
    finished_at: datetime | None = timestamp(default=None)


class ContactImportChunk(TenantMixin, table=True):
    """One batch's worth of parsed rows of an uploaded file, waiting to be imported.

    ``rows`` is JSON text, ``[[line, data, errors], ...]``, that only the import's
    validation process decodes: a row per file row cost PostgreSQL a jsonb parse, an index
    entry and a delete per row, and the app a JSON decode per row and a pickle per row to
    hand it to that process (bench_import). ``line`` is the chunk's first line (the key
    batches follow), ``last_line`` its last.
    """

    __tablename__ = "contact_import_chunks"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["import_id"], "contact_imports", ondelete="CASCADE"),
    )

    import_id: uuid.UUID = column(primary_key=True)
    line: int = column(primary_key=True)
    last_line: int
    row_count: int
    rows: str = column(Text)


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
    detail: str | None = Field(
        description="Why the import failed, or why its last batch failed (it is retried)."
    )
    created_at: datetime
    finished_at: datetime | None
