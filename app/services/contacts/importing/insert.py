"""The import's contact insert: one statement over one JSON document of the batch's rows,
run on the driver, that also enrols the new contacts in the plans whose audience they are in.

SQLAlchemy's multi-row ``INSERT ... VALUES`` sent 1,000 rows as some 27,000 bind
parameters: a statement of a new shape to parse and plan for each batch size, and
SQLAlchemy's bind processing for each value. Column arrays under ``unnest`` fixed the
shape, but asyncpg checks every element of an array parameter against three
``collections.abc`` classes before encoding it: 5.6 ms of this process's CPU for 1,000
rows of 16 text columns, where the same rows as one JSON text cost 0.4 ms, and
PostgreSQL read the JSON faster too (``jsonb_array_elements``: 1.6 against 3.2 ms).
So a batch is one JSON array of rows, each an array of ``ROW_COLUMNS`` in order; the
validation process writes each row's text (``row_json``), and the batch only puts the
rows together with their consent (stamped by the batch). The SQL never changes, so
asyncpg prepares it once per connection.

The enrolments are a data-modifying CTE over the rows the insert returns
(``touches.auto_enroll_insert``, as a contact create enrols): a batch's enrolments cost
no statement of their own and no second look-up of the contacts just inserted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ARRAY, Boolean, Integer, String, Uuid, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY as PG_ARRAY
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from app.driver import DriverStatement, fetch_column
from app.json_codec import to_json
from app.models.contacts.tables import Contact
from app.services import touches
from app.services.contacts.importing.rows import WRITTEN

_TABLE = Contact.__table__
#: A row of the batch's document: its consent (which the batch stamps), then these.
ROW_COLUMNS = ("id", *(name for name in WRITTEN if name != "consent"))
_DOCUMENT = ("consent", *ROW_COLUMNS)


def _select_item(name: str, at: int) -> str:
    """The column ``name`` of the document's row ``r``, element ``at``, as the table has it."""
    column = _TABLE.c[name]
    kind = column.type
    if isinstance(kind, JSONB):
        return f"NULLIF(r -> {at}, 'null')" if column.nullable else f"r -> {at}"
    if isinstance(kind, ARRAY):
        return f"ARRAY(SELECT jsonb_array_elements_text(r -> {at}))"
    if isinstance(kind, Uuid):
        return f"CAST(r ->> {at} AS uuid)"
    if isinstance(kind, Boolean):
        return f"CAST(r ->> {at} AS boolean)"
    if isinstance(kind, Integer):
        return f"CAST(r ->> {at} AS integer)"
    return f"r ->> {at}"


def _insert_sql() -> str:
    items = ", ".join(_select_item(name, at) for at, name in enumerate(_DOCUMENT))
    return f"""
    INSERT INTO contacts (workspace_id, created_at, updated_at, version, {", ".join(_DOCUMENT)})
    SELECT CAST(:ws AS uuid), CAST(:at AS timestamptz), CAST(:at AS timestamptz), 1, {items}
    FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS d(r)
    """


def _insert_statement() -> DriverStatement:
    """The insert, and the enrolments of the rows it returns; answers how many."""
    inserted = (
        text(_insert_sql() + " RETURNING workspace_id, id, segment, tags, do_not_contact, owner_id")
        .columns(
            workspace_id=Uuid(),
            id=Uuid(),
            segment=String(),
            tags=PG_ARRAY(String()),
            do_not_contact=Boolean(),
            owner_id=Uuid(),
        )
        .cte("inserted")
    )
    enrolled = touches.auto_enroll_insert(inserted).cte("enrolled")
    return DriverStatement(select(func.count()).select_from(enrolled))


_INSERT = _insert_statement()


def row_json(contact_id: uuid.UUID, row: dict[str, Any]) -> str:
    """A new contact's ``ROW_COLUMNS`` as the batch's document holds them, from its
    derived row (JSON columns as the JSON itself): made where the row is validated."""
    return to_json([str(contact_id), *(row[name] for name in ROW_COLUMNS[1:])])


def document(rows: Sequence[tuple[str, str]]) -> str:
    """The batch's document from each row's stamped consent and ``row_json``: the
    consent goes first in the row's array (a string put together, not a parse)."""
    return "[" + ",".join(f"[{consent},{columns[1:]}" for consent, columns in rows) + "]"


async def insert_contacts(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    rows: str,
    *,
    at: datetime,
) -> None:
    """Insert the contacts of ``rows`` (a ``document``), created and updated ``at``, and
    enrol them (``auto_enroll``'s rules: from today, their touches planned by the top-up
    job)."""
    start = at.date()
    params: dict[str, Any] = {
        "ws": workspace_id,
        "at": at,
        "start": start,
        "horizon": start - timedelta(days=1),  # nothing planned yet
        "rows": rows,
    }
    await fetch_column(session, _INSERT, params)
