"""Between API schemas and contact rows: columns from input, derived columns, reading back.

Every write path (create, patch, upsert, import, merge) builds the full row here, so the
derived columns (``sort_name``, primary e-mail and phone, the search helpers) can never
disagree with the lists they are derived from.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from app.errors import FieldError, ValidationFailed
from app.models.contacts.inputs import ContactCreate, ContactUpdate
from app.models.contacts.phones import phone_forms
from app.models.contacts.reads import ContactRead
from app.models.contacts.tables import Contact, ContactExternalId
from app.models.platform import Member
from app.services.contacts.name_keys import name_key

# Columns a client controls (directly or through a schema field of the same name).
INPUT_COLUMNS = (
    "kind",
    "first_name",
    "last_name",
    "company_name",
    "company",
    "job_title",
    "emails",
    "phones",
    "address",
    "time_zone",
    "locale",
    "owner_id",
    "segment",
    "allied_category",
    "advocacy_stage",
    "family",
    "interests",
    "tags",
    "custom_fields",
    "consent",
    "do_not_contact",
)
DERIVED_COLUMNS = (
    "sort_name",
    "name_key",
    "primary_email",
    "primary_phone",
    "email_search",
    "phone_search",
    "advocacy_stage_manual",
)
WRITABLE_COLUMNS = (*INPUT_COLUMNS, "advocacy_stage_manual")
JSON_COLUMNS = frozenset({"emails", "phones", "address", "family", "consent", "custom_fields"})
_INPUT = frozenset(INPUT_COLUMNS)
_NESTED = JSON_COLUMNS - {"custom_fields"}  # models inside: dumped as JSON, nulls left out
DEFAULT_ROW: Mapping[str, Any] = {
    "kind": "person",
    "first_name": None,
    "last_name": None,
    "company_name": None,
    "company": None,
    "job_title": None,
    "emails": [],
    "phones": [],
    "address": None,
    "time_zone": None,
    "locale": None,
    "owner_id": None,
    "segment": "prospect",
    "allied_category": None,
    "advocacy_stage": "seeker",
    "advocacy_stage_manual": False,
    "family": [],
    "interests": [],
    "tags": [],
    "custom_fields": {},
    "consent": {},
    "do_not_contact": False,
}


def input_columns(data: ContactCreate | ContactUpdate, *, at: datetime) -> dict[str, Any]:
    """The columns ``data`` sets (only fields the client sent), JSON columns as plain JSON."""
    return stamp_consent(given_columns(data), at=at)


def given_columns(data: ContactCreate | ContactUpdate) -> dict[str, Any]:
    """``input_columns`` but for the time of consent entries given without one.

    Everything here follows from the body alone, so an import computes it in another
    process (``contacts_import_prepare``) and only stamps the time of its batch.
    """
    sent = data.model_fields_set & _INPUT
    # Custom fields are JSON as parsed (the same in either mode), and their null values
    # are the client's data: dumped with the plain columns, without ``exclude_none``.
    values = data.model_dump(include=sent - _NESTED)
    nested = sent & _NESTED
    if nested:
        values.update(data.model_dump(mode="json", include=nested, exclude_none=True))
    if "address" in sent and data.address is None:
        values["address"] = None
    if "advocacy_stage" in values:
        if values["advocacy_stage"] is None:
            del values["advocacy_stage"]
        else:
            values["advocacy_stage_manual"] = True
    return values


def stamp_consent(values: dict[str, Any], *, at: datetime) -> dict[str, Any]:
    """Consent entries given without a time are given ``at`` (in place; returns ``values``)."""
    if "consent" in values:
        values["consent"] = {
            channel: {**entry, "at": entry.get("at") or at.isoformat()}
            for channel, entry in values["consent"].items()
        }
    return values


def derive(row: dict[str, Any], forms: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """Fill the derived columns of a full row (in place) and return it.

    ``forms`` are search forms of phone numbers already known (``phone_forms`` of each),
    for a caller whose numbers were parsed in another process: parsing them again here
    would cost more than everything else ``derive`` does.
    """
    if row["kind"] == "business" or not (row["first_name"] or row["last_name"]):
        name = row["company_name"] or ""
    else:
        name = " ".join(p for p in (row["last_name"], row["first_name"]) if p)
    row["sort_name"] = name.lower()[:600]
    row["name_key"] = name_key(row["sort_name"])
    for entries in (row["emails"], row["phones"]):
        if entries and not any(e["primary"] for e in entries):
            entries[0] = {**entries[0], "primary": True}
    emails = [e["address"] for e in row["emails"]]
    phones = [p["number"] for p in row["phones"]]
    row["primary_email"] = next((e["address"] for e in row["emails"] if e["primary"]), None)
    row["primary_phone"] = next((p["number"] for p in row["phones"] if p["primary"]), None)
    email_words: list[str] = []
    for address in emails:
        local, _, domain = address.rpartition("@")
        email_words += [address, local, domain]
    row["email_search"] = " ".join(dict.fromkeys(email_words))[:4000] or None
    known = forms or {}
    phone_words = [
        form
        for number in phones
        for form in (known[number] if number in known else phone_forms(number))
    ]
    row["phone_search"] = " ".join(dict.fromkeys(phone_words))[:2000] or None
    return row


def rule_errors(row: Mapping[str, Any], prefix: tuple[str, ...] = ("body",)) -> list[FieldError]:
    """Rules over the whole row; ``prefix`` is where the fields sit in the client's input."""
    errors: list[FieldError] = []
    if row["kind"] == "person" and not (row["first_name"] or row["last_name"]):
        errors.append(FieldError([*prefix, "first_name"], "a person needs a first or last name"))
    if row["kind"] == "business" and not row["company_name"]:
        errors.append(FieldError([*prefix, "company_name"], "a business needs a company name"))
    if row["segment"] == "allied_resource" and not row["allied_category"]:
        errors.append(FieldError([*prefix, "allied_category"], "required for allied resources"))
    if row["segment"] != "allied_resource" and row["allied_category"]:
        errors.append(
            FieldError([*prefix, "allied_category"], "only allied resources have a category")
        )
    return errors


