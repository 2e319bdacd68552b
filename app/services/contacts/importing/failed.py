"""The rows an import refused, as a file to fix and import again.

A CSV comes back with its header and an ``error`` column first (the one column every
refused row fills, however many cells the row had), then the row's cells as the file
had them: a row the reader could not take whole (an unterminated quote, the wrong
number of cells) is given as its first line's cells, read leniently. JSON Lines come
back as the objects with an ``error`` key first. ``error`` is a column the import
ignores (``parse.IGNORED``), so the fixed file imports as it is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from app.json_codec import from_json, to_json
from app.services.contacts.importing.parse import decoded
from app.services.contacts.importing.records import read_records


def _messages(errors: Sequence[Mapping[str, Any]]) -> dict[int, str]:
    """Each refused line's problems in one cell: ``column: message; ...``."""
    out: dict[int, str] = {}
    for error in errors:
        parts = [
            f"{p['column']}: {p['message']}" if p.get("column") else str(p.get("message", ""))
            for p in error.get("errors", ())
        ]
        out[int(error["line"])] = "; ".join(parts) or str(error.get("message", ""))
    return out


def failed_rows(body: bytes, fmt: str, errors: Sequence[Mapping[str, Any]]) -> str:
    """The refused rows of the file ``body`` (``errors``: the job's ``errors``), with
    their problems, in the file's own format."""
    messages = _messages(errors)
    text = decoded(body)
    out = io.StringIO()
    if fmt != "csv":
        for number, line in enumerate(text.split("\n"), start=1):
            if number in messages:
                try:
                    value = from_json(line)
                except ValueError:
                    value = None
                fields = value if isinstance(value, dict) else {"text": line}
                out.write(to_json({"error": messages[number], **fields}) + "\n")
        return out.getvalue()
    writer = csv.writer(out, lineterminator="\n")
    header, records = read_records(text)
    writer.writerow(["error", *header])
    for record in records:
        if record.line in messages:
            cells = record.cells or next(csv.reader([record.text]), [])
            writer.writerow([messages[record.line], *cells])
    return out.getvalue()
