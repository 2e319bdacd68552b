"""The touch tick: due touches are claimed once, rendered, skipped without consent."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from app.db import Database
from app.models.platform.event import Event
from app.models.touches.plan_schemas import TouchPlanCreate
from app.models.touches.tables import Enrollment, Touch
from app.services import touches
from app.services.provisioning import provision_workspace
from app.services.touches import enrollments
from app.services.touches.emit import emit_due_touches
from app.services.touches.plans import create_plan
from tests.conftest import T0, Tenant, make_tenant
from tests.scheduler_process import run_replicas
from tests.test_touch_enrollment import builtin_plan
from tests.touch_fixtures import add_contact, add_member

EMIT_JOB = "app.services.touches.jobs:emit_touches"


async def events_of(db: Database, tenant_id: uuid.UUID, kind: str) -> list[dict[str, Any]]:
    async with db.transaction() as session:
        stmt = (
            select(Event.data)
            .where(Event.workspace_id == tenant_id, Event.type == kind)
            .order_by(Event.id)
        )
        return list((await session.execute(stmt)).scalars())


async def enrol_8x8(
    db: Database, tenant: Tenant, start: date, *, catch_up: bool = False, **contact: Any
) -> tuple[uuid.UUID, uuid.UUID]:
    plan_id = await builtin_plan(db, tenant, "8x8")
    async with db.transaction() as session:
        member = await add_member(session, tenant.id, at=T0, name="Dana")
        row = await add_contact(session, tenant.id, at=T0, owner_id=member.id, **contact)
        enrollment = await enrollments.enroll_contact(
            session,
            tenant.id,
            plan_id=plan_id,
            contact_id=row.id,
            start=start,
            at=T0,
            catch_up=catch_up,
        )
    return row.id, enrollment.id


async def test_due_touch_is_rendered_and_announced_with_everything_a_sender_needs(
    db: Database, tenant: Tenant
) -> None:
    contact_id, _ = await enrol_8x8(db, tenant, T0.date() - timedelta(days=7))
    async with db.transaction() as session:
        assert await emit_due_touches(session, at=T0) == 1  # week 1; the card was missed
        assert await emit_due_touches(session, at=T0) == 0
    (due,) = await events_of(db, tenant.id, "touch.due")
    assert due["channel"] == "email"
    assert due["due_at"] == T0.isoformat().replace(
        "+00:00", "Z"
    )  # released now, inside the send window
    assert due["subject"] == "Pat, the numbers behind your market"
    assert "Dana" in due["body"]
    assert due["referral_reminder"].startswith("The greatest compliment")
    assert "call Dana" in due["referral_reminder"]
    assert due["recipient"] == {"email": "pat@example.com"}
    assert due["contact"]["name"] == "Pat Lee"
    assert due["member"]["name"] == "Dana"
    assert due["plan"]["name"] == "8x8"
    assert due["idempotency_key"] == due["id"]
    async with db.transaction() as session:
        touch = await session.get(Touch, (tenant.id, uuid.UUID(due["id"])))
        assert touch is not None
        assert touch.status == "due"
        assert touch.subject == due["subject"]
        assert touch.contact_id == contact_id


async def test_channel_without_consent_is_skipped_with_reason(db: Database, tenant: Tenant) -> None:
    consent = {"email": {"status": "denied"}, "mail": {"status": "granted"}}
    await enrol_8x8(db, tenant, T0.date() - timedelta(days=1), consent=consent, catch_up=True)
    async with db.transaction() as session:
        await emit_due_touches(session, at=T0)  # yesterday's card, caught up
        await emit_due_touches(session, at=T0 + timedelta(days=6))  # week 1's e-mail
        rows = await session.execute(
            select(Touch.channel, Touch.status).where(Touch.due_at <= T0 + timedelta(days=6))
        )
        statuses = {r.channel: r.status for r in rows}
    assert statuses == {"card": "due", "email": "skipped"}
    (skipped,) = await events_of(db, tenant.id, "touch.skipped")
    assert skipped["reason"] == "no_consent"


async def test_do_not_contact_skips_every_pending_touch_and_pauses_the_plan(
    db: Database, tenant: Tenant
) -> None:
    contact_id, enrollment_id = await enrol_8x8(db, tenant, T0.date() - timedelta(days=7))
    async with db.transaction() as session:
        await add_contact(session, tenant.id, at=T0)  # someone else, unaffected
        skipped = await touches.hold_for_do_not_contact(session, tenant.id, [contact_id], T0)
        assert skipped == 7  # week 1 (due now) and the six weeks ahead; the card was missed
        assert await emit_due_touches(session, at=T0 + timedelta(days=60)) == 0
        enrollment = await session.get(Enrollment, (tenant.id, enrollment_id))
        assert enrollment is not None
        assert (enrollment.status, enrollment.reason) == ("paused", "do_not_contact")
    events = await events_of(db, tenant.id, "touch.skipped")
    assert len(events) == 7
    assert {e["reason"] for e in events} == {"do_not_contact"}


async def test_manual_touch_becomes_a_task_for_the_contacts_owner(
    db: Database, tenant: Tenant
) -> None:
    await enrol_8x8(db, tenant, T0.date())
    async with db.transaction() as session:
        await emit_due_touches(session, at=T0 + timedelta(days=1))
        card = (await session.execute(select(Touch).where(Touch.channel == "card"))).scalar_one()
    assert card.mode == "manual"
    assert card.status == "due"
    assert card.assignee_id is not None
    assert card.subject == "Handwritten note and market report for Pat"
    assert await events_of(db, card.workspace_id, "touch.due") == []
    (task,) = await events_of(db, card.workspace_id, "task.due")
    assert (task["id"], task["assignee"]["id"]) == (str(card.id), str(card.assignee_id))
    assert task["body"].startswith("Write a short personal note to Pat Lee")


def _eight_emails() -> TouchPlanCreate:
    step = {
        "channel": "email",
        "content_kind": "newsletter",
        "mode": "automated",
        "subject_template": "News for {{ contact.first_name }}",
        "timing": {"kind": "after_enrollment", "days": 0},
    }
    return TouchPlanCreate.model_validate(
        {"name": "Eight", "referral_reminder": "Send us a friend.", "steps": [step] * 8}
    )


async def _many_due_touches(db: Database, contacts: int) -> Tenant:
    """A committed workspace whose ``contacts`` contacts all have eight e-mails due today
    (at 09:00 UTC, T0 being noon)."""
    tenant = await make_tenant(db, "Busy")
    async with db.transaction() as session:
        plan, _ = await create_plan(session, tenant.id, _eight_emails(), at=T0)
        for i in range(contacts):
            await add_contact(session, tenant.id, at=T0, email=f"c{i}@example.com", tags=["x"])
        enrolled, _ = await enrollments.enroll_many(
            session,
            tenant.id,
            plan_id=plan.id,
            segments=[],
            tags=["x"],
            contact_ids=[],
            start=T0.date(),
            at=T0,
        )
    assert enrolled == contacts
    return tenant


async def test_two_scheduler_processes_on_one_database_emit_each_touch_once(
    committed_db: Database, committed_url: str
) -> None:
    """Two processes run the scheduler's emit job at once over 3,200 due touches (four
    of its batches): every touch is claimed by one of them and announced once."""
    tenant = await _many_due_touches(committed_db, 400)
    claimed = await run_replicas(EMIT_JOB, committed_url, T0)
    assert sum(claimed) == 400 * 8
    async with committed_db.transaction() as session:
        rows = (await session.execute(select(Touch.id, Touch.status, Touch.emitted_at))).all()
    assert len(rows) == 400 * 8
    assert {(r.status, r.emitted_at) for r in rows} == {("due", T0)}
    per_touch = Counter(e["id"] for e in await events_of(committed_db, tenant.id, "touch.due"))
    assert per_touch == Counter({str(r.id): 1 for r in rows})


async def test_concurrent_small_batches_emit_each_touch_once(committed_db: Database) -> None:
    """Many short claims racing on one pool: SKIP LOCKED hands each batch disjoint rows."""
    tenant = await _many_due_touches(committed_db, 40)

    async def replica() -> int:
        claimed = 0
        while n := await _emit_batch(committed_db, limit=25):
            claimed += n
        return claimed

    first, second = await asyncio.gather(replica(), replica())
    assert first + second == 40 * 8
    events = await events_of(committed_db, tenant.id, "touch.due")
    assert sorted(Counter(e["id"] for e in events).values()) == [1] * (40 * 8)


async def _emit_batch(db: Database, *, limit: int) -> int:
    async with db.transaction() as session:
        return await emit_due_touches(session, at=T0, limit=limit)


async def test_a_crash_before_commit_loses_nothing(committed_db: Database) -> None:
    async with committed_db.transaction() as session:
        workspace, _, token = await provision_workspace(session, "Crashy", at=T0)
    tenant = Tenant(id=workspace.id, key=token)
    await enrol_8x8(committed_db, tenant, T0.date())

    class Crash(Exception):
        pass

    try:
        async with committed_db.transaction() as session:
            assert await emit_due_touches(session, at=T0 + timedelta(days=1)) == 1
            raise Crash
    except Crash:
        pass
    async with committed_db.transaction() as session:
        assert await emit_due_touches(session, at=T0 + timedelta(days=1)) == 1
        events = await session.execute(
            select(func.count()).select_from(Event).where(Event.type == "task.due")
        )
        assert events.scalar_one() == 1
