"""The follow-up job: an overdue received referral is announced exactly once, even when
several scheduler replicas run the job at the same moment."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from app.clock import FrozenClock
from app.db import Database
from app.models.platform.event import Event
from app.models.referrals.schemas import ReferralCreate, TransitionCreate
from app.services.jobs import JOBS
from app.services.referrals.follow_up import emit_overdue_follow_ups, follow_up_job
from app.services.referrals.records import create_referral, get_referral
from app.services.referrals.stages import transition_referral
from tests.conftest import T0, Tenant, make_settings, make_tenant
from tests.referral_fixtures import add_contact
from tests.scheduler_process import run_replicas

OVERDUE = "referral.follow_up_overdue"


async def _referrals(db: Database, tenant: Tenant, n: int, **fields: object) -> list[uuid.UUID]:
    """``n`` received referrals, received at T0 (due 24 hours later), committed."""
    source = await add_contact(db, tenant, "Source", email="source@example.com")
    ids = []
    for i in range(n):
        referred = await add_contact(db, tenant, f"Referred{i}")
        async with db.transaction() as session:
            body = ReferralCreate.model_validate(
                {"source_contact_id": source, "referred_contact_id": referred, **fields}
            )
            ids.append((await create_referral(session, tenant.id, body, at=T0)).referral.id)
    return ids


async def _overdue_events(db: Database) -> list[Event]:
    async with db.transaction() as session:
        stmt = select(Event).where(Event.type == OVERDUE)
        return list((await session.execute(stmt)).scalars())


async def test_fires_once_after_the_due_time(db: Database, tenant: Tenant) -> None:
    (referral_id,) = await _referrals(db, tenant, 1)
    async with db.transaction() as session:
        assert await emit_overdue_follow_ups(session, T0 + timedelta(hours=23, minutes=59)) == 0
    async with db.transaction() as session:
        assert await emit_overdue_follow_ups(session, T0 + timedelta(hours=24)) == 1
    async with db.transaction() as session:
        assert await emit_overdue_follow_ups(session, T0 + timedelta(days=3)) == 0
        referral = await get_referral(session, tenant.id, referral_id)
    assert referral.follow_up_notified_at == T0 + timedelta(hours=24)
    assert referral.version == 1  # bookkeeping, not an edit
    (event,) = await _overdue_events(db)
    assert event.data["id"] == str(referral_id)
    assert event.data["referrer"]["primary_email"] == "source@example.com"
    assert event.data["hours_since_received"] == 24.0


async def test_contacted_lost_and_given_referrals_are_not_overdue(
    db: Database, tenant: Tenant
) -> None:
    contacted, lost = await _referrals(db, tenant, 2)
    async with db.transaction() as session:
        for rid, move in ((contacted, "contacted"), (lost, "lost")):
            reason = "no answer" if move == "lost" else None
            await transition_referral(
                session,
                tenant.id,
                rid,
                TransitionCreate(to_stage=move, lost_reason=reason),
                expected_version=None,
                at=T0 + timedelta(hours=1),
            )
        given = ReferralCreate(
            direction="given",
            referred_contact_id=await add_contact(db, tenant, "Client"),
            partner_contact_id=await add_contact(db, tenant, "Partner"),
        )
        await create_referral(session, tenant.id, given, at=T0)
    async with db.transaction() as session:
        assert await emit_overdue_follow_ups(session, T0 + timedelta(days=2)) == 0


async def test_a_replica_skips_rows_another_one_holds(committed_db: Database) -> None:
    """Replica A claims and has not committed yet; replica B must neither wait nor repeat."""
    tenant = await make_tenant(committed_db)
    await _referrals(committed_db, tenant, 3)
    later = T0 + timedelta(days=1, hours=1)
    async with committed_db.sessionmaker() as a, committed_db.sessionmaker() as b:
        async with a.begin():
            assert await emit_overdue_follow_ups(a, later) == 3
            async with b.begin():
                fired_b = await asyncio.wait_for(emit_overdue_follow_ups(b, later), timeout=5)
            assert fired_b == 0
        async with b.begin():  # after A committed, the marks are visible
            assert await emit_overdue_follow_ups(b, later) == 0
    assert len(await _overdue_events(committed_db)) == 3


async def test_concurrent_replicas_fire_each_referral_exactly_once(
    committed_db: Database, committed_url: str
) -> None:
    tenant = await make_tenant(committed_db)
    ids = await _referrals(committed_db, tenant, 40)
    later = T0 + timedelta(days=2)
    replicas = [Database.from_url(committed_url, pool_size=2) for _ in range(2)]
    try:

        async def drain(database: Database) -> int:
            total = 0
            while True:
                async with database.transaction() as session:
                    fired = await emit_overdue_follow_ups(session, later, batch=7)
                total += fired
                if fired == 0:
                    return total

        counts = await asyncio.gather(*(drain(r) for r in replicas))
    finally:
        for r in replicas:
            await r.dispose()
    assert sum(counts) == 40
    per_referral = Counter(e.data["id"] for e in await _overdue_events(committed_db))
    assert per_referral == Counter({str(i): 1 for i in ids})


async def test_two_scheduler_processes_fire_each_referral_once(
    committed_db: Database, committed_url: str
) -> None:
    tenant = await make_tenant(committed_db)
    ids = await _referrals(committed_db, tenant, 30)
    job = "app.services.referrals.follow_up:follow_up_job"
    fired = await run_replicas(job, committed_url, T0 + timedelta(days=2))
    assert sum(fired) == 30
    async with committed_db.transaction() as session:
        stmt = select(func.count()).select_from(Event).where(Event.type == OVERDUE)
        assert (await session.execute(stmt)).scalar_one() == 30
    per_referral = Counter(e.data["id"] for e in await _overdue_events(committed_db))
    assert set(per_referral.values()) == {1}
    assert set(per_referral) == {str(i) for i in ids}


async def test_the_job_is_registered_with_the_scheduler(db: Database, tenant: Tenant) -> None:
    assert "referrals.follow_up_overdue" in [job.name for job in JOBS]
    await _referrals(db, tenant, 2)
    fired = await follow_up_job(db, FrozenClock(T0 + timedelta(days=1)), make_settings())
    assert fired == 2
