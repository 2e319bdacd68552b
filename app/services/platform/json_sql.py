"""A read model's JSON, built by PostgreSQL: SQL generated from the pydantic model.

For the busiest reads (a contact, a page of 50 contacts) validating each row into the
response model and serialising it again was most of the request's CPU (py-spy under
``wrk``: ``validate_python`` a quarter of a list request, ``dump_json`` and decoding the
JSON columns another fifth). PostgreSQL can write the same document from the row in C,
and the API passes its text through untouched.

The pydantic model stays the one definition of the shape: ``json_object`` walks its
fields, in order, and emits one ``json_build_object`` for it. Nested models (read from
JSONB columns) are rebuilt key by key, so a key the stored document omits reads as
``null`` exactly as the model's default would, and keys the model does not declare are
dropped as pydantic drops them. Timestamps are written as pydantic writes a UTC
``datetime`` (``2026-12-01T09:30:00Z``, microseconds only when not zero). Strings
inside JSONB are passed through as stored: every write stores them from the model's own
JSON dump. ``tests/test_contact_json.py`` checks the documents against the model's.

Only the types read models use are supported; anything else fails when the SQL is
built (at import), never while answering.
"""

from __future__ import annotations

import types
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from sqlalchemy import Text, cast, func, literal_column
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import NamedFromClause

# pydantic's JSON form of an aware datetime read from PostgreSQL (asyncpg gives UTC).
_TIME = (
    "(to_char(({v}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
    " || CASE WHEN to_char(({v}) AT TIME ZONE 'UTC', 'US') = '000000' THEN ''"
    " ELSE '.' || to_char(({v}) AT TIME ZONE 'UTC', 'US') END || 'Z')"
)


_SCALARS = (str, int, float, bool, uuid.UUID, date, Enum)


def _optional(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` -> ``(X, True)``; anything else -> ``(annotation, False)``."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(get_args(annotation)) == 2:
            return args[0], True
    return annotation, False


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _check_scalar(annotation: Any, where: str) -> None:
    """Types whose JSON is the same from PostgreSQL as from pydantic: strings, numbers,
    booleans, UUIDs, dates, enums and literals, lists of those, JSON objects."""
    origin = get_origin(annotation)
    if origin is list:
        (item,) = get_args(annotation)
        _check_scalar(item, where)
    elif (
        origin is not dict
        and origin is not Literal
        and not (isinstance(annotation, type) and issubclass(annotation, _SCALARS))
    ):
        raise TypeError(f"json_sql: {where} has a type it cannot write: {annotation!r}")


def _nested(annotation: Any, value: str, where: str) -> str:
    """The JSON of ``value`` (a JSONB expression) as ``annotation`` reads it."""
    inner, _nullable = _optional(annotation)
    if isinstance(inner, type) and issubclass(inner, datetime):  # answered in UTC, as stored
        return _TIME.format(v=f"(({value}) #>> '{{}}')::timestamptz")
    if _is_model(inner):
        return (
            f"CASE WHEN jsonb_typeof({value}) = 'object' THEN "
            f"{_object_of(inner, lambda key: f'({value}) -> {_quote(key)}', where)} END"
        )
    if get_origin(inner) is list and _is_model(get_args(inner)[0]):
        (item,) = get_args(inner)
        element = _object_of(item, lambda key: f"e.v -> {_quote(key)}", where)
        return (
            f"CASE WHEN jsonb_typeof({value}) = 'array' THEN (SELECT coalesce("
            f"json_agg({element} ORDER BY e.n), '[]'::json) FROM "
            f"jsonb_array_elements({value}) WITH ORDINALITY AS e(v, n)) END"
        )
    _check_scalar(inner, where)
    return value  # stored from the model's JSON dump: already its JSON form


def _quote(key: str) -> str:
    assert key.isidentifier(), key  # field names only: never data
    return f"'{key}'"


def _key(name: str, field: FieldInfo) -> str:
    """The field's key in the model's JSON, quoted for SQL."""
    return _quote(field.serialization_alias or field.alias or name)


def _object_of(model: type[BaseModel], value_of: Any, where: str) -> str:
    pairs = [
        f"{_key(name, field)}, {_nested(field.annotation, value_of(name), where)}"
        for name, field in model.model_fields.items()
    ]
    return f"json_build_object({', '.join(pairs)})"


def json_object(
    model: type[BaseModel], table: NamedFromClause, overrides: Mapping[str, ColumnElement[Any]]
) -> ColumnElement[str]:
    """``model``'s JSON (as text) from a row of ``table`` (a table, or a CTE of its rows):
    each field from the column of its name, or from the expression ``overrides`` gives;
    nested models from JSONB."""
    pairs: list[ColumnElement[Any]] = []
    for name, field in model.model_fields.items():
        pairs.append(literal_column(_key(name, field)))
        inner, _nullable = _optional(field.annotation)
        if name in overrides:
            pairs.append(overrides[name])
        elif isinstance(inner, type) and issubclass(inner, datetime):  # a timestamptz column
            pairs.append(literal_column(_TIME.format(v=f"{table.name}.{name}")))
        elif _is_model(inner) or (get_origin(inner) is list and _is_model(get_args(inner)[0])):
            pairs.append(literal_column(_nested(field.annotation, f"{table.name}.{name}", name)))
        else:
            _check_scalar(inner, name)
            pairs.append(table.c[name])
    return cast(func.json_build_object(*pairs), Text)
