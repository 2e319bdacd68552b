"""Contacts: create, read, change, erase, and upsert by a CRM's id.

Writes go through Core statements with ``RETURNING`` and reads select columns, because
contacts are the hottest resource of the API (every sync and every screen touches them);
``app.services.contacts.rows`` keeps the derived columns in step on every path.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    CTE,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import (
    DriverStatement,
    can_write_alone,
    fetch_row,
    fetch_sole_write,
    fetch_written_row,
)
from app.errors import Conflict, NotFound
from app.models.contacts.schemas import ContactCreate, ContactRead, ContactUpdate, ContactUpsert
from app.models.contacts.tables import Contact, ContactExternalId
from app.services import platform, touches
from app.services.contacts.documents import READ_JSON, ContactDocument
from app.services.contacts.erasure import scrub_copies
from app.services.contacts.rows import (
    DEFAULT_ROW,
    DERIVED_COLUMNS,
    READ_COLUMNS,
    STORED_COLUMNS,
    WRITABLE_COLUMNS,
    check_member,
    check_rules,
    derive,
    input_columns,
    to_read,
)
from app.services.platform import check_version, record_event


def event_data(contact: ContactRead) -> dict[str, Any]:
    return contact.model_dump(mode="json")


async def require_contact(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID
) -> None:
    """404 unless the contact exists in this workspace (for routes nested under it)."""
    stmt = select(Contact.id).where(Contact.workspace_id == workspace_id, Contact.id == contact_id)
    if (await session.execute(stmt)).first() is None:
        raise NotFound("contact not found")


# Built once: a statement built per call spent more CPU on construction and its cache key
# than on the query (py-spy on GET /v1/contacts/{id}). Table columns keep it Core.
_CONTACTS = cast(Table, Contact.__table__)
_EXTERNAL_IDS = cast(Table, ContactExternalId.__table__)
_BY_ID = select(*READ_COLUMNS).where(
    _CONTACTS.c.workspace_id == bindparam("workspace_id"),
    _CONTACTS.c.id == bindparam("contact_id"),
)
_BY_ID_LOCKED = _BY_ID.with_for_update(of=_CONTACTS)
_DOCUMENT_BY_ID = DriverStatement(
    select(READ_JSON, _CONTACTS.c.version).where(
        _CONTACTS.c.workspace_id == bindparam("workspace_id"),
        _CONTACTS.c.id == bindparam("contact_id"),
    )
)


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
    with its webhook deliveries: the event's data is the contact's API document, built in
    Python from the row the statement inserts (``to_read``: bind ``document``).

    Python builds the document in 6 us; PostgreSQL's ``READ_JSON`` over the new row cost
    0.12-0.2 ms of its CPU a create with 64 in flight (and the server writes the answer
    either way). ``tests/test_contact_json.py`` holds the two forms to one document.
    """
    doc = select(new.c.workspace_id, bindparam("document", type_=String).label("data"))
    recorded, deliveries = platform.recorded_with(doc.cte("doc"), "contact.created")
    return DriverStatement(
        select(new.c.id, *[c.label(name) for name, c in columns.items()]).add_cte(
            recorded, deliveries, *ctes
        )
    )


# What the statement's other steps read of the new row (``auto_enroll_pick``, the claims).
_AUDIENCE = ("workspace_id", "id", "segment", "tags", "do_not_contact")
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


async def _load_row(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID, *, lock: bool = False
) -> dict[str, Any]:
    stmt = _BY_ID_LOCKED if lock else _BY_ID
    params = {"workspace_id": workspace_id, "contact_id": contact_id}
    row = (await session.execute(stmt, params)).first()
    if row is None:
        raise NotFound("contact not found")
    return row._asdict()


