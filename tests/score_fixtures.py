"""Rows for score and analytics tests, written straight into the tables.

The scores read other features' tables; writing rows directly keeps these tests about the
numbers, independent of how each feature's API validates its input.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.contacts.engagement import EngagementActivity, EngagementParticipant
from app.models.contacts.service_records import ServiceRecord
from app.models.contacts.tables import Contact, Interaction
from app.models.platform.member import Member
from app.models.referrals.rewards import Reward, RewardProgram
from app.models.referrals.tables import Referral, ReferralStageHistory
from app.models.touches.tables import Enrollment, Touch, TouchPlan
from tests.conftest import T0


async def contact(
    s: AsyncSession,
    ws: uuid.UUID,
    name: str,
    *,
    created_at: datetime = T0,
    segment: str = "client",
    **extra: Any,
) -> uuid.UUID:
    row = Contact(
        workspace_id=ws,
        id=uuid.uuid4(),
        first_name=name,
        sort_name=name.lower(),
        segment=segment,
        created_at=created_at,
        updated_at=created_at,
        **extra,
    )
    s.add(row)
    await s.flush()
    return row.id


async def member(s: AsyncSession, ws: uuid.UUID, name: str) -> uuid.UUID:
    row = Member(workspace_id=ws, id=uuid.uuid4(), name=name, email=f"{name.lower()}@example.com")
    s.add(row)
    await s.flush()
    return row.id


async def interaction(
    s: AsyncSession, ws: uuid.UUID, contact_id: uuid.UUID, at: datetime, direction: str = "inbound"
) -> None:
    s.add(
        Interaction(
            workspace_id=ws,
            id=uuid.uuid4(),
            contact_id=contact_id,
            channel="call",
            direction=direction,
            occurred_at=at,
        )
    )
    await s.flush()


async def referral(
    s: AsyncSession,
    ws: uuid.UUID,
    *,
    received_at: datetime,
    source: uuid.UUID | None = None,
    partner: uuid.UUID | None = None,
    direction: str = "received",
    stage: str = "received",
    actual_value: str | None = None,
    owner_id: uuid.UUID | None = None,
    program_id: uuid.UUID | None = None,
    stage_changed_at: datetime | None = None,
    currency: str = "USD",
    **extra: Any,
) -> uuid.UUID:
    row = Referral(
        workspace_id=ws,
        id=uuid.uuid4(),
        direction=direction,
        source_contact_id=source,
        partner_contact_id=partner,
        currency=currency,
        actual_value=Decimal(actual_value) if actual_value is not None else None,
        stage=stage,
        received_at=received_at,
        stage_changed_at=stage_changed_at or received_at,
        owner_id=owner_id,
        reward_program_id=program_id,
        **extra,
    )
    s.add(row)
    await s.flush()
    return row.id


async def stage_change(
    s: AsyncSession, ws: uuid.UUID, referral_id: uuid.UUID, frm: str | None, to: str, at: datetime
) -> None:
    s.add(
        ReferralStageHistory(
            workspace_id=ws,
            id=uuid.uuid4(),
            referral_id=referral_id,
            from_stage=frm,
            to_stage=to,
            at=at,
        )
    )
    await s.flush()


async def program(s: AsyncSession, ws: uuid.UUID, name: str = "Thanks") -> uuid.UUID:
    row = RewardProgram(workspace_id=ws, id=uuid.uuid4(), name=name, rules=[])
    s.add(row)
    await s.flush()
    return row.id


async def reward(
    s: AsyncSession,
    ws: uuid.UUID,
    *,
    referral_id: uuid.UUID,
    referrer: uuid.UUID | None,
    program_id: uuid.UUID,
    amount: str,
    status: str = "issued",
    at: datetime = T0,
    rule_index: int = 0,
) -> None:
    s.add(
        Reward(
            workspace_id=ws,
            id=uuid.uuid4(),
            referral_id=referral_id,
            referrer_id=referrer,
            program_id=program_id,
            rule_index=rule_index,
            trigger="closed",
            amount=Decimal(amount),
            currency="USD",
            kind="cash",
            status=status,
            available_at=at,
            issued_at=at if status == "issued" else None,
            created_at=at,
            updated_at=at,
        )
    )
    await s.flush()


async def plan(
    s: AsyncSession, ws: uuid.UUID, name: str, builtin_key: str | None = None
) -> uuid.UUID:
    row = TouchPlan(
        workspace_id=ws, id=uuid.uuid4(), name=name, referral_reminder="", builtin_key=builtin_key
    )
    s.add(row)
    await s.flush()
    return row.id


async def builtin_plan(s: AsyncSession, ws: uuid.UUID, key: str) -> uuid.UUID:
    """Built-in plans are seeded with every workspace."""
    stmt = select(TouchPlan.id).where(TouchPlan.workspace_id == ws, TouchPlan.builtin_key == key)
    return (await s.execute(stmt)).scalar_one()


async def enroll(
    s: AsyncSession, ws: uuid.UUID, plan_id: uuid.UUID, contact_id: uuid.UUID, start: date
) -> None:
    s.add(
        Enrollment(
            workspace_id=ws,
            id=uuid.uuid4(),
            plan_id=plan_id,
            contact_id=contact_id,
            start_date=start,
            materialized_until=start,
        )
    )
    await s.flush()


async def touch(
    s: AsyncSession,
    ws: uuid.UUID,
    contact_id: uuid.UUID,
    *,
    channel: str,
    due_at: datetime,
    status: str = "completed",
    finished_at: datetime | None = None,
    plan_id: uuid.UUID | None = None,
    assignee_id: uuid.UUID | None = None,
    mode: str = "manual",
) -> None:
    s.add(
        Touch(
            workspace_id=ws,
            id=uuid.uuid4(),
            contact_id=contact_id,
            plan_id=plan_id,
            assignee_id=assignee_id,
            channel=channel,
            mode=mode,
            content_kind="note",
            status=status,
            due_at=due_at,
            finished_at=finished_at
            if finished_at is not None
            else (due_at if status in ("sent", "completed") else None),
        )
    )
    await s.flush()


async def activity(
    s: AsyncSession, ws: uuid.UUID, name: str, on: date, cost: str = "0"
) -> uuid.UUID:
    row = EngagementActivity(
        workspace_id=ws, id=uuid.uuid4(), kind="seminar", name=name, date=on, cost=Decimal(cost)
    )
    s.add(row)
    await s.flush()
    return row.id


async def attend(
    s: AsyncSession, ws: uuid.UUID, activity_id: uuid.UUID, contact_id: uuid.UUID, at: datetime
) -> None:
    s.add(
        EngagementParticipant(
            workspace_id=ws,
            activity_id=activity_id,
            contact_id=contact_id,
            status="attended",
            attended_at=at,
        )
    )
    await s.flush()


async def service_record(
    s: AsyncSession,
    ws: uuid.UUID,
    contact_id: uuid.UUID,
    ratings: tuple[int, int, int, int],
    *,
    on: date,
    partner_id: uuid.UUID | None = None,
) -> None:
    c, q, v, sat = ratings
    s.add(
        ServiceRecord(
            workspace_id=ws,
            id=uuid.uuid4(),
            contact_id=contact_id,
            date=on,
            service="purchase",
            partner_id=partner_id,
            rating_communication=c,
            rating_quality=q,
            rating_value=v,
            rating_satisfaction=sat,
        )
    )
    await s.flush()
