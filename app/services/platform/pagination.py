"""Keyset pagination: the one way every list in the API is paged.

A cursor is the sort key of the last row served, so a page costs an index range scan
however deep the client has paged, and rows inserted meanwhile neither repeat nor vanish.
Cursors carry the name of the sort they belong to: a cursor reused under another sort is
refused instead of silently returning the wrong page.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Integer, Row, Select, bindparam, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

from app.errors import ValidationFailed
from app.json_codec import from_json

SortKey = QueryableAttribute[Any] | ColumnElement[Any] | Mapped[Any]


def _sql_type(key: SortKey) -> Any:
    """A key's SQL type: a column's own, or a mapped field's column's (``col(X.f)``)."""
    return getattr(key, "type")  # noqa: B009  (typed on neither ``Mapped`` nor the union)


DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


def _encode_value(value: Any) -> list[Any]:
    if value is None:
        return ["n", None]
    if isinstance(value, datetime):
        return ["dt", value.isoformat()]
    if isinstance(value, date):
        return ["d", value.isoformat()]
    if isinstance(value, uuid.UUID):
        return ["u", str(value)]
    if isinstance(value, Decimal):
        return ["dec", str(value)]
    if isinstance(value, bool | int | float | str):
        return ["v", value]
    raise TypeError(f"cannot put {type(value).__name__} in a cursor")


def _decode_value(tagged: Any) -> Any:
    tag, raw = tagged
    match tag:
        case "n":
            return None
        case "dt":
            return datetime.fromisoformat(raw)
        case "d":
            return date.fromisoformat(raw)
        case "u":
            return uuid.UUID(raw)
        case "dec":
            return Decimal(raw)
        case "v":
            return raw
    raise ValueError(tag)


def encode_cursor(sort: str, values: Sequence[Any]) -> str:
    payload = json.dumps([sort, [_encode_value(v) for v in values]], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        got_sort, tagged = from_json(base64.urlsafe_b64decode(padded.encode()).decode())
        values = [_decode_value(t) for t in tagged]
    except (ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
        raise ValidationFailed.on(["query", "cursor"], "malformed cursor") from exc
    if got_sort != sort or len(values) != arity:
        raise ValidationFailed.on(["query", "cursor"], "cursor belongs to another list or sort")
    return values


PAGE_LIMIT = "_page_limit"


def _after(i: int) -> str:
    return f"_page_after_{i}"


def keyset_statement(
    stmt: Select[Any], keys: Sequence[SortKey], *, descending: bool = False, after: bool = False
) -> Select[Any]:
    """``stmt`` ordered by ``keys`` (the last must be unique), the key values appended as
    extra columns, at most ``PAGE_LIMIT`` rows and, with ``after``, only the rows past the
    cursor's keys.

    The limit and the cursor's keys are bind parameters (``page_binds`` gives their
    values), so a list whose statement only depends on which filters are set can build
    it once and reuse it: building it and its cache key on every request cost more CPU
    than running it (GET /v1/contacts).
    """
    if after:
        row_key = tuple_(*keys)
        bound = tuple_(*(bindparam(_after(i), type_=_sql_type(k)) for i, k in enumerate(keys)))
        stmt = stmt.where(row_key < bound if descending else row_key > bound)
    order = [k.desc() for k in keys] if descending else [k.asc() for k in keys]
    labelled = [k.label(f"_page_key_{i}") for i, k in enumerate(keys)]
    return stmt.add_columns(*labelled).order_by(*order).limit(bindparam(PAGE_LIMIT, type_=Integer))


def page_binds(page: PageRequest, sort: str, arity: int) -> dict[str, Any]:
    """The values of ``keyset_statement``'s limit and cursor binds for ``page``."""
    binds: dict[str, Any] = {PAGE_LIMIT: page.limit + 1}
    if page.cursor is not None:
        for i, value in enumerate(decode_cursor(page.cursor, sort, arity)):
            binds[_after(i)] = value
    return binds


R = TypeVar("R", bound=Sequence[Any])


def cut_page(
    rows: list[R],
    *,
    arity: int,
    page: PageRequest,
    sort: str = "default",
    tail_cursor: bool = False,
) -> tuple[list[R], str | None]:
    """One page of a ``keyset_statement``'s rows (SQLAlchemy rows or driver records), and
    the cursor of the next from the last row's ``arity`` appended keys."""
    if len(rows) <= page.limit and not tail_cursor:
        return rows, None
    if not rows:
        return rows, page.cursor
    rows = rows[: page.limit]
    last = rows[-1]
    return rows, encode_cursor(sort, [last[i] for i in range(len(last) - arity, len(last))])


async def keyset_page(
    session: AsyncSession,
    stmt: Select[Any],
    *,
    keys: Sequence[SortKey],
    page: PageRequest,
    sort: str = "default",
    descending: bool = False,
    tail_cursor: bool = False,
) -> tuple[list[Row[Any]], str | None]:
    """Run ``stmt`` ordered by ``keys`` (the last must be unique) and cut one page.

    Rows come back with the key values appended as extra columns, which is how the next
    cursor is built without the caller knowing the sort. ``tail_cursor`` is for feeds a
    client polls: the last page still returns a cursor to resume from later.
    """
    binds = page_binds(page, sort, len(keys))
    built = keyset_statement(stmt, keys, descending=descending, after=page.cursor is not None)
    rows = list((await session.execute(built, binds)).all())
    return cut_page(rows, arity=len(keys), page=page, sort=sort, tail_cursor=tail_cursor)
