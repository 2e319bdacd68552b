"""Plan-level rules: send window in the contact's zone, do-not-contact, pause on reply."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from app.clock import Clock, FrozenClock
from app.config import Settings
from app.db import Database
from app.models.contacts.tables import Contact
from app.models.platform.workspace import Workspace
from app.models.touches.plan_schemas import TouchPlanCreate
from app.models.touches.tables import Enrollment, Touch, TouchPlan
from app.services.platform.scheduler import Job, Scheduler
from app.services.touches import enrollments
from app.services.touches import plans as touch_plans
from app.services.touches.emit import emit_due_touches
from tests.conftest import T0, Tenant, make_settings
from tests.test_touch_emit import events_of
from tests.touch_fixtures import add_contact


def one_step_plan(**step: object) -> TouchPlanCreate:
    return TouchPlanCreate.model_validate(
        {
            "name": "One step",
            "referral_reminder": "Refer a friend.",
            "pause_on_reply": True,
            "steps": [
                {
                    "channel": "email",
                    "content_kind": "note",
                    "mode": "automated",
                    "body_template": "Hi",
                    "timing": {"kind": "after_enrollment", "days": 0},
                    **step,
                }
            ],
        }
    )


async def due_of(
    db: Database, tenant: Tenant, step: dict[str, object], **contact: object
) -> datetime:
    async with db.transaction() as session:
        plan, _ = await touch_plans.create_plan(session, tenant.id, one_step_plan(**step), at=T0)
        row = await add_contact(session, tenant.id, at=T0, **contact)
        await enrollments.enroll_contact(
            session, tenant.id, plan_id=plan.id, contact_id=row.id, start=date(2027, 3, 14), at=T0
        )
        stmt = select(Touch.due_at).where(Touch.contact_id == row.id)
        return (await session.execute(stmt)).scalar_one()


async def test_touches_fall_inside_the_send_window_in_the_contacts_zone(
    db: Database, tenant: Tenant
) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Workspace)
            .where(Workspace.id == tenant.id)
            .values(time_zone="Europe/Berlin", send_window_start=time(10), send_window_end=time(18))
        )
    tokyo = await due_of(db, tenant, {"send_time": "07:00"}, time_zone="Asia/Tokyo")
    assert tokyo.astimezone(ZoneInfo("Asia/Tokyo")).replace(tzinfo=None) == datetime(
        2027, 3, 14, 10, 0
    )
    # 14 March 2027 is the day US clocks spring forward: 10:00 local is 14:00 UTC, not 15:00.
    ny = await due_of(db, tenant, {"send_time": "23:30"}, time_zone="America/New_York")
    assert ny == datetime(2027, 3, 14, 21, 59, tzinfo=UTC)  # the last minute before 18:00 EDT
    berlin = await due_of(db, tenant, {}, time_zone=None)  # no zone: the workspace's
    assert berlin == datetime(2027, 3, 14, 9, 0, tzinfo=UTC)


async def test_do_not_contact_at_due_time_skips_the_touch(db: Database, tenant: Tenant) -> None:
    await due_of(db, tenant, {})
    async with db.transaction() as session:
        await session.execute(update(Contact).values(do_not_contact=True))
        assert await emit_due_touches(session, at=datetime(2027, 3, 15, tzinfo=UTC)) == 1
        touch = (await session.execute(select(Touch))).scalar_one()
    assert (touch.status, touch.reason) == ("skipped", "do_not_contact")
    (event,) = await events_of(db, tenant.id, "touch.skipped")
    assert event["reason"] == "do_not_contact"


async def test_an_inbound_reply_pauses_only_plans_that_ask_for_it(
    db: Database, tenant: Tenant
) -> None:
    async with db.transaction() as session:
        pausing, _ = await touch_plans.create_plan(session, tenant.id, one_step_plan(), at=T0)
        keeps = one_step_plan()
        keeps.pause_on_reply = False
        steady, _ = await touch_plans.create_plan(session, tenant.id, keeps, at=T0)
        contact = await add_contact(session, tenant.id, at=T0)
        for plan in (pausing, steady):
            await enrollments.enroll_contact(
                session,
                tenant.id,
                plan_id=plan.id,
                contact_id=contact.id,
                start=T0.date() + timedelta(days=3),
                at=T0,
            )
        assert await enrollments.pause_on_reply(session, tenant.id, contact.id, T0) == 1
        rows = await session.execute(select(Enrollment.plan_id, Enrollment.status))
        statuses = {r.plan_id: r.status for r in rows}
        planned = (await session.execute(select(Touch.plan_id))).scalars().all()
    assert statuses == {pausing.id: "paused", steady.id: "active"}
    assert planned == [steady.id]


async def test_inactive_plans_take_no_new_enrolments(db: Database, tenant: Tenant) -> None:
    async with db.transaction() as session:
        await session.execute(update(TouchPlan).values(active=False))
        contact = await add_contact(session, tenant.id, at=T0, segment="advocate")
        assert await enrollments.auto_enroll(session, tenant.id, [contact.id], T0) == 0


async def test_the_scheduler_worker_runs_its_jobs_and_stops_cleanly(db: Database) -> None:
    ran = asyncio.Event()
    seen: list[datetime] = []

    async def job(_db: Database, clock: Clock, _settings: Settings) -> None:
        seen.append(clock.now())
        ran.set()

    worker = Scheduler(
        db, FrozenClock(T0), make_settings(scheduler_interval_seconds=3600), [Job("t", job)]
    )
    worker.start()
    async with asyncio.timeout(10):
        await ran.wait()
    await worker.stop()
    assert seen == [T0]
