"""Exporting every contact of a workspace as CSV or JSON Lines, streamed in keyset chunks.

Each chunk is read in its own short transaction: an export of 100,000 contacts holds no
snapshot open for the length of a slow download, and memory stays at one chunk.

A CSV is opened in a spreadsheet, which runs a cell beginning with ``=``, ``+``, ``-``
or ``@`` as a formula (``=HYPERLINK(...)`` in a name becomes a live link: CSV
injection). So, as OWASP advises, such cells, and cells beginning with a tab or a
carriage return, are written with a ``'`` before them, which spreadsheets read as "this
is text"; ``raw`` writes them as stored. A cell already beginning with ``'`` before one
of those characters gets one more, and the import takes one off (``parse.unescaped``),
so an export imports back exactly. JSON Lines are data for programs: never changed.
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
from app.services.contacts.importing.parse import FORMULA
from app.services.contacts.rows import READ_COLUMNS, to_read
from app.services.platform import Viewer, owner_or_shared, restricted

ExportFormat = Literal["csv", "jsonl"]
CHUNK = 1000
CSV_COLUMNS = [name for name in ContactRead.model_fields if name != "display_name"]
CSV_COLUMNS.insert(1, "display_name")


def _cell(value: Any, raw: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return to_json(value)
    text = str(value)
    return text if raw or not FORMULA.match(text) else "'" + text


def _csv_line(values: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue().encode()


def _encode(contacts: list[ContactRead], fmt: ExportFormat, raw: bool) -> bytes:
    if fmt == "jsonl":
        return b"".join(c.model_dump_json().encode() + b"\n" for c in contacts)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for contact in contacts:
        data = contact.model_dump(mode="json")
        writer.writerow([_cell(data[name], raw) for name in CSV_COLUMNS])
    return out.getvalue().encode()


def export_contacts(
    db: Database, workspace_id: uuid.UUID, fmt: ExportFormat, *, raw: bool = False
) -> AsyncIterator[bytes]:
    """Every contact the viewer sees, oldest first, with every field (the CSV's JSON
    cells re-import); CSV cells a spreadsheet would run as formulas are escaped unless
    ``raw``. The viewer is taken now: the body streams after the request's handler has
    returned."""
    return _chunks(db, workspace_id, fmt, restricted(), raw)


async def _chunks(
    db: Database, workspace_id: uuid.UUID, fmt: ExportFormat, viewer: Viewer | None, raw: bool
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
        yield _encode([to_read(r) for r in rows], fmt, raw)
        if len(rows) < CHUNK:
            return
        after = (rows[-1]["created_at"], rows[-1]["id"])
