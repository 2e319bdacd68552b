"""Contacts: read one, change it, erase it.

Writes go through Core statements with ``RETURNING`` and reads select columns, because
contacts are the hottest resource of the API (every sync and every screen touches them);
``app.services.contacts.rows`` keeps the derived columns in step on every path. Creating
one is ``creation``, upserting by a CRM's id ``upsert``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    bindparam,
    delete,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.driver import (
    DriverStatement,
    fetch_row,
)
from app.errors import NotFound
from app.models.contacts.events import ContactDeletedData, ContactUpdatedData
from app.models.contacts.inputs import ContactUpdate
from app.models.contacts.reads import ContactRead
from app.models.contacts.tables import Contact, ContactExternalId
from app.services import touches
from app.services.contacts.documents import READ_JSON, ContactDocument
from app.services.contacts.erasure import scrub_copies
from app.services.contacts.external_ids import replace_external_ids
from app.services.contacts.rows import (
    READ_COLUMNS,
    STORED_COLUMNS,
    WRITABLE_COLUMNS,
    check_member,
    check_rules,
    derive,
    input_columns,
    to_read,
)
from app.services.platform import (
    changes_between,
    check_version,
    guard_path_parameter,
    owner_or_shared,
    record_change,
    record_event,
    restricted,
    row_check,
    viewer_binds,
    where_visible,
)


def event_data(contact: ContactRead) -> dict[str, Any]:
    return contact.model_dump(mode="json")


async def require_contact(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID
) -> None:
    """404 unless the contact exists in this workspace (for routes nested under it)."""
    stmt = select(col(Contact.id)).where(
        col(Contact.workspace_id) == workspace_id, col(Contact.id) == contact_id
    )
    if (await session.execute(stmt)).first() is None:
        raise NotFound("contact not found")


# Built once: a statement built per call spent more CPU on construction and its cache key
# than on the query (py-spy on GET /v1/contacts/{id}). Table columns keep it Core.
_CONTACTS = Contact.__table__
_EXTERNAL_IDS = ContactExternalId.__table__
_BY_ID = select(*READ_COLUMNS).where(
    _CONTACTS.c.workspace_id == bindparam("workspace_id"),
    _CONTACTS.c.id == bindparam("contact_id"),
)
_BY_ID_LOCKED = _BY_ID.with_for_update(of=_CONTACTS)
# Every route naming a contact in its path (``/v1/contacts/{contact_id}/…``) is checked
# against the viewer before its handler runs.
guard_path_parameter("contact_id", row_check(_CONTACTS, ["id"]), "contact")
_DOCUMENT_BY_ID = DriverStatement(
    select(READ_JSON, _CONTACTS.c.version).where(
        _CONTACTS.c.workspace_id == bindparam("workspace_id"),
        _CONTACTS.c.id == bindparam("contact_id"),
    )
)
_DOCUMENT_BY_ID_OWN = DriverStatement(
    _DOCUMENT_BY_ID.statement.where(
        owner_or_shared(_CONTACTS.c.workspace_id, _CONTACTS.c.id, _CONTACTS.c.owner_id)
    )
)


async def _load_row(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID, *, lock: bool = False
) -> dict[str, Any]:
    stmt = where_visible(_BY_ID_LOCKED if lock else _BY_ID, _CONTACTS, ["id"])
    params = {"workspace_id": workspace_id, "contact_id": contact_id}
    row = (await session.execute(stmt, params)).first()
    if row is None:
        raise NotFound("contact not found")
    found: dict[str, Any] = row._asdict()
    return found


async def get_contact(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID
) -> ContactDocument:
    """A contact by id as its JSON, written by PostgreSQL (``READ_JSON``), read on the
    driver (``fetch_row``): the busiest read. For a member who sees only their own, the
    same statement carries the visibility condition (``checks_visibility``)."""
    params = {"workspace_id": workspace_id, "contact_id": contact_id}
    statement = _DOCUMENT_BY_ID
    if restricted() is not None:  # the route leaves the check to this statement
        statement = _DOCUMENT_BY_ID_OWN
        params.update(viewer_binds())
    row = await fetch_row(session, statement, params)
    if row is None:
        raise NotFound("contact not found")
    return ContactDocument(row["document"], row["version"], contact_id)


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
        .where(col(Contact.workspace_id) == workspace_id, col(Contact.id) == contact_id)
        .values(**row, version=col(Contact.version) + 1, updated_at=at)
        .returning(*STORED_COLUMNS)
    )
    stored = (await session.execute(stmt)).mappings().one()
    external_ids = current["external_ids"]
    if new_ids is not None and "external_ids" in changed:
        external_ids = await replace_external_ids(session, workspace_id, contact_id, new_ids)
    contact = to_read(dict(stored), external_ids)
    after = {**stored, "external_ids": external_ids}
    await record_change(
        session,
        workspace_id,
        action="contact.updated",
        resource_type="contact",
        resource_id=contact_id,
        changes=changes_between(current, after, changed),
        at=at,
    )
    fields = [c for c in changed if c != "advocacy_stage_manual"]
    data = ContactUpdatedData(**dict(contact), changed_fields=fields).model_dump(mode="json")
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
    """Touches follow the contact: do-not-contact holds what is pending and pauses its
    plans (clearing it resumes them), a change of consent skips or re-plans touches on
    the channels concerned; a new segment or tag may enter a plan's audience (enrolled
    once per plan, ever), and so may a new owner (a plan that names the member)."""
    if "do_not_contact" in changed and row["do_not_contact"]:
        await touches.hold_for_do_not_contact(session, workspace_id, [contact_id], at)
    elif "do_not_contact" in changed:
        await touches.resume_after_do_not_contact(session, workspace_id, [contact_id], at)
    if "consent" in changed and not row["do_not_contact"]:
        await touches.reconsider_consent(session, workspace_id, [contact_id], at)
    if "segment" in changed or "tags" in changed or "owner_id" in changed:
        await touches.auto_enroll(session, workspace_id, [contact_id], at)
    if "time_zone" in changed:
        await touches.replan_contact(session, workspace_id, contact_id, at=at)


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
        .where(col(Contact.workspace_id) == workspace_id, col(Contact.id) == contact_id)
        .returning(col(Contact.id))
    )
    if (await session.execute(stmt)).first() is None:
        raise NotFound("contact not found")
    data = ContactDeletedData(id=contact_id).model_dump(mode="json")
    await record_event(session, workspace_id, "contact.deleted", data, at=at)
    await record_change(
        session,
        workspace_id,
        action="contact.deleted",
        resource_type="contact",
        resource_id=contact_id,
        at=at,
    )
