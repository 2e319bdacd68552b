"""Demo touches for ``make run``: enrolments whose touches show up at once.

Clients go on 33 Touch and prospects on 8x8 started eight days ago, catching up, so the
upcoming view, members' calendars and the scheduler have something to show at once:
week 2's e-mail, due yesterday, is still fresh and goes out at the contacts' next send
window (week 1's card is skipped: stale by then, and the demo contacts consent to
e-mail only). Advocates are already on
Advocate appreciation by auto-enrolment.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.touches import TouchPlan
from app.services import touches


async def seed_touches(session: AsyncSession, workspace_id: uuid.UUID, *, at: datetime) -> None:
    stmt = select(col(TouchPlan.builtin_key), col(TouchPlan.id)).where(
        col(TouchPlan.workspace_id) == workspace_id, col(TouchPlan.builtin_key).is_not(None)
    )
    plans = {r.builtin_key: r.id for r in await session.execute(stmt)}
    for key, segment, start, catch_up in (
        ("33_touch", "client", at.date(), False),
        ("8x8", "prospect", at.date() - timedelta(days=8), True),
    ):
        if key in plans:
            await touches.enroll_many(
                session,
                workspace_id,
                plan_id=plans[key],
                segments=[segment],
                tags=[],
                contact_ids=[],
                start=start,
                at=at,
                catch_up=catch_up,
            )
