"""Creating a contact: one statement writes the row, its CRM ids, its enrolments and its
``contact.created`` event; when that is the whole unit of work it commits on its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    CTE,
    String,
    bindparam,
    func,
    insert,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.driver import (
    DriverStatement,
    can_write_alone,
    fetch_sole_write,
    fetch_written_row,
)
from app.models.contacts.inputs import ContactCreate
from app.models.contacts.tables import Contact, ContactExternalId
from app.services import platform, touches
from app.services.contacts.documents import ContactDocument
from app.services.contacts.external_ids import conflict
from app.services.contacts.rows import (
    DEFAULT_ROW,
    DERIVED_COLUMNS,
    check_member,
    check_rules,
    derive,
    input_columns,
    to_read,
)

_CONTACTS = Contact.__table__
_EXTERNAL_IDS = ContactExternalId.__table__


def _given_row() -> dict[str, Any]:
    """The new contact's columns as bind parameters: ``insert_contact`` always passes a
    full row (``DEFAULT_ROW`` and the derived columns), so each statement and its
    compiled form are built once."""
    names = dict.fromkeys(
        ("workspace_id", "id", *DEFAULT_ROW, *DERIVED_COLUMNS, "version", "created_at")
    )
    values: dict[str, Any] = {n: bindparam(n, type_=_CONTACTS.c[n].type) for n in names}
    values["updated_at"] = values["created_at"]
    return values


def _answered(new: CTE, *ctes: CTE, **columns: Any) -> DriverStatement:
    """The statement's answer over the new row ``new``, after recording ``contact.created``
    with its webhook deliveries and its audit log row: the event's data is the contact's
    API document, built in Python from the row the statement inserts (``to_read``: bind
    ``document``).

    Python builds the document in 6 us; PostgreSQL's ``READ_JSON`` over the new row cost
    0.12-0.2 ms of its CPU a create with 64 in flight (and the server writes the answer
    either way). ``tests/test_contact_json.py`` holds the two forms to one document.
    """
    doc = select(new.c.workspace_id, bindparam("document", type_=String).label("data"))
    recorded, deliveries = platform.recorded_with(doc.cte("doc"), "contact.created")
    audited = platform.audited_with(new, "contact.created", "contact")
    return DriverStatement(
        select(new.c.id, *[c.label(name) for name, c in columns.items()]).add_cte(
            recorded, deliveries, audited, *ctes
        )
    )


# What the statement's other steps read of the new row (``auto_enroll_pick``, the claims).
_AUDIENCE = ("workspace_id", "id", "segment", "tags", "do_not_contact", "owner_id")
_RETURNED = [_CONTACTS.c[n] for n in _AUDIENCE]


def _create_statement() -> DriverStatement:
    """Create a contact in one statement: the row, its external ids, its enrolments in the
    plans whose audience it is in, and what ``_answered`` adds.

    Each step is a data-modifying CTE over the row the insert returns (the table would not
    show the new row to the same statement), so a create costs one round trip where the
    insert, the event and the document had cost three.
    """
    new = insert(_CONTACTS).values(_given_row()).returning(*_RETURNED).cte("contacts")
    enrolled = touches.auto_enroll_insert(new).cte("enrolled")
    given = (
        func.unnest(
            bindparam("sources", type_=ARRAY(String)),
            bindparam("external_ids", type_=ARRAY(String)),
        )
        .table_valued("source", "external_id")
        .render_derived(name="given")
    )
    ids = _EXTERNAL_IDS.c
    claimed = (
        pg_insert(_EXTERNAL_IDS)
        .from_select(
            ["workspace_id", "source", "external_id", "contact_id"],
            select(new.c.workspace_id, given.c.source, given.c.external_id, new.c.id).select_from(
                new.join(given, true())
            ),
        )
        .on_conflict_do_nothing()
        .returning(ids.source, ids.external_id)
        .cte("claimed")
    )
    return _answered(
        new,
        enrolled,
        claimed,
        enrolled=select(func.array_agg(enrolled.c.id)).scalar_subquery(),
        claimed=select(
            func.array_agg(claimed.c.source + "/" + claimed.c.external_id)
        ).scalar_subquery(),
    )


def _create_alone_statement() -> DriverStatement:
    """``_create_statement`` for a create that is this one statement, committed on its own
    (``fetch_sole_write``): a contact without external ids that no plan enrols.

    When a plan would enrol the contact it inserts nothing and returns no row: planning
    the enrolment's touches takes more statements, in one transaction, so the caller then
    creates the contact the other way. Having neither an enrolment nor a claim to insert,
    it names neither table as a target: each target is opened with all its indexes, even
    for no row (without them PostgreSQL spent 0.36 ms on the statement against 0.38 ms,
    one asyncpg connection, 9,000 runs each).
    """
    values = _given_row()
    candidate = select(*[values[n].label(n) for n in _AUDIENCE]).subquery("candidate")
    would_enrol = touches.auto_enroll_pick(candidate).exists()
    new = (
        insert(_CONTACTS)
        .from_select(list(values), select(*values.values()).where(~would_enrol))
        .returning(*_RETURNED)
        .cte("contacts")
    )
    return _answered(new)


_CREATE = _create_statement()
_CREATE_ALONE = _create_alone_statement()


async def insert_contact(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    values: Mapping[str, Any],
    external_ids: Mapping[str, str],
    *,
    at: datetime,
) -> tuple[ContactDocument, list[tuple[str, str]]]:
    """Create a contact from validated input columns (``_CREATE``: enrolled by
    ``auto_enroll``'s rules, ``contact.created`` recorded) and plan its enrolments' touches;
    returns its document and the external ids another contact holds (the caller refuses
    the create when there are any, rolling it all back)."""
    actor = platform.current_actor()
    if actor.type == "member" and values.get("owner_id") is None:
        values = {**values, "owner_id": actor.id}  # a member's new contact is theirs
    row = derive({**DEFAULT_ROW, **values})
    check_rules(row)
    contact_id = uuid.uuid4()
    start = at.date()
    stored = {
        **row,
        "id": contact_id,
        "last_engaged_at": None,
        "lapsed_at": None,
        "version": 1,
        "created_at": at,
        "updated_at": at,
    }
    document = to_read(stored, external_ids).model_dump_json()
    params = {
        **row,
        **platform.record_params(),
        **platform.audit_params(),
        "workspace_id": workspace_id,
        "id": contact_id,
        "version": 1,
        "created_at": at,
        "start": start,
        "horizon": start - timedelta(days=1),
        "at": at,
        "sources": list(external_ids),
        "external_ids": list(external_ids.values()),
        "document": document,
    }
    if not external_ids and can_write_alone(session):
        try:
            alone = await fetch_sole_write(session, _CREATE_ALONE, params)
        except IntegrityError:  # an owner who is no member: the other way names the field
            alone = None
        if alone is not None:
            return ContactDocument(document, 1, contact_id), []
    await check_member(session, workspace_id, row["owner_id"])
    created = await fetch_written_row(session, _CREATE, params)
    assert created is not None  # an INSERT … VALUES returns its row
    claimed = set(created["claimed"] or ())
    taken = [(s, e) for s, e in external_ids.items() if f"{s}/{e}" not in claimed]
    enrolled: list[uuid.UUID] = created["enrolled"] or []
    if enrolled and not taken:
        keys = [(workspace_id, i) for i in enrolled[: touches.SYNC_LIMIT]]
        await touches.materialize(session, keys, at=at)
    return ContactDocument(document, 1, contact_id), taken


async def create_contact(
    session: AsyncSession, workspace_id: uuid.UUID, data: ContactCreate, *, at: datetime
) -> ContactDocument:
    values = {**input_columns(data, at=at)}
    contact, taken = await insert_contact(session, workspace_id, values, data.external_ids, at=at)
    if taken:
        raise conflict(taken)
    return contact
