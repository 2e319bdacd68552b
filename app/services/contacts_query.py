"""Listing contacts: filters, prefix search and keyset-paged sorts.

Each sort pages on an index: ``(workspace_id, sort_name, id)``, ``(workspace_id,
created_at, id)`` and ``(workspace_id, coalesce(last_engaged_at, '-infinity'), id)``; the
engaged filters use the same expression so the "losing touch" view is a range scan.
``q`` is a prefix search on the GIN-indexed ``search`` tsvector; the text is split into
lexemes by PostgreSQL's own parser (the one that built the vector) and each lexeme is
quoted, so no user input is ever parsed as tsquery syntax.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.errors import ValidationFailed
from app.models.contact import Contact
from app.models.contact_schemas import ContactRead
from app.services.contact_rows import READ_COLUMNS, to_read_many
from app.services.pagination import PageRequest, SortKey, keyset_page

ContactSort = Literal["name", "-name", "created", "-created", "last_engaged", "-last_engaged"]
CONTACT_SORTS: tuple[ContactSort, ...] = (
    "name",
    "-name",
    "created",
    "-created",
    "last_engaged",
    "-last_engaged",
)
ConsentChannel = Literal["email", "sms", "call", "mail"]
# The table's columns, not the mapped class's attributes: the statement stays Core, which
# skips the ORM's compile and result steps (a tenth of a list request's CPU in py-spy).
_C = Contact.__table__.c

# Must read exactly like the index expression for the planner to use that index.
ENGAGED = func.coalesce(_C.last_engaged_at, literal_column("'-infinity'::timestamptz"))
_PHONE_LIKE = re.compile(r"^[\d\s()+./-]+$")
_SIMPLE: ColumnElement[Any] = literal_column("'simple'::regconfig")


@dataclass(frozen=True)
class ContactFilters:
    segment: str | None = None
    tags_any: list[str] = field(default_factory=list)
    tags_all: list[str] = field(default_factory=list)
    owner_id: uuid.UUID | None = None
    advocacy_stage: str | None = None
    allied_category: str | None = None
    consent: ConsentChannel | None = None
    do_not_contact: bool | None = None
    q: str | None = None
    engaged_before: datetime | None = None
    engaged_after: datetime | None = None
    updated_since: datetime | None = None
    lapsed: bool | None = None


def search_text(q: str) -> str:
    """What to hand the parser: digits only for a phone number, else the text as typed."""
    q = q.strip()
    digits = "".join(c for c in q if c.isdigit())
    if _PHONE_LIKE.match(q) and len(digits) >= 3:
        return digits
    if not any(c.isalnum() for c in q):
        raise ValidationFailed.on(["query", "q"], "search needs at least one letter or digit")
    return q


def prefix_query(q: str) -> ColumnElement[Any]:
    """``to_tsquery('simple', 'lex1':* & 'lex2':*)`` built from the parser's lexemes of ``q``."""
    lexemes = func.unnest(func.to_tsvector(_SIMPLE, search_text(q))).table_valued("lexeme")
    escaped = func.replace(func.replace(lexemes.c.lexeme, "\\", "\\\\"), "'", "''")
    quoted = func.concat(literal_column("''''"), escaped, literal_column("''':*'"))
    joined = select(func.string_agg(quoted, literal_column("' & '"))).scalar_subquery()
    return func.to_tsquery(_SIMPLE, joined)


def filtered(stmt: Select[Any], workspace_id: uuid.UUID, f: ContactFilters) -> Select[Any]:
    stmt = stmt.where(_C.workspace_id == workspace_id)
    if f.segment is not None:
        stmt = stmt.where(_C.segment == f.segment)
    if f.tags_any:
        stmt = stmt.where(_C.tags.overlap(f.tags_any))
    if f.tags_all:
        stmt = stmt.where(_C.tags.contains(f.tags_all))
    if f.owner_id is not None:
        stmt = stmt.where(_C.owner_id == f.owner_id)
    if f.advocacy_stage is not None:
        stmt = stmt.where(_C.advocacy_stage == f.advocacy_stage)
    if f.allied_category is not None:
        stmt = stmt.where(_C.allied_category == f.allied_category)
    if f.consent is not None:
        stmt = stmt.where(_C.consent[f.consent]["status"].astext == "granted")
    if f.do_not_contact is not None:
        stmt = stmt.where(_C.do_not_contact.is_(f.do_not_contact))
    if f.q is not None:
        stmt = stmt.where(_C.search.bool_op("@@")(prefix_query(f.q)))
    if f.engaged_before is not None:
        stmt = stmt.where(ENGAGED < f.engaged_before)  # noqa: SIM300
    if f.engaged_after is not None:
        stmt = stmt.where(ENGAGED >= f.engaged_after)  # noqa: SIM300
    if f.updated_since is not None:
        stmt = stmt.where(_C.updated_at >= f.updated_since)
    if f.lapsed is not None:
        flag = _C.lapsed_at.is_not(None) if f.lapsed else _C.lapsed_at.is_(None)
        stmt = stmt.where(flag)
    return stmt


def sort_keys(sort: ContactSort) -> list[SortKey]:
    match sort.lstrip("-"):
        case "name":
            return [_C.sort_name, _C.id]
        case "created":
            return [_C.created_at, _C.id]
        case _:
            return [ENGAGED, _C.id]


async def list_contacts(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    page: PageRequest,
    filters: ContactFilters,
    *,
    sort: ContactSort = "name",
) -> tuple[list[ContactRead], str | None]:
    stmt = filtered(select(*READ_COLUMNS), workspace_id, filters)
    rows, cursor = await keyset_page(
        session,
        stmt,
        keys=sort_keys(sort),
        page=page,
        sort=f"contacts:{sort}",
        descending=sort.startswith("-"),
    )
    fields = rows[0]._fields if rows else ()
    return to_read_many(dict(zip(fields, r, strict=True)) for r in rows), cursor
