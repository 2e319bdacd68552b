"""Demo data for ``make run``: a small team so the API has something to show."""

from __future__ import annotations

import uuid

from app.clock import SystemClock
from app.db import Database
from app.demo.contacts import seed_contacts
from app.demo.referrals import seed_referrals
from app.demo.touches import seed_touches
from app.models.platform import MemberCreate
from app.services import platform


async def seed_demo(url: str, workspace_id: uuid.UUID) -> None:
    db = Database.from_url(url, pool_size=1)
    now = SystemClock().now()
    try:
        async with db.transaction() as session:
            for name, email, role in (
                ("Dana Whitfield", "dana@demo.rapport.dev", "leader"),
                ("Sam Ortega", "sam@demo.rapport.dev", "agent"),
                ("Priya Nair", "priya@demo.rapport.dev", "assistant"),
            ):
                await platform.create_member(
                    session, workspace_id, MemberCreate(name=name, email=email, role=role), at=now
                )
            await seed_contacts(session, workspace_id, at=now)
            await seed_referrals(session, workspace_id, at=now)
            await seed_touches(session, workspace_id, at=now)
    finally:
        await db.dispose()
