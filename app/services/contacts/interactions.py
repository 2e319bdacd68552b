"""The communication log, and engagement: what keeps a contact from lapsing.

``log_interaction`` is the one way to write the log; touches call it when a touch is
fulfilled, so every path updates ``last_engaged_at`` the same way and in the same
transaction as the entry.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import ValidationFailed
from app.models.contacts.log_schemas import (
    ENGAGING_DIRECTIONS,
    Direction,
    InteractionChannel,
    InteractionCreate,
    InteractionRead,
)
from app.models.contacts.tables import Interaction
from app.models.touches import Touch
from app.services import platform, touches
from app.services.contacts.people import require_contact
from app.services.contacts.rows import check_member
from app.services.platform import PageRequest, keyset_page, refuse_future, where_visible

# A contact whose engagement moves changes: its version and updated_at move too, so an
# ``updated_since`` sync and ETags see it. Rows where nothing moves are not touched.
_ENGAGED = "greatest(c.last_engaged_at, CAST(:when AS timestamptz))"
_LAPSED = f"""CASE
               WHEN {_ENGAGED}
                    > CAST(:now AS timestamptz) - make_interval(days => w.lapse_threshold_days)
               THEN NULL ELSE c.lapsed_at END"""
_ENGAGE = text(
    f"""
    UPDATE contacts AS c
       SET last_engaged_at = {_ENGAGED}, lapsed_at = {_LAPSED},
           version = c.version + 1, updated_at = CAST(:now AS timestamptz)
      FROM workspaces AS w
     WHERE w.id = c.workspace_id AND c.workspace_id = :ws AND c.id = ANY(:ids)
       AND ({_ENGAGED} IS DISTINCT FROM c.last_engaged_at
            OR {_LAPSED} IS DISTINCT FROM c.lapsed_at)
    """
)


async def mark_engaged(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_ids: Sequence[uuid.UUID],
    when: datetime,
    *,
    at: datetime,
) -> None:
    """Record engagement at ``when``: ``last_engaged_at`` only moves forward (and the
    contact's version with it; no ``contact.updated`` event, engagement is not an edit).

    A lapse is cleared only when the engagement is recent enough to end it (within the
    workspace's lapse threshold of ``at``): back-filling a two-year-old call must not
    make a drifting contact look active and then lapse again.
    """
    if contact_ids:
        params = {"when": when, "now": at, "ws": workspace_id, "ids": list(contact_ids)}
        await session.execute(_ENGAGE, params)


async def _check_touch(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID, touch_id: uuid.UUID
) -> None:
    """The touch an entry fulfils must be one of this contact's, in this workspace."""
    stmt = select(col(Touch.id)).where(
        col(Touch.workspace_id) == workspace_id,
        col(Touch.id) == touch_id,
        col(Touch.contact_id) == contact_id,
    )
    if (await session.execute(stmt)).first() is None:
        raise ValidationFailed.on(["body", "touch_id"], "no such touch for this contact")


async def log_interaction(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_id: uuid.UUID,
    *,
    channel: InteractionChannel,
    direction: Direction,
    occurred_at: datetime,
    member_id: uuid.UUID | None = None,
    summary: str | None = None,
    duration_seconds: int | None = None,
    touch_id: uuid.UUID | None = None,
    at: datetime,
) -> InteractionRead:
    """Append to the log; inbound and two-way entries count as engagement."""
    await require_contact(session, workspace_id, contact_id)
    await check_member(session, workspace_id, member_id, "member_id")
    if touch_id is not None:
        await _check_touch(session, workspace_id, contact_id, touch_id)
    refuse_future(occurred_at, at, ["body", "occurred_at"], "an interaction")
    stmt = (
        insert(Interaction)
        .values(
            workspace_id=workspace_id,
            id=uuid.uuid4(),
            contact_id=contact_id,
            member_id=member_id,
            channel=channel,
            direction=direction,
            occurred_at=occurred_at,
            summary=summary,
            duration_seconds=duration_seconds,
            touch_id=touch_id,
            actor=platform.current_actor().as_json(),
            created_at=at,
        )
        .returning(*_COLUMNS)
    )
    row = (await session.execute(stmt)).mappings().one()
    if direction in ENGAGING_DIRECTIONS:
        await mark_engaged(session, workspace_id, [contact_id], occurred_at, at=at)
    if direction == "inbound":  # a reply pauses plans that ask for it (pause_on_reply)
        await touches.pause_on_reply(session, workspace_id, contact_id, at)
    return InteractionRead.model_validate(dict(row))


async def create_interaction(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_id: uuid.UUID,
    data: InteractionCreate,
    *,
    at: datetime,
) -> InteractionRead:
    return await log_interaction(session, workspace_id, contact_id, **data.model_dump(), at=at)


_COLUMNS = [c for c in Interaction.__table__.columns if c.name != "workspace_id"]


async def list_interactions(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    page: PageRequest,
    *,
    contact_id: uuid.UUID | None = None,
    member_id: uuid.UUID | None = None,
    channel: str | None = None,
    direction: str | None = None,
    occurred_after: datetime | None = None,
    occurred_before: datetime | None = None,
) -> tuple[list[InteractionRead], str | None]:
    """Newest first."""
    stmt = select(*_COLUMNS).where(col(Interaction.workspace_id) == workspace_id)
    stmt = where_visible(stmt, Interaction.__table__, ["contact_id"])
    if contact_id is not None:
        stmt = stmt.where(col(Interaction.contact_id) == contact_id)
    if member_id is not None:
        stmt = stmt.where(col(Interaction.member_id) == member_id)
    if channel is not None:
        stmt = stmt.where(col(Interaction.channel) == channel)
    if direction is not None:
        stmt = stmt.where(col(Interaction.direction) == direction)
    if occurred_after is not None:
        stmt = stmt.where(col(Interaction.occurred_at) >= occurred_after)
    if occurred_before is not None:
        stmt = stmt.where(col(Interaction.occurred_at) < occurred_before)
    rows, cursor = await keyset_page(
        session,
        stmt,
        keys=[col(Interaction.occurred_at), col(Interaction.id)],
        page=page,
        sort="interactions",
        descending=True,
    )
    return [InteractionRead.model_validate(dict(r._mapping)) for r in rows], cursor