async def get_contact(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID
) -> ContactDocument:
    """A contact by id as its JSON, written by PostgreSQL (``READ_JSON``), read on the
    driver (``fetch_row``): the busiest read."""
    params = {"workspace_id": workspace_id, "contact_id": contact_id}
    row = await fetch_row(session, _DOCUMENT_BY_ID, params)
    if row is None:
        raise NotFound("contact not found")
    return ContactDocument(row["document"], row["version"], contact_id)


async def _claim_external_ids(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_id: uuid.UUID,
    external_ids: Mapping[str, str],
) -> list[tuple[str, str]]:
    """Point ``external_ids`` at the contact; returns the keys another contact already holds.

    ``ON CONFLICT DO NOTHING`` waits for a concurrent writer of the same key to finish, so
    a key is never claimed twice even when both writers looked it up before either wrote.
    """
    if not external_ids:
        return []
    rows = [
        {"workspace_id": workspace_id, "source": s, "external_id": e, "contact_id": contact_id}
        for s, e in external_ids.items()
    ]
    stmt = (
        pg_insert(ContactExternalId)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(ContactExternalId.source, ContactExternalId.external_id)
    )
    claimed = {(r.source, r.external_id) for r in await session.execute(stmt)}
    taken = [k for k in external_ids.items() if k not in claimed]
    if taken:  # a key may already be ours: only keys of another contact are lost
        owners = select(ContactExternalId.source, ContactExternalId.external_id).where(
            ContactExternalId.workspace_id == workspace_id,
            ContactExternalId.contact_id == contact_id,
        )
        ours = {(r.source, r.external_id) for r in await session.execute(owners)}
        taken = [k for k in taken if k not in ours]
    return taken


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
        **platform.RECORD_PARAMS,
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


def _conflict(taken: list[tuple[str, str]]) -> Conflict:
    keys = ", ".join(f"{s}/{e}" for s, e in taken)
    return Conflict(f"external id {keys} already belongs to another contact")


async def create_contact(
    session: AsyncSession, workspace_id: uuid.UUID, data: ContactCreate, *, at: datetime
) -> ContactDocument:
    values = {**input_columns(data, at=at)}
    contact, taken = await insert_contact(session, workspace_id, values, data.external_ids, at=at)
    if taken:
        raise _conflict(taken)
    return contact


async def update_contact(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_id: uuid.UUID,
    changes: ContactUpdate,
    *,
    expected_version: int | None = None,
    at: datetime,
) -> ContactRead:
    current = await _load_row(session, workspace_id, contact_id, lock=True)
    check_version(current["version"], expected_version)
    values = input_columns(changes, at=at)
    if values.get("segment", "allied_resource") != "allied_resource":
        values.setdefault("allied_category", None)
    changed = sorted(k for k, v in values.items() if current[k] != v)
    new_ids = changes.external_ids if "external_ids" in changes.model_fields_set else None
    if new_ids is not None and dict(new_ids) != current["external_ids"]:
        changed.append("external_ids")
    if not changed:
        return to_read(current)
    row = derive({k: values.get(k, current[k]) for k in WRITABLE_COLUMNS})
    check_rules(row)
    if "owner_id" in values:
        await check_member(session, workspace_id, row["owner_id"])
    stmt = (
        update(Contact)
        .where(Contact.workspace_id == workspace_id, Contact.id == contact_id)
        .values(**row, version=Contact.version + 1, updated_at=at)
        .returning(*STORED_COLUMNS)
    )
    stored = (await session.execute(stmt)).mappings().one()
    external_ids = current["external_ids"]
    if new_ids is not None and "external_ids" in changed:
        external_ids = await _replace_external_ids(session, workspace_id, contact_id, new_ids)
    contact = to_read(dict(stored), external_ids)
    fields = [c for c in changed if c != "advocacy_stage_manual"]
    data = {**event_data(contact), "changed_fields": fields}
    await record_event(session, workspace_id, "contact.updated", data, at=at)
    await _touch_hooks(session, workspace_id, contact_id, changed, row, at=at)
    return contact


