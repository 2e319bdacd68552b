"""Reciprocity with one contact: what they referred to us and what we referred to them.

"Give referrals in order to get referrals" (seed 004): the balance between the two sides
is what an allied-resource review looks at. One grouped query answers both sides.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import NotFound
from app.models.contacts import Contact
from app.models.referrals.schemas import ReciprocityRead, ReciprocityRow, ReciprocitySide
from app.models.referrals.tables import STAGES, Referral

ZERO = Decimal("0.00")


async def reciprocity(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID
) -> ReciprocityRead:
    exists = select(col(Contact.id)).where(
        col(Contact.workspace_id) == workspace_id, col(Contact.id) == contact_id
    )
    if (await session.execute(exists)).first() is None:
        raise NotFound("contact not found")
    received = and_(
        col(Referral.direction) == "received", col(Referral.source_contact_id) == contact_id
    )
    given = and_(col(Referral.direction) == "given", col(Referral.partner_contact_id) == contact_id)
    side = case((received, "received"), else_="given").label("side")
    stmt = (
        select(
            side,
            col(Referral.stage),
            col(Referral.currency),
            func.count(),
            func.coalesce(func.sum(col(Referral.expected_value)), ZERO),
            func.coalesce(func.sum(col(Referral.actual_value)), ZERO),
            func.coalesce(func.sum(col(Referral.fee)), ZERO),
        )
        .where(col(Referral.workspace_id) == workspace_id, or_(received, given))
        .group_by(side, col(Referral.stage), col(Referral.currency))
    )
    rows: dict[str, list[ReciprocityRow]] = {"received": [], "given": []}
    for name, stage, currency, count, expected, actual, fees in (await session.execute(stmt)).all():
        rows[name].append(
            ReciprocityRow(
                stage=stage,
                currency=currency,
                count=count,
                expected_value=expected,
                actual_value=actual,
                fees=fees,
            )
        )
    sides = {
        name: ReciprocitySide(
            count=sum(r.count for r in found),
            rows=sorted(found, key=lambda r: (STAGES.index(r.stage), r.currency)),
        )
        for name, found in rows.items()
    }
    return ReciprocityRead(
        contact_id=contact_id,
        received_from=sides["received"],
        given_to=sides["given"],
        balance=sides["given"].count - sides["received"].count,
    )
