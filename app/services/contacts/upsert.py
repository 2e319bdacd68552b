"""Upserting a contact by the id a CRM knows it by: create it, or update the one that holds
the id, with concurrent calls for one id making one contact.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict
from app.models.contacts.inputs import ContactUpsert
from app.services.contacts.creation import insert_contact
from app.services.contacts.documents import ContactDocument
from app.services.contacts.external_ids import conflict, find_by_external_id
from app.services.contacts.people import update_contact
from app.services.contacts.rows import (
    input_columns,
)


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
    existing = await find_by_external_id(session, workspace_id, source, external_id)
    if existing is None:
        ids = {**(changes.external_ids or {}), source: external_id}
        try:
            async with session.begin_nested():
                values = input_columns(changes, at=at)
                created, taken = await insert_contact(session, workspace_id, values, ids, at=at)
                if (source, external_id) in taken:
                    raise _LostRace
                if taken:
                    raise conflict(taken)
                return created, True
        except _LostRace:
            existing = await find_by_external_id(session, workspace_id, source, external_id)
            if existing is None:  # the winner was erased meanwhile; let the client retry
                raise Conflict("a concurrent change to this external id; retry") from None
    contact = await update_contact(session, workspace_id, existing, changes, at=at)
    return ContactDocument(contact.model_dump_json(), contact.version, contact.id), False
