"""A contact's CRM identities: ``(source, external_id)`` keys, each held by one contact of
the workspace, claimed so that two concurrent writers never both get one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy import (
    delete,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict
from app.models.contacts.tables import ContactExternalId


def conflict(taken: list[tuple[str, str]]) -> Conflict:
    keys = ", ".join(f"{s}/{e}" for s, e in taken)
    return Conflict(f"external id {keys} already belongs to another contact")


async def claim_external_ids(
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
        .returning(col(ContactExternalId.source), col(ContactExternalId.external_id))
    )
    claimed = {(r.source, r.external_id) for r in await session.execute(stmt)}
    taken = [k for k in external_ids.items() if k not in claimed]
    if taken:  # a key may already be ours: only keys of another contact are lost
        owners = select(col(ContactExternalId.source), col(ContactExternalId.external_id)).where(
            col(ContactExternalId.workspace_id) == workspace_id,
            col(ContactExternalId.contact_id) == contact_id,
        )
        ours = {(r.source, r.external_id) for r in await session.execute(owners)}
        taken = [k for k in taken if k not in ours]
    return taken


async def replace_external_ids(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_id: uuid.UUID,
    external_ids: Mapping[str, str],
) -> dict[str, str]:
    stale = delete(ContactExternalId).where(
        col(ContactExternalId.workspace_id) == workspace_id,
        col(ContactExternalId.contact_id) == contact_id,
    )
    await session.execute(stale)
    taken = await claim_external_ids(session, workspace_id, contact_id, external_ids)
    if taken:
        raise conflict(taken)
    return dict(external_ids)


async def find_by_external_id(
    session: AsyncSession, workspace_id: uuid.UUID, source: str, external_id: str
) -> uuid.UUID | None:
    stmt = select(col(ContactExternalId.contact_id)).where(
        col(ContactExternalId.workspace_id) == workspace_id,
        col(ContactExternalId.source) == source,
        col(ContactExternalId.external_id) == external_id,
    )
    return (await session.execute(stmt)).scalar_one_or_none()
