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
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import String, bindparam, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.driver import DriverStatement, fetch_rows
from app.errors import ValidationFailed
from app.models.contacts.tables import Contact
from app.services.contacts.documents import READ_JSON
from app.services.platform import (
    PageRequest,
    SortKey,
    cut_page,
    keyset_statement,
    owner_or_shared,
    page_binds,
    restricted,
    viewer_binds,
)

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


def prefix_query(text: ColumnElement[Any]) -> ColumnElement[Any]:
    """``to_tsquery('simple', 'lex1':* & 'lex2':*)`` built from the parser's lexemes of
    ``text`` (what ``search_text`` made of the query)."""
    lexemes = func.unnest(func.to_tsvector(_SIMPLE, text)).table_valued("lexeme")
    escaped = func.replace(func.replace(lexemes.c.lexeme, "\\", "\\\\"), "'", "''")
    quoted = func.concat(literal_column("''''"), escaped, literal_column("''':*'"))
    joined = select(func.string_agg(quoted, literal_column("' & '"))).scalar_subquery()
    return func.to_tsquery(_SIMPLE, joined)


# Filters whose value is a bind parameter of the list statement: the condition of each.
_BOUND: dict[str, ColumnElement[bool]] = {
    "segment": _C.segment == bindparam("segment"),
    "tags_any": _C.tags.overlap(bindparam("tags_any")),
    "tags_all": _C.tags.contains(bindparam("tags_all")),
    "owner_id": _C.owner_id == bindparam("owner_id"),
    "advocacy_stage": _C.advocacy_stage == bindparam("advocacy_stage"),
    "allied_category": _C.allied_category == bindparam("allied_category"),
    "q": _C.search.bool_op("@@")(prefix_query(bindparam("q", type_=String))),
    "engaged_before": ENGAGED < bindparam("engaged_before"),  # noqa: SIM300
    "engaged_after": ENGAGED >= bindparam("engaged_after"),  # noqa: SIM300
    "updated_since": _C.updated_at >= bindparam("updated_since"),
}
_FILTER_NAMES = tuple(f.name for f in fields(ContactFilters))


_Written = tuple[ConsentChannel | None, bool | None, bool | None]


def _written(written: _Written) -> list[ColumnElement[bool]]:
    """Conditions written into the statement itself (consent, do_not_contact, lapsed):
    ``IS true``/``IS false`` has no bind form and the consent channel is a JSON path, so
    each of their values makes a statement of its own."""
    consent, do_not_contact, lapsed = written
    conditions = []
    if consent is not None:
        conditions.append(_C.consent[consent]["status"].astext == "granted")
    if do_not_contact is not None:
        conditions.append(_C.do_not_contact.is_(do_not_contact))
    if lapsed is not None:
        conditions.append(_C.lapsed_at.is_not(None) if lapsed else _C.lapsed_at.is_(None))
    return conditions


def _is_set(value: Any) -> bool:
    return value is not None and value != []


def _shape(f: ContactFilters) -> tuple[tuple[str, ...], _Written]:
    """What the statement of ``f`` depends on: which bound filters are set, and the
    values of the written ones."""
    bound = tuple(name for name in _BOUND if _is_set(getattr(f, name)))
    return bound, (f.consent, f.do_not_contact, f.lapsed)


def _binds(workspace_id: uuid.UUID, f: ContactFilters) -> dict[str, Any]:
    """The bound filters' values, in the order the conditions were once checked (a bad
    ``q`` is refused before a bad cursor)."""
    binds: dict[str, Any] = {"workspace_id": workspace_id}
    for name in _BOUND:
        value = getattr(f, name)
        if _is_set(value):
            binds[name] = search_text(value) if name == "q" else value
    return binds


@lru_cache(maxsize=512)
def _page_statement(
    bound: tuple[str, ...], written: _Written, sort: ContactSort, after: bool, own: bool
) -> DriverStatement:
    """The list statement of one shape of filters, sort and cursor, built once.

    Building it per request (a dozen generative calls, then SQLAlchemy's cache key of
    the new statement) cost more CPU than running it (pyinstrument, GET /v1/contacts);
    compiled once to the driver's SQL, it runs on asyncpg (``fetch_rows``) with the
    request's values as its binds. ``own``: only the contacts the viewer sees
    (``platform.visibility``; bind ``viewer_binds()``).
    """
    stmt = select(READ_JSON).where(
        _C.workspace_id == bindparam("workspace_id"), *(_BOUND[name] for name in bound)
    )
    stmt = stmt.where(*_written(written))
    if own:
        stmt = stmt.where(owner_or_shared(_C.workspace_id, _C.id, _C.owner_id))
    keys = sort_keys(sort)
    return DriverStatement(
        keyset_statement(stmt, keys, descending=sort.startswith("-"), after=after)
    )


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
) -> tuple[list[str], str | None]:
    """One page of contacts as their JSON documents (``READ_JSON``), and the next cursor."""
    binds = _binds(workspace_id, filters)
    name = f"contacts:{sort}"
    binds.update(page_binds(page, name, 2))
    own = restricted() is not None
    if own:
        binds.update(viewer_binds())
    stmt = _page_statement(*_shape(filters), sort, page.cursor is not None, own)
    rows, cursor = cut_page(await fetch_rows(session, stmt, binds), arity=2, page=page, sort=name)
    return [row[0] for row in rows], cursor
