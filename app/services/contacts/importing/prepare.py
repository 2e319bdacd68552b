"""The part of an import that needs nothing but the row: validation and what follows.

A row is validated by ``ContactCreate`` exactly as a ``POST /v1/contacts`` body is (the
same errors), and what depends only on it is computed here too: the derived row a new
contact would have, its rule errors, its id and its columns as the insert sends them
(``insert.row_json``), its ``contact.created`` event but for what the batch sets, and
for an update the columns it gives with the search forms of its phone numbers. That is
most of an import's Python time (e-mail syntax and a ``phonenumbers`` parse alone are
half of it), so the import runs it for the next batch in another process
(``contacts_import_stage.Lookahead``) and the result is flat data (``Row``).
"""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from app.json_codec import from_json, to_json
from app.models.contacts.inputs import ContactCreate
from app.models.contacts.phones import phone_forms
from app.services.contacts.importing.events import created_body
from app.services.contacts.importing.insert import row_json
from app.services.contacts.importing.parse import RawRow
from app.services.contacts.importing.rows import Row
from app.services.contacts.rows import DEFAULT_ROW, derive, given_columns, rule_errors

Checked = Row | dict[str, Any]  # a valid row, or the error entry of a rejected one
_UNSET = {"version": 1, "last_engaged_at": None, "lapsed_at": None}  # of a new contact


def validate_row(raw: RawRow) -> Checked:
    """The row prepared for writing, or its error entry."""
    if raw.errors:
        return {"line": raw.line, "errors": raw.errors}
    try:
        model = ContactCreate.model_validate(raw.data)
    except ValidationError as exc:
        errors = [
            {"loc": list(e["loc"]), "msg": e["msg"], "value": _scalar(e["input"])}
            for e in exc.errors()
        ]
        return {"line": raw.line, "errors": errors}
    given = given_columns(model)
    forms = {p["number"]: tuple(phone_forms(p["number"])) for p in given.get("phones", ())}
    known = pickle.dumps((given, forms), protocol=pickle.HIGHEST_PROTOCOL)
    # Lists of entries copied: ``derive`` may mark the first one primary in place, and
    # ``given`` must stay as the row gave it for an update (pickled above all the same).
    lists: dict[str, Any] = {k: list(given[k]) for k in ("emails", "phones") if k in given}
    created = derive({**DEFAULT_ROW, **_UNSET, **given, **lists}, forms)
    problems = [p.as_dict() for p in rule_errors(created, prefix=())]
    keys = sorted(model.external_ids.items())
    emails = tuple(e.address for e in model.emails)
    phones = tuple(p.number for p in model.phones)
    if problems:  # it cannot be created: nothing to write for it
        return Row(raw.line, keys, emails, phones, model.owner_id, problems, "", "", "", "", known)
    contact_id = uuid.uuid4()
    columns = row_json(contact_id, created)
    event = created_body(created, dict(keys))
    consent = to_json(created["consent"])
    return Row(
        raw.line,
        keys,
        emails,
        phones,
        model.owner_id,
        problems,
        str(contact_id),
        columns,
        consent,
        event,
        known,
    )


def _scalar(value: Any) -> Any:
    """A refused input as its error shows it: a cell's text or number, not a whole object."""
    return value if isinstance(value, str | int | float) else None


def validate_rows(raw_rows: Sequence[RawRow]) -> list[Checked]:
    """``validate_row`` of each row: pure CPU work."""
    return [validate_row(raw) for raw in raw_rows]


def chunk_rows(document: str) -> list[RawRow]:
    """The rows of a staged chunk (``contacts_import_stage.chunk_json``)."""
    return [RawRow(line, data, errors or []) for line, data, errors in from_json(document)]


def validate_chunk(document: str) -> list[Checked]:
    """``validate_row`` of each row of a staged chunk, run ahead in another process: it
    is handed the chunk's text as stored, so that the app decodes nothing of it."""
    return validate_rows(chunk_rows(document))
