"""Reading import files into contact-shaped dicts, one per row, with their line numbers.

CSV headers are field names (``first_name``, ``email``, ``tags``...); a few spellings
map into nested fields (``address.city``, ``consent.email``, ``external_id.hubspot``,
``custom.<key>``) and every unknown column becomes a custom field, so a CRM export can be
imported without editing it. JSON-valued cells (``emails``, ``address``...) take the same
JSON as the API. Empty cells are "not given": on an update they leave the field alone.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from app.json_codec import from_json
from app.services.contacts.importing.records import read_records

MAX_ROWS = 100_000
SCALARS = frozenset(
    {
        "kind",
        "first_name",
        "last_name",
        "company_name",
        "company",
        "job_title",
        "time_zone",
        "locale",
        "owner_id",
        "segment",
        "allied_category",
        "advocacy_stage",
        "default_region",
    }
)
# Yes/no columns: a cell is text, so it is read as pydantic's lax mode reads a string
# (the API's JSON bodies take only true and false); anything else is left as it is, for
# validation to refuse with the field named.
BOOLEANS = frozenset({"do_not_contact"})
_TRUTH = {"1": True, "on": True, "t": True, "true": True, "y": True, "yes": True}
_TRUTH |= {"0": False, "off": False, "f": False, "false": False, "n": False, "no": False}
JSON_FIELDS = frozenset(
    {"emails", "phones", "address", "family", "custom_fields", "consent", "external_ids"}
)
LIST_FIELDS = frozenset({"tags", "interests"})
# Columns of our own export that are derived or read-only, and the ``error`` column of
# a file of refused rows (``failed``): ignored, never custom fields.
IGNORED = frozenset(
    {
        "error",
        "id",
        "display_name",
        "primary_email",
        "primary_phone",
        "advocacy_stage_manual",
        "last_engaged_at",
        "lapsed_at",
        "version",
        "created_at",
        "updated_at",
    }
)
#: A cell a spreadsheet would run as a formula, perhaps behind the ``'`` escapes that
#: make it text (``export``): the import takes one ``'`` off such a cell (``unescaped``).
FORMULA = re.compile(r"'*[=+\-@\t\r]")
NESTED_PREFIXES = {"address.": "address", "consent.": "consent", "custom.": "custom_fields"}
NESTED_PREFIXES |= {"external_id.": "external_ids", "external_ids.": "external_ids"}


@dataclass
class RawRow:
    """A row as read: its line, its contact-shaped data, and what was wrong with its cells
    (each ``{"loc", "msg"}``, with the ``column`` and ``value`` when a cell is to blame)."""

    line: int
    data: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ImportFile:
    """A file being read: its CSV header (``[]`` for JSON Lines) and its rows, parsed as
    they are iterated."""

    columns: list[str]
    rows: Iterator[RawRow]


class FileRefused(ValueError):
    """The file as a whole cannot be imported (too many rows, no header, not UTF-8)."""


def _list_cell(value: str) -> Any:
    if value.startswith("["):
        return from_json(value)
    return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]


# What a CSV column holds, decided once per file from its header (``_plan``), so that a
# row only dispatches on it: finding each cell's kind again from its name (set lookups,
# a prefix scan) was most of the parse's time per row.
_SKIP, _SCALAR, _BOOL, _JSON, _LIST, _EMAIL, _PHONE, _NESTED = range(8)


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    kind: int
    target: str = ""  # for nested cells: the object they go into, and their key in it
    key: str = ""


def _column(name: str) -> _Column:
    if name in IGNORED:
        return _Column(name, _SKIP)
    if name in SCALARS:
        return _Column(name, _SCALAR)
    if name in BOOLEANS:
        return _Column(name, _BOOL)
    if name in JSON_FIELDS:
        return _Column(name, _JSON)
    if name in LIST_FIELDS:
        return _Column(name, _LIST)
    if name == "email":
        return _Column(name, _EMAIL)
    if name == "phone":
        return _Column(name, _PHONE)
    prefix = next((p for p in NESTED_PREFIXES if name.startswith(p)), None)
    target = NESTED_PREFIXES[prefix] if prefix else "custom_fields"
    key = name[len(prefix) :] if prefix else name
    return _Column(name, _NESTED, target, key)


def unescaped(value: str) -> str:
    """A cell as it was before an export escaped it for spreadsheets (``'=1+1``: ``=1+1``)."""
    return value[1:] if value[:1] == "'" and FORMULA.match(value, 1) else value


def _csv_row(line: int, columns: list[_Column], cells: list[str]) -> RawRow:
    row = RawRow(line)
    data = row.data
    for column, value in zip(columns, cells, strict=True):
        kind = column.kind
        value = value.strip()
        if not value or kind == _SKIP:
            continue
        if value[0] == "'":
            value = unescaped(value)
        name = column.name
        try:
            if kind == _SCALAR:
                data[name] = value
            elif kind == _BOOL:
                data[name] = _TRUTH.get(value.lower(), value)
            elif kind == _JSON:
                data[name] = from_json(value)
            elif kind == _LIST:
                data[name] = _list_cell(value)
            elif kind == _EMAIL:
                data.setdefault("emails", [{"address": value}])
            elif kind == _PHONE:
                data.setdefault("phones", [{"number": value}])
            else:
                target = column.target
                nested = data.setdefault(target, {})
                if not isinstance(nested, dict):
                    raise ValueError(f"{target} is not an object")
                nested[column.key] = {"status": value} if target == "consent" else value
        except ValueError as exc:  # JSON that does not decode is a ValueError
            message = f"not valid JSON ({exc})" if kind in (_JSON, _LIST) else str(exc)
            row.errors.append({"loc": [name], "msg": message, "column": name, "value": value})
    return row


def _header(cells: list[str]) -> list[str]:
    header = [h.strip() for h in cells]
    if any("\x00" in h for h in header):  # the job keeps the header: PostgreSQL stores no NUL
        raise FileRefused("the header row holds a NUL character (a byte of value 0)")
    named = [h for h in header if h]
    if not named:
        raise FileRefused("the file is empty; the first line must be a header")
    if len(set(named)) != len(named):
        twice = sorted({h for h in named if named.count(h) > 1})
        raise FileRefused(f"the header row must name each column once ({', '.join(twice)})")
    return header


def read_csv(text: str) -> ImportFile:
    """The file's header and rows; line numbers are the file's (the header is line 1).
    A row the CSV reader cannot take whole (``records``) is a row with an error."""
    try:
        cells, records = read_records(text)
    except ValueError as exc:
        raise FileRefused(str(exc)) from None
    header = _header(cells)
    columns = [_column(name) if name else _Column(name, _SKIP) for name in header]

    def rows() -> Iterator[RawRow]:
        for record in records:
            if record.problem:
                error: dict[str, Any] = {"loc": [], "msg": record.problem, "column": record.column}
                yield RawRow(record.line, {}, [{**error, "value": record.text.rstrip("\r\n")}])
            else:
                yield _csv_row(record.line, columns, record.cells)

    return ImportFile(header, rows())


def read_jsonl(text: str) -> Iterator[RawRow]:
    """One JSON object per line; blank lines are skipped but still counted."""
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        row = RawRow(number)
        if "\x00" in line:
            problem = "the line holds a NUL character (a byte of value 0)"
            row.errors.append({"loc": [], "msg": problem, "value": line})
            yield row
            continue
        try:
            value = from_json(line)
        except ValueError as exc:
            row.errors.append({"loc": [], "msg": f"not JSON ({exc})", "value": line})
            yield row
            continue
        if not isinstance(value, dict):
            row.errors.append({"loc": [], "msg": "each line must be a JSON object", "value": line})
        else:
            for key, item in value.items():
                if key in IGNORED:
                    continue
                if key in SCALARS or key in JSON_FIELDS or key in LIST_FIELDS:
                    row.data[key] = item
                else:
                    row.data.setdefault("custom_fields", {})
                    if isinstance(row.data["custom_fields"], dict):
                        row.data["custom_fields"][key] = item
        yield row


def decoded(body: bytes) -> str:
    """The file as text: UTF-8, with or without a byte order mark; anything else is
    refused, saying what it looks like and how to save it right."""
    sample = body[:4096]
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (
        sample.count(0) > len(sample) // 4
    ):
        raise FileRefused(f"the file is UTF-16 text, not UTF-8: {_SAVE_AS}")
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise FileRefused(
            f"the file is not UTF-8 text: line {line} holds the byte 0x{body[exc.start]:02X}, "
            f"which UTF-8 does not use there (the file may be in Windows-1252 or Latin-1): "
            f"{_SAVE_AS}"
        ) from None


_SAVE_AS = 'save it as UTF-8 (in Excel: "CSV UTF-8") and import it again'


def open_file(body: bytes, fmt: str) -> ImportFile:
    """The file's header and rows as they are read. A file that is not UTF-8 text or has
    no usable header is refused at once, one with too many rows while it is read
    (``FileRefused``): so a request can stage the first rows while it parses the rest."""
    text = decoded(body)
    parsed = read_csv(text) if fmt == "csv" else ImportFile([], read_jsonl(text))
    return ImportFile(parsed.columns, _bounded(parsed.rows))


def iter_rows(body: bytes, fmt: str) -> Iterator[RawRow]:
    """The rows of the file as they are read (``open_file``)."""
    return open_file(body, fmt).rows


def _bounded(rows: Iterator[RawRow]) -> Iterator[RawRow]:
    """At most ``MAX_ROWS`` rows, and at least one: a file with nothing to import (a
    header alone, blank lines) is a mistake to say at once, not an empty job."""
    count = 0
    for count, row in enumerate(rows, start=1):
        if count > MAX_ROWS:
            raise FileRefused(f"more than {MAX_ROWS} rows; split the file")
        yield row
    if count == 0:
        raise FileRefused("the file has no rows to import")


def read_rows(body: bytes, fmt: str) -> list[RawRow]:
    """Every row of the file (``iter_rows``), refused before any is used."""
    return list(iter_rows(body, fmt))
