"""The agenda's hand-built world: rows written straight into the tables (as the score
tests do), so the expected values below are the documented formula's, worked by hand."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.contacts.tables import Observance
from app.models.platform.member import Member
from app.models.referrals.rewards import Reward
from app.models.touches.tables import Touch
from tests import score_fixtures as sf
from tests.conftest import T0, Tenant


async def member(s: AsyncSession, ws: uuid.UUID, name: str, role: str = "agent") -> uuid.UUID:
    row = Member(
        workspace_id=ws, id=uuid.uuid4(), name=name, email=f"{name.lower()}@example.com", role=role
    )
    s.add(row)
    await s.flush()
    return row.id


async def task(
    s: AsyncSession,
    ws: uuid.UUID,
    contact_id: uuid.UUID,
    assignee: uuid.UUID,
    due_at: datetime,
    channel: str = "call",
) -> uuid.UUID:
    row = Touch(
        workspace_id=ws,
        id=uuid.uuid4(),
        contact_id=contact_id,
        assignee_id=assignee,
        channel=channel,
        mode="manual",
        content_kind="check_in",
        status="scheduled",
        subject="Quarterly check-in",
        due_at=due_at,
    )
    s.add(row)
    await s.flush()
    return row.id


async def birthday(s: AsyncSession, ws: uuid.UUID, contact_id: uuid.UUID, at: datetime) -> None:
    s.add(
        Observance(
            workspace_id=ws,
            id=uuid.uuid4(),
            contact_id=contact_id,
            kind="birthday",
            month=at.month,
            day=at.day,
        )
    )
    await s.flush()


async def session_headers(
    client: httpx.AsyncClient, tenant: Tenant, member_id: uuid.UUID
) -> dict[str, str]:
    minted = await client.post(f"/v1/members/{member_id}/sessions", headers=tenant.headers)
    assert minted.status_code == 201, minted.text
    return {"Authorization": f"Bearer {minted.json()['token']}"}


@dataclass
class Scenario:
    ada: uuid.UUID  # an admin who also owns contacts
    cora: uuid.UUID  # core advocate about to lapse
    carl: uuid.UUID  # client with a routine call due
    bea: uuid.UUID  # client with a birthday in 3 days
    dora: uuid.UUID  # client (another agent's) who referred Finn
    finn: uuid.UUID  # the referred prospect nobody called yet
    call: uuid.UUID  # Carl's call
    follow_up: uuid.UUID  # the referral Dora sent
    reward: uuid.UUID


async def scenario(s: AsyncSession, ws: uuid.UUID) -> Scenario:
    """Referrals of the last year (USD): Cora 2 closed (9,000 + 3,000), Dora 1 closed
    (1,500) and 1 still received (expected 4,000): 4 received, 3 closed for 13,500."""
    ada = await member(s, ws, "Ada", role="admin")
    blake = await member(s, ws, "Blake")
    day = timedelta(days=1)
    cora = await sf.contact(
        s,
        ws,
        "Cora",
        segment="core_advocate",
        advocacy_stage="core_advocate",
        owner_id=ada,
        created_at=T0 - 400 * day,
        last_engaged_at=T0 - 85 * day,
    )
    carl = await sf.contact(s, ws, "Carl", owner_id=ada)
    bea = await sf.contact(s, ws, "Bea", owner_id=ada)
    dora = await sf.contact(s, ws, "Dora", owner_id=blake)
    finn = await sf.contact(s, ws, "Finn", segment="prospect", owner_id=ada)
    await sf.referral(
        s, ws, source=cora, received_at=T0 - 200 * day, stage="closed", actual_value="9000"
    )
    await sf.referral(
        s, ws, source=cora, received_at=T0 - 100 * day, stage="closed", actual_value="3000"
    )
    r3 = await sf.referral(
        s, ws, source=dora, received_at=T0 - 300 * day, stage="closed", actual_value="1500"
    )
    follow_up = await sf.referral(
        s,
        ws,
        source=dora,
        referred_contact_id=finn,
        owner_id=ada,
        received_at=T0 - 3 * day,
        follow_up_due_at=T0 - 2 * day,
        expected_value=Decimal("4000"),
    )
    prog = await sf.program(s, ws)
    await sf.reward(
        s,
        ws,
        referral_id=r3,
        referrer=dora,
        program_id=prog,
        amount="500",
        status="pending",
        at=T0 - 10 * day,
    )
    reward = (
        await s.execute(select(col(Reward.id)).where(col(Reward.workspace_id) == ws))
    ).scalar_one()
    call = await task(s, ws, carl, ada, T0 - timedelta(hours=1))
    await birthday(s, ws, bea, T0 + 3 * day)
    return Scenario(ada, cora, carl, bea, dora, finn, call, follow_up, reward)
