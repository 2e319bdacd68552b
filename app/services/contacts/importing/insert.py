"""The import's contact insert: one statement of column arrays, run on the driver, that
also enrols the new contacts in the plans whose audience they are in.

SQLAlchemy's multi-row ``INSERT ... VALUES`` sent 1,000 rows as some 27,000 bind
parameters: a statement of a new shape to parse and plan for each batch size, and
SQLAlchemy's bind processing for each value (bench_import: 230 ms a batch of 1,000 rows,
half the import's database time, where the same rows cost 90 ms as an ``INSERT ...
SELECT``). Here each column travels as one array and ``unnest`` turns them back into
rows: the SQL never changes, so asyncpg prepares it once per connection and the planner
sees three dozen parameters. JSON columns go as JSON text, and the list columns
(``tags``, ``interests``) too: ``unnest`` would flatten an array of arrays.

The enrolments are a data-modifying CTE over the rows the insert returns
(``touches.auto_enroll_insert``, as a contact create enrols): a batch's enrolments cost
no statement of their own and no second look-up of the contacts just inserted.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ARRAY, Boolean, Integer, String, Uuid, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY as PG_ARRAY
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from app.driver import DriverStatement, fetch_column
from app.models.contacts.tables import Contact
from app.services import touches
from app.services.contacts.importing.rows import WRITTEN

_TABLE = Contact.__table__
#: Per-row columns, each bound as one array; ``workspace_id`` and the times are scalars.
COLUMNS = ("id", *WRITTEN, "version")


def _array_type(name: str) -> str:
    """The array a column travels in: its own type, or text (JSON text for documents)."""
    kind = _TABLE.c[name].type
    if isinstance(kind, Uuid):
        return "uuid[]"
    if isinstance(kind, Boolean):
        return "boolean[]"
    if isinstance(kind, Integer):
        return "integer[]"
    return "text[]"  # strings; JSON and list columns as JSON text


def _select_item(name: str) -> str:
    kind = _TABLE.c[name].type
    if isinstance(kind, JSONB):
        return f"CAST(x.{name} AS jsonb)"
    if isinstance(kind, ARRAY):
        return f"ARRAY(SELECT jsonb_array_elements_text(CAST(x.{name} AS jsonb)))"
    return f"x.{name}"


def _insert_sql() -> str:
    arrays = ", ".join(f"CAST(:{n} AS {_array_type(n)})" for n in COLUMNS)
    return f"""
    INSERT INTO contacts (workspace_id, created_at, updated_at, {", ".join(COLUMNS)})
    SELECT CAST(:ws AS uuid), CAST(:at AS timestamptz), CAST(:at AS timestamptz),
           {", ".join(_select_item(n) for n in COLUMNS)}
    FROM unnest({arrays}) AS x({", ".join(COLUMNS)})
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
#: Columns sent as JSON text (``unnest`` would flatten an array of arrays).
AS_JSON = frozenset(n for n in COLUMNS if isinstance(_TABLE.c[n].type, JSONB | ARRAY))


async def insert_contacts(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    columns: Mapping[str, Sequence[Any]],
    *,
    at: datetime,
) -> None:
    """Insert contacts given as one list per column of ``COLUMNS`` (JSON as text, ``AS_JSON``),
    created and updated ``at``, and enrol them (``auto_enroll``'s rules: from today, their
    touches planned by the top-up job)."""
    if not columns["id"]:
        return
    start = at.date()
    params: dict[str, Any] = {
        "ws": workspace_id,
        "at": at,
        "start": start,
        "horizon": start - timedelta(days=1),  # nothing planned yet
    }
    for name in COLUMNS:
        params[name] = list(columns[name])
    await fetch_column(session, _INSERT, params)
