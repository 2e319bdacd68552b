"""A contact's advocacy stage as a member sees it: the suggestion, the override, the history."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import NotFound
from app.models.contacts import Contact
from app.models.scores.schemas import AdvocacyRead, AdvocacyStageChangeRead
from app.models.scores.tables import ContactStageHistory
from app.services.platform import PageRequest, keyset_page
from app.services.scores.advocacy import apply_suggestions, record_stage_change, suggestion_for


async def get_advocacy(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID, *, at: datetime
) -> AdvocacyRead:
    found = await suggestion_for(session, workspace_id, contact_id, at=at)
    if found is None:
        raise NotFound("contact not found")
    row, facts, why = found
    return AdvocacyRead(
        contact_id=contact_id,
        stage=row.advocacy_stage,
        manual=row.advocacy_stage_manual,
        suggested_stage=row.suggested_stage,
        reason=why,
        facts=facts,
        lapsed_at=row.lapsed_at,
    )


async def _lock(session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID) -> str:
    stmt = (
        select(col(Contact.advocacy_stage))
        .where(col(Contact.workspace_id) == workspace_id, col(Contact.id) == contact_id)
        .with_for_update()
    )
    stage = (await session.execute(stmt)).scalar_one_or_none()
    if stage is None:
        raise NotFound("contact not found")
    return stage


async def set_manual_stage(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_id: uuid.UUID,
    stage: str,
    *,
    at: datetime,
) -> AdvocacyRead:
    """Pin the stage: suggestions leave the contact alone until the override is cleared."""
    current = await _lock(session, workspace_id, contact_id)
    await session.execute(
        update(Contact)
        .where(col(Contact.workspace_id) == workspace_id, col(Contact.id) == contact_id)
        .values(
            advocacy_stage=stage,
            advocacy_stage_manual=True,
            version=col(Contact.version) + 1,
            updated_at=at,
        )
        .execution_options(synchronize_session=False)
    )
    await record_stage_change(
        session,
        workspace_id,
        contact_id,
        from_stage=current,
        to_stage=stage,
        source="manual",
        at=at,
    )
    return await get_advocacy(session, workspace_id, contact_id, at=at)


async def clear_override(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID, *, at: datetime
) -> AdvocacyRead:
    """Hand the stage back to the rules, and apply today's suggestion at once."""
    await _lock(session, workspace_id, contact_id)
    await session.execute(
        update(Contact)
        .where(col(Contact.workspace_id) == workspace_id, col(Contact.id) == contact_id)
        .values(advocacy_stage_manual=False, version=col(Contact.version) + 1, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    await apply_suggestions(session, workspace_id, at=at, contact_id=contact_id)
    return await get_advocacy(session, workspace_id, contact_id, at=at)


async def stage_history(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID, page: PageRequest
) -> tuple[list[AdvocacyStageChangeRead], str | None]:
    """Oldest first."""
    await _lock_free_check(session, workspace_id, contact_id)
    h = ContactStageHistory
    stmt = select(h).where(col(h.workspace_id) == workspace_id, col(h.contact_id) == contact_id)
    rows, cursor = await keyset_page(
        session, stmt, keys=[col(h.at), col(h.id)], page=page, sort="stage-history"
    )
    return [AdvocacyStageChangeRead.model_validate(r[0]) for r in rows], cursor


async def _lock_free_check(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID
) -> None:
    stmt = select(col(Contact.id)).where(
        col(Contact.workspace_id) == workspace_id, col(Contact.id) == contact_id
    )
    if (await session.execute(stmt)).first() is None:
        raise NotFound("contact not found")
