"""Demo touches for ``make run``: enrolments whose touches show up at once.

Clients go on 33 Touch and prospects on 8x8 started three weeks ago, so the upcoming
view, members' calendars and the first scheduler tick (touches already due fire) have
something to show. Advocates are already on Advocate appreciation by auto-enrolment.
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
    for key, segment, start in (
        ("33_touch", "client", at.date()),
        ("8x8", "prospect", at.date() - timedelta(weeks=3)),
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
            )
