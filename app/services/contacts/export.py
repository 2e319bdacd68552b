"""Exporting every contact of a workspace as CSV or JSON Lines, streamed in keyset chunks.

Each chunk is read in its own short transaction: an export of 100,000 contacts holds no
snapshot open for the length of a slow download, and memory stays at one chunk.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

from sqlalchemy import select, tuple_
from sqlmodel import col

from app.db import Database
from app.json_codec import to_json
from app.models.contacts.reads import ContactRead
from app.models.contacts.tables import Contact
from app.services.contacts.rows import READ_COLUMNS, to_read
from app.services.platform import Viewer, owner_or_shared, restricted

ExportFormat = Literal["csv", "jsonl"]
CHUNK = 1000
CSV_COLUMNS = [name for name in ContactRead.model_fields if name != "display_name"]
CSV_COLUMNS.insert(1, "display_name")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return to_json(value)
    return str(value)


def _csv_line(values: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue().encode()


def _encode(contacts: list[ContactRead], fmt: ExportFormat) -> bytes:
    if fmt == "jsonl":
        return b"".join(c.model_dump_json().encode() + b"\n" for c in contacts)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for contact in contacts:
        data = contact.model_dump(mode="json")
        writer.writerow([_cell(data[name]) for name in CSV_COLUMNS])
    return out.getvalue().encode()


def export_contacts(
    db: Database, workspace_id: uuid.UUID, fmt: ExportFormat
) -> AsyncIterator[bytes]:
    """Every contact the viewer sees, oldest first, with every field (the CSV's JSON
    cells re-import). The viewer is taken now: the body streams after the request's
    handler has returned."""
    return _chunks(db, workspace_id, fmt, restricted())


async def _chunks(
    db: Database, workspace_id: uuid.UUID, fmt: ExportFormat, viewer: Viewer | None
) -> AsyncIterator[bytes]:
    if fmt == "csv":
        yield _csv_line(CSV_COLUMNS)
    after: tuple[Any, Any] | None = None
    while True:
        stmt = select(*READ_COLUMNS).where(col(Contact.workspace_id) == workspace_id)
        if viewer is not None:
            c = Contact.__table__.c
            stmt = stmt.where(owner_or_shared(c.workspace_id, c.id, c.owner_id, viewer.member_ids))
        if after is not None:
            stmt = stmt.where(tuple_(Contact.created_at, Contact.id) > tuple_(*after))
        stmt = stmt.order_by(col(Contact.created_at), col(Contact.id)).limit(CHUNK)
        async with db.sessionmaker() as session:
            rows = [dict(r) for r in (await session.execute(stmt)).mappings()]
        if not rows:
            return
        yield _encode([to_read(r) for r in rows], fmt)
        if len(rows) < CHUNK:
            return
        after = (rows[-1]["created_at"], rows[-1]["id"])