def check_rules(row: Mapping[str, Any]) -> None:
    errors = rule_errors(row)
    if errors:
        first = errors[0]
        raise ValidationFailed(
            detail=f"{'.'.join(str(p) for p in first.loc)}: {first.msg}", errors=errors
        )


async def check_member(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    member_id: uuid.UUID | None,
    field: str = "owner_id",
) -> None:
    """A member referenced from a body must exist in the workspace: else 422 naming ``field``."""
    if member_id is None:
        return
    stmt = select(col(Member.id)).where(
        col(Member.workspace_id) == workspace_id, col(Member.id) == member_id
    )
    if (await session.execute(stmt)).first() is None:
        raise ValidationFailed.on(["body", field], "no such member in this workspace")


def external_ids_of(contact_id: Any) -> ColumnElement[Any]:
    """``{source: external_id}`` of a contact, as one correlated subquery.

    Built on the tables rather than the mapped classes, so a statement of plain columns
    that includes it stays a Core statement (no ORM compile and execution step).
    """
    ids = ContactExternalId.__table__.c
    agg = func.coalesce(
        func.jsonb_object_agg(ids.source, ids.external_id),
        literal_column("'{}'::jsonb"),
        type_=JSONB,
    )
    return (
        select(agg)
        .where(
            ids.workspace_id == Contact.__table__.c.workspace_id,
            ids.contact_id == contact_id,
        )
        .scalar_subquery()
    )


_HIDDEN = ("search", "name_key", "workspace_id")  # for indexes, never returned
STORED_COLUMNS = [c for c in Contact.__table__.columns if c.name not in _HIDDEN]
READ_COLUMNS: list[ColumnElement[Any]] = [
    *STORED_COLUMNS,
    external_ids_of(Contact.__table__.c.id).label("external_ids"),
]


def display_name(row: Mapping[str, Any]) -> str:
    first, last = row["first_name"], row["last_name"]
    person = f"{first} {last}" if first and last else (first or last or "")
    if row["kind"] == "business" or not person:
        return str(row["company_name"] or person)
    return person


def to_read(row: Mapping[str, Any], external_ids: Mapping[str, str] | None = None) -> ContactRead:
    values = dict(row)
    values["display_name"] = display_name(row)
    if external_ids is not None:
        values["external_ids"] = external_ids
    return ContactRead.model_validate(values)