async def _touch_hooks(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_id: uuid.UUID,
    changed: list[str],
    row: Mapping[str, Any],
    *,
    at: datetime,
) -> None:
    """Touches follow the contact: do-not-contact cancels what is planned; a new segment
    or tag may enter a plan's audience (enrolled once per plan, ever)."""
    if "do_not_contact" in changed and row["do_not_contact"]:
        await touches.cancel_future_touches(session, workspace_id, contact_id, "do_not_contact", at)
    if "segment" in changed or "tags" in changed:
        await touches.auto_enroll(session, workspace_id, [contact_id], at)
    if "time_zone" in changed:
        await touches.replan_contact(session, workspace_id, contact_id, at=at)


async def _replace_external_ids(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_id: uuid.UUID,
    external_ids: Mapping[str, str],
) -> dict[str, str]:
    stale = delete(ContactExternalId).where(
        ContactExternalId.workspace_id == workspace_id,
        ContactExternalId.contact_id == contact_id,
    )
    await session.execute(stale)
    taken = await _claim_external_ids(session, workspace_id, contact_id, external_ids)
    if taken:
        raise _conflict(taken)
    return dict(external_ids)


async def delete_contact(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID, *, at: datetime
) -> None:
    """Erase the contact; what hangs off it goes with it through ``ON DELETE CASCADE``,
    and copies no key reaches (events, stored responses, referral notes) are scrubbed.

    The event carries only the id: an erasure request must not copy the person's data
    into the outbox on its way out.
    """
    await scrub_copies(session, workspace_id, contact_id, at=at)
    stmt = (
        delete(Contact)
        .where(Contact.workspace_id == workspace_id, Contact.id == contact_id)
        .returning(Contact.id)
    )
    if (await session.execute(stmt)).first() is None:
        raise NotFound("contact not found")
    await record_event(session, workspace_id, "contact.deleted", {"id": str(contact_id)}, at=at)


async def _find_by_external_id(
    session: AsyncSession, workspace_id: uuid.UUID, source: str, external_id: str
) -> uuid.UUID | None:
    stmt = select(ContactExternalId.contact_id).where(
        ContactExternalId.workspace_id == workspace_id,
        ContactExternalId.source == source,
        ContactExternalId.external_id == external_id,
    )
    return (await session.execute(stmt)).scalar_one_or_none()


class _LostRace(Exception):
    """Another transaction claimed the external id first; undo our insert and update theirs."""


async def upsert_by_external_id(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    source: str,
    external_id: str,
    body: ContactUpsert,
    *,
    at: datetime,
) -> tuple[ContactDocument, bool]:
    """Create (``True``) or update the contact a CRM knows as ``source/external_id``.

    Concurrent calls for the same id create one contact: the insert runs in a savepoint
    and the external-id claim waits for a concurrent claimer; the loser rolls back its
    savepoint and updates the winner's contact instead.
    """
    changes = body
    if "external_ids" in body.model_fields_set and body.external_ids is not None:
        merged_ids = {**body.external_ids, source: external_id}
        changes = body.model_copy(update={"external_ids": merged_ids})
    existing = await _find_by_external_id(session, workspace_id, source, external_id)
    if existing is None:
        ids = {**(changes.external_ids or {}), source: external_id}
        try:
            async with session.begin_nested():
                values = input_columns(changes, at=at)
                created, taken = await insert_contact(session, workspace_id, values, ids, at=at)
                if (source, external_id) in taken:
                    raise _LostRace
                if taken:
                    raise _conflict(taken)
                return created, True
        except _LostRace:
            existing = await _find_by_external_id(session, workspace_id, source, external_id)
            if existing is None:  # the winner was erased meanwhile; let the client retry
                raise Conflict("a concurrent change to this external id; retry") from None
    contact = await update_contact(session, workspace_id, existing, changes, at=at)
    return ContactDocument(contact.model_dump_json(), contact.version, contact.id), False
