"""Row errors a person can act on: the line, the CSV column, the value, plain words.

Validation speaks in model paths (``emails.0.address``) and pydantic's phrases; a person
fixing a file thinks in its header's columns (``email``). A row is refused with entries
``{"loc", "msg"}`` (plus ``column`` and ``value`` where the reader already knows them);
``describe`` turns them into what the job keeps and shows:
``{"line", "column", "value", "message", "errors": [...]}``, where ``column``, ``value``
and ``message`` are the first problem's and ``errors`` holds each with the same keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.json_codec import to_json

VALUE_CHARS = 80  # a value is shown up to this long, then cut with an ellipsis
# Where a nested field's key comes from in a CSV header, most usual spelling first.
_NESTED = {
    "address": ("address.{}",),
    "consent": ("consent.{}",),
    "custom_fields": ("custom.{}", "{}"),
    "external_ids": ("external_id.{}", "external_ids.{}"),
}
_LISTS = {"emails": "email", "phones": "phone"}  # the one-cell column of a JSON list
_PREFIXES = ("Value error, ", "Assertion failed, ")


def column_of(loc: Sequence[Any], header: Sequence[str]) -> str | None:
    """The column of ``header`` a field path came from (for JSON Lines, with no header,
    the top-level key); None for a problem of the whole row."""
    if not loc:
        return None
    field = str(loc[0])
    if not header:
        return field
    names = set(header)
    if field in _LISTS and field not in names:
        return _LISTS[field]
    if field in _NESTED and len(loc) > 1 and field not in names:
        spellings = [s.format(loc[1]) for s in _NESTED[field]]
        return next((s for s in spellings if s in names), spellings[0])
    return field


def shown(value: Any) -> str | None:
    """A value as a row error shows it: text, at most ``VALUE_CHARS`` long, without NUL
    (which PostgreSQL cannot store in JSON)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else to_json(value)
    text = text.replace("\x00", "\u2400")
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "\u2026"


def plain(message: str) -> str:
    """pydantic's message without the prefix that names its own machinery."""
    for prefix in _PREFIXES:
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def describe(line: int, entries: Sequence[dict[str, Any]], header: Sequence[str]) -> dict[str, Any]:
    """A refused row as the job keeps it (see the module's docstring)."""
    problems = []
    for entry in entries:
        loc = list(entry.get("loc") or [])
        column = entry.get("column") or column_of(loc, header)
        problems.append(
            {
                "loc": loc,
                "msg": entry.get("msg", ""),
                "column": column,
                "value": shown(entry.get("value")),
                "message": plain(str(entry.get("msg", ""))),
            }
        )
    first = problems[0] if problems else {"column": None, "value": None, "message": ""}
    return {
        "line": line,
        "column": first["column"],
        "value": first["value"],
        "message": first["message"],
        "errors": problems,
    }


def lines_text(lines: Sequence[int], most: int = 5) -> str:
    """``lines 4 and 9``, ``lines 4, 9 and 12``, or the first few and how many more."""
    numbers = [str(n) for n in lines]
    if len(numbers) > most:
        return f"lines {', '.join(numbers[:most])} and {len(numbers) - most} more"
    return f"lines {', '.join(numbers[:-1])} and {numbers[-1]}"
