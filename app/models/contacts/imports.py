"""Contact import jobs: one row per uploaded file, with progress and per-row errors.

The uploaded rows wait in ``contact_import_chunks`` (parsed, with their line numbers, a
batch's worth per row) until a batch imports them; each batch deletes the chunk it
imported in the transaction that writes the contacts and the job's progress, so a crash
resumes where the last committed batch ended and nothing is imported twice. Rows found
sharing a key with another row of the file while it was read wait, refused, in
``contact_import_repeats`` for the batch of their line.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator
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
MatchKey = Literal["external_id", "email", "phone"]
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
    skipped_count: int = 0
    error_count: int = 0
    errors: list[dict[str, Any]] = column(JSONB, default_factory=list)
    detail: str | None = column(String(2000), default=None)
    dry_run: bool = False
    match_on: str = column(String(64), default="external_id,email,phone")  # keys, in order
    mode: str = column(String(2000), default="fill_empty")  # ``options.Policy.spec``
    columns: list[str] = column(JSONB, default_factory=list)  # the CSV header
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


class ContactImportRepeat(TenantMixin, table=True):
    """A row of an uploaded file refused before the import ran: it shares a key (e-mail,
    phone, external id) with another row of the file. ``errors`` holds an entry per key
    shared, naming the other lines; the batch of ``line`` reports it and deletes it."""

    __tablename__ = "contact_import_repeats"
    __table_args__ = (
        workspace_fk(),
        tenant_fk(["import_id"], "contact_imports", ondelete="CASCADE"),
    )

    import_id: uuid.UUID = column(primary_key=True)
    line: int = column(primary_key=True)
    errors: list[dict[str, Any]] = column(JSONB)


class RowProblemRead(OutputModel):
    loc: list[str | int] = Field(description="The field, as the API names it.")
    msg: str = Field(description="The validator's message.")
    column: str | None = Field(
        default=None,
        description="The column of the file's header (for JSON Lines, the key); null when "
        "the whole row is at fault.",
    )
    value: str | None = Field(default=None, description="The value refused, cut at 80 characters.")
    message: str = Field(default="", description="What is wrong, in plain words.")


class RowErrorRead(OutputModel):
    line: int = Field(description="1-based line of the file (the CSV header is line 1).")
    column: str | None = Field(
        default=None, description="The column of the row's first problem (see `errors`)."
    )
    value: str | None = Field(default=None, description="The value of its first problem.")
    message: str = Field(default="", description="Its first problem, in plain words.")
    errors: list[RowProblemRead] = Field(description="Every problem of the row.")


class ImportRead(OutputModel):
    id: uuid.UUID
    status: ImportStatus
    format: ImportFormat
    total_rows: int
    processed_rows: int
    created_count: int
    updated_count: int
    skipped_count: int = Field(
        description="Rows that matched a contact and changed nothing: the same values, or "
        "values the `mode` keeps."
    )
    error_count: int
    errors: list[RowErrorRead] = Field(
        description=f"Rejected rows, the first {MAX_STORED_ERRORS}; `error_count` counts all."
    )
    dry_run: bool = Field(
        description="Validated and matched only: the counts say what an import would do; "
        "nothing was written."
    )
    match_on: list[MatchKey] = Field(
        description="The keys that find an existing contact, in the order they are tried."
    )
    mode: str = Field(
        description="What a matched row may change: a policy, then `column:policy` entries."
    )
    detail: str | None = Field(
        description="Why the import failed, or why its last batch failed (it is retried)."
    )
    created_at: datetime
    finished_at: datetime | None

    @field_validator("match_on", mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        """The table keeps the keys as the query gave them, comma-separated."""
        return [key for key in value.split(",") if key] if isinstance(value, str) else value
