"""The demo team's people as the demo's other parts look them up: one query each, in one
fixed order (by name), so the contacts, the referrals and the printed session agree on
who the agent is."""

from __future__ import annotations

import uuid

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.platform import Member


async def owners(session: AsyncSession, workspace_id: uuid.UUID) -> list[uuid.UUID]:
    """Who owns contacts: every member but the assistant (the leader, then the agent)."""
    stmt = (
        select(col(Member.id))
        .where(col(Member.workspace_id) == workspace_id, col(Member.role) != "assistant")
        .order_by(col(Member.name), col(Member.id))
    )
    return list((await session.execute(stmt)).scalars().all())


async def find_agent(session: AsyncSession, workspace_id: uuid.UUID) -> Row[uuid.UUID, str] | None:
    """The demo's agent (id, name), whose session ``make run`` prints; None without one."""
    stmt = (
        select(col(Member.id), col(Member.name))
        .where(col(Member.workspace_id) == workspace_id, col(Member.role) == "agent")
        .order_by(col(Member.name), col(Member.id))
        .limit(1)
    )
    return (await session.execute(stmt)).first()
