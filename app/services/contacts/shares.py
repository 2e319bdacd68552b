"""Sharing a contact with members besides its owner (record visibility ``own``).

An agent sees the contacts they own and those shared with them; sharing is how a team
hands a relationship to a second agent without moving its ownership.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import NotFound
from app.models.contacts.shares import ContactShareRead
from app.models.contacts.tables import ContactShare
from app.models.platform import Member
from app.services.contacts.people import require_contact


async def list_shares(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID
) -> list[ContactShareRead]:
    await require_contact(session, workspace_id, contact_id)
    stmt = (
        select(ContactShare)
        .where(
            col(ContactShare.workspace_id) == workspace_id,
            col(ContactShare.contact_id) == contact_id,
        )
        .order_by(col(ContactShare.created_at), col(ContactShare.member_id))
    )
    rows = (await session.execute(stmt)).scalars().all()
    return [ContactShareRead.model_validate(r) for r in rows]


async def share(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_id: uuid.UUID,
    member_id: uuid.UUID,
    *,
    at: datetime,
) -> ContactShareRead:
    """Share the contact with a member (sharing twice changes nothing)."""
    await require_contact(session, workspace_id, contact_id)
    known = select(col(Member.id)).where(
        col(Member.workspace_id) == workspace_id, col(Member.id) == member_id
    )
    if (await session.execute(known)).first() is None:
        raise NotFound("member not found")
    stmt = (
        insert(ContactShare)
        .values(
            workspace_id=workspace_id, contact_id=contact_id, member_id=member_id, created_at=at
        )
        .on_conflict_do_nothing()
    )
    await session.execute(stmt)
    found = await session.execute(
        select(ContactShare).where(
            col(ContactShare.workspace_id) == workspace_id,
            col(ContactShare.contact_id) == contact_id,
            col(ContactShare.member_id) == member_id,
        )
    )
    return ContactShareRead.model_validate(found.scalar_one())


async def unshare(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID, member_id: uuid.UUID
) -> None:
    await require_contact(session, workspace_id, contact_id)
    stmt = (
        delete(ContactShare)
        .where(
            col(ContactShare.workspace_id) == workspace_id,
            col(ContactShare.contact_id) == contact_id,
            col(ContactShare.member_id) == member_id,
        )
        .returning(col(ContactShare.member_id))
    )
    if (await session.execute(stmt)).first() is None:
        raise NotFound("the contact is not shared with this member")


_MERGE_SHARES = text(
    """
    INSERT INTO contact_shares (workspace_id, contact_id, member_id, created_at)
    SELECT workspace_id, :keep, member_id, created_at FROM contact_shares
     WHERE workspace_id = :ws AND contact_id = :other
    ON CONFLICT DO NOTHING
    """
)


async def merge_shares(
    session: AsyncSession, workspace_id: uuid.UUID, keep_id: uuid.UUID, other_id: uuid.UUID
) -> None:
    """Merge hook: whoever the merged contact was shared with keeps seeing the survivor
    (the other's rows go with it by cascade)."""
    await session.execute(_MERGE_SHARES, {"ws": workspace_id, "keep": keep_id, "other": other_id})
