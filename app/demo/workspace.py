"""Demo data for ``make run``: a small team so the API has something to show."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import SystemClock
from app.config import Settings
from app.db import Database
from app.demo.contacts import seed_contacts
from app.demo.referrals import seed_referrals
from app.demo.team import find_agent
from app.demo.touches import seed_touches
from app.models.platform import MemberCreate
from app.services import platform


async def seed_demo(url: str, workspace_id: uuid.UUID) -> None:
    db = Database.from_url(url, pool_size=1)
    try:
        async with db.transaction() as session:
            await seed_team(session, workspace_id, at=SystemClock().now())
    finally:
        await db.dispose()


async def seed_team(session: AsyncSession, workspace_id: uuid.UUID, *, at: datetime) -> None:
    """The demo's members, contacts, referrals and enrolments, written ``at``."""
    for name, email, role in (
        ("Dana Whitfield", "dana@demo.rapport.dev", "leader"),
        ("Sam Ortega", "sam@demo.rapport.dev", "agent"),
        ("Priya Nair", "priya@demo.rapport.dev", "assistant"),
    ):
        body = MemberCreate(name=name, email=email, role=role)
        await platform.create_member(session, workspace_id, body, at=at)
    await seed_contacts(session, workspace_id, at=at)
    await seed_referrals(session, workspace_id, at=at)
    await seed_touches(session, workspace_id, at=at)


async def demo_agent_session(
    db: Database, workspace_id: uuid.UUID, settings: Settings, *, at: datetime
) -> tuple[str, str, datetime]:
    """A fresh session token for the demo's agent (name, token, expiry), so a front end can
    be tried as a signed-in member straight away."""
    async with db.read_session() as session:
        agent = await find_agent(session, workspace_id)
    if agent is None:
        raise LookupError("the demo workspace has no agent")
    token, expires_at = platform.session_tokens(settings).mint(workspace_id, agent.id, at=at)
    return agent.name, token, expires_at
