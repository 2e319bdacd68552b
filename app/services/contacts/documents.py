"""A contact as the API reads it, written by PostgreSQL (app.services.platform.json_sql).

``GET /v1/contacts/{id}`` and ``GET /v1/contacts`` answer with ``READ_JSON``'s text as is;
creates and updates answer with ``ContactRead`` built in Python (``to_read``: their row is
in hand already). Both are the same document: ``tests/test_contact_json.py`` compares them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import literal_column
from sqlalchemy.sql.elements import ColumnElement

from app.models.contacts.reads import ContactRead
from app.models.contacts.tables import Contact
from app.services.contacts.rows import external_ids_of
from app.services.platform import json_object


@dataclass(frozen=True)
class ContactDocument:
    """A contact's API JSON as PostgreSQL wrote it, its version (for the ETag) and id."""

    json: str
    version: int
    id: uuid.UUID


_PERSON = (
    "CASE WHEN contacts.first_name <> '' AND contacts.last_name <> ''"
    " THEN contacts.first_name || ' ' || contacts.last_name"
    " ELSE coalesce(nullif(contacts.first_name, ''), nullif(contacts.last_name, ''), '') END"
)
# ``contact_rows.display_name`` in SQL: "First Last", else the company's name.
DISPLAY_NAME: ColumnElement[str] = literal_column(
    f"CASE WHEN contacts.kind = 'business' OR ({_PERSON}) = ''"
    f" THEN coalesce(nullif(contacts.company_name, ''), {_PERSON}) ELSE {_PERSON} END"
)
READ_JSON: ColumnElement[str] = json_object(
    ContactRead,
    Contact.__table__,
    {"display_name": DISPLAY_NAME, "external_ids": external_ids_of(Contact.__table__.c.id)},
).label("document")
