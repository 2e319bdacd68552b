"""Enrolments plan the right touches: dates, send window, horizon, audiences."""

from __future__ import annotations

import uuid
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.db import Database
from app.models.touches.tables import Enrollment, Touch, TouchPlan
from app.services.touches import enrollments
from app.services.touches import planning as touch_materialize
from app.services.touches.steps import StepSpec
from app.services.touches.timing import AfterEnrollment, MonthlyOnDay, Timing
from tests.conftest import T0, Tenant
from tests.touch_fixtures import add_contact, add_default_sender, add_member


async def builtin_plan(db: Database, tenant: Tenant, key: str) -> uuid.UUID:
    async with db.transaction() as session:
        stmt = select(TouchPlan.id).where(
            TouchPlan.workspace_id == tenant.id, TouchPlan.builtin_key == key
        )
        return (await session.execute(stmt)).scalar_one()


async def touches_of(db: Database, tenant: Tenant, enrollment_id: uuid.UUID) -> list[Touch]:
    async with db.transaction() as session:
        stmt = (
            select(Touch)
            .where(Touch.workspace_id == tenant.id, Touch.enrollment_id == enrollment_id)
            .order_by(Touch.due_at)
        )
        return list((await session.execute(stmt)).scalars())


async def test_past_dated_8x8_enrolment_plans_its_weeks_and_records_the_missed_ones(
    db: Database, tenant: Tenant
) -> None:
    plan_id = await builtin_plan(db, tenant, "8x8")
    start = date(2026, 10, 26)  # four weeks before T0: four weeks are already gone
    async with db.transaction() as session:
        owner = await add_member(session, tenant.id, at=T0)
        contact = await add_contact(
            session, tenant.id, at=T0, time_zone="America/New_York", owner_id=owner.id
        )
        enrollment = await enrollments.enroll_contact(
            session, tenant.id, plan_id=plan_id, contact_id=contact.id, start=start, at=T0
        )
    touches = await touches_of(db, tenant, enrollment.id)
    assert [t.due_date for t in touches] == [start + timedelta(weeks=w) for w in range(8)]
    ny = ZoneInfo("America/New_York")
    assert all(t.due_at.astimezone(ny).time() == time(9, 0) for t in touches)
    assert [t.channel for t in touches] == [
        "card", "email", "email", "call", "email", "email", "gift", "call"
    ]  # fmt: skip
    assert [(t.status, t.reason) for t in touches] == [("skipped", "before_start")] * 4 + [
        ("scheduled", None)
    ] * 4
    assert all(t.expires_at == t.due_at + timedelta(days=3) for t in touches)
    assert enrollment.materialized_until == touch_materialize.DONE


async def test_yearly_plan_keeps_ninety_days_planned_and_tops_up(
    db: Database, tenant: Tenant
) -> None:
    plan_id = await builtin_plan(db, tenant, "33_touch")
    async with db.transaction() as session:
        await add_default_sender(session, tenant.id, at=T0)
        contact = await add_contact(session, tenant.id, at=T0)
        enrollment = await enrollments.enroll_contact(
            session, tenant.id, plan_id=plan_id, contact_id=contact.id, start=T0.date(), at=T0
        )
    assert enrollment.materialized_until >= T0.date() + timedelta(days=90)
    before = await touches_of(db, tenant, enrollment.id)
    assert max(t.due_date for t in before if t.due_date) <= enrollment.materialized_until
    later = T0 + timedelta(days=60)
    async with db.transaction() as session:
        assert await touch_materialize.top_up(session, at=later) == 1
        assert await touch_materialize.top_up(session, at=later) == 0
        row = await session.get(Enrollment, (tenant.id, enrollment.id))
        assert row is not None
        assert row.materialized_until >= later.date() + timedelta(days=90)
    after = await touches_of(db, tenant, enrollment.id)
    assert len(after) > len(before)
    keys = [(t.step_id, t.occurrence_key) for t in after]
    assert len(keys) == len(set(keys))


async def test_auto_enrolment_enrols_once_by_segment_or_tag(db: Database, tenant: Tenant) -> None:
    advocate_plan = await builtin_plan(db, tenant, "advocate_appreciation")
    eight = await builtin_plan(db, tenant, "8x8")
    async with db.transaction() as session:
        await add_default_sender(session, tenant.id, at=T0)
        advocate = await add_contact(session, tenant.id, at=T0, segment="advocate")
        tagged = await add_contact(session, tenant.id, at=T0, tags=["8x8"])
        neither = await add_contact(session, tenant.id, at=T0)
        ids = [advocate.id, tagged.id, neither.id]
        assert await enrollments.auto_enroll(session, tenant.id, ids, T0) == 2
        assert await enrollments.auto_enroll(session, tenant.id, ids, T0) == 0
        rows = (
            await session.execute(
                select(Enrollment.contact_id, Enrollment.plan_id, Enrollment.source).where(
                    Enrollment.workspace_id == tenant.id
                )
            )
        ).all()
    assert sorted((r.contact_id, r.plan_id, r.source) for r in rows) == sorted(
        [(advocate.id, advocate_plan, "auto"), (tagged.id, eight, "auto")]
    )


async def test_a_plan_naming_the_member_enrols_automatically_only_contacts_someone_signs_for(
    db: Database, tenant: Tenant
) -> None:
    async with db.transaction() as session:
        unsigned = await add_contact(session, tenant.id, at=T0, tags=["8x8"])
        assert await enrollments.auto_enroll(session, tenant.id, [unsigned.id], T0) == 0
        owner = await add_member(session, tenant.id, at=T0)
        owned = await add_contact(session, tenant.id, at=T0, tags=["8x8"], owner_id=owner.id)
        assert await enrollments.auto_enroll(session, tenant.id, [owned.id], T0) == 1
        await add_default_sender(session, tenant.id, at=T0, name="Lee")
        assert await enrollments.auto_enroll(session, tenant.id, [unsigned.id], T0) == 1


async def test_auto_enrolment_is_not_repeated_after_cancel(db: Database, tenant: Tenant) -> None:
    async with db.transaction() as session:
        await add_default_sender(session, tenant.id, at=T0)
        contact = await add_contact(session, tenant.id, at=T0, tags=["8x8"])
        assert await enrollments.auto_enroll(session, tenant.id, [contact.id], T0) == 1
        (row,) = (await session.execute(select(Enrollment))).scalars()
        await enrollments.change_status(
            session, tenant.id, row.id, "cancel", expected_version=None, at=T0
        )
        assert await enrollments.auto_enroll(session, tenant.id, [contact.id], T0) == 0


async def test_bulk_enrolment_is_one_call_for_a_segment(db: Database, tenant: Tenant) -> None:
    plan_id = await builtin_plan(db, tenant, "12_direct")
    async with db.transaction() as session:
        await add_default_sender(session, tenant.id, at=T0)
        for _ in range(5):
            await add_contact(session, tenant.id, at=T0, segment="prospect")
        await add_contact(session, tenant.id, at=T0, segment="prospect", do_not_contact=True)
        await add_contact(session, tenant.id, at=T0, segment="client")
        enrolled, skipped = await enrollments.enroll_many(
            session,
            tenant.id,
            plan_id=plan_id,
            segments=["prospect"],
            tags=[],
            contact_ids=[],
            start=T0.date(),
            at=T0,
        )
        dates = list((await session.execute(select(Touch.due_date))).scalars())
    assert (enrolled, skipped) == (5, 1)
    assert len(dates) >= 5 * 3  # monthly on the 1st: at least Dec, Jan, Feb within 90 days
    assert {d.day for d in dates if d} == {1}


def _spec(repeat_yearly: bool, *timings: Timing) -> touch_materialize.PlanSpec:
    steps = tuple(
        StepSpec(uuid.uuid4(), "email", "automated", "newsletter", t, None, None) for t in timings
    )
    return touch_materialize.PlanSpec(uuid.uuid4(), repeat_yearly, steps)


def test_non_yearly_plan_runs_one_year() -> None:
    """A recurrence in a non-yearly plan runs for the year after the start (its last day
    the day before the anniversary), unless a days-after step lies further out."""
    monthly = MonthlyOnDay(every_months=1, day=1)
    assert _spec(False, monthly).cycle_end(date(2026, 11, 23)) == date(2027, 11, 22)
    assert _spec(False, monthly).cycle_end(date(2024, 2, 29)) == date(2025, 2, 27)
    later = AfterEnrollment(days=400)
    assert _spec(False, monthly, later).cycle_end(date(2026, 1, 1)) == date(2027, 2, 5)
    weeks = [AfterEnrollment(days=d) for d in (0, 7, 49)]
    assert _spec(False, *weeks).cycle_end(date(2026, 1, 1)) == date(2026, 2, 19)
    assert _spec(True, monthly).cycle_end(date(2026, 1, 1)) == touch_materialize.DONE


async def test_non_yearly_monthly_plan_plans_one_year_then_is_done(
    db: Database, tenant: Tenant
) -> None:
    """Dated a year and a half back, the whole cycle is planned at once, every date of it
    missed: the enrolment is complete as soon as it is made, and nothing goes out."""
    plan_id = await builtin_plan(db, tenant, "12_direct")
    start = date(2025, 6, 1)
    async with db.transaction() as session:
        await add_default_sender(session, tenant.id, at=T0)
        contact = await add_contact(session, tenant.id, at=T0)
        enrollment = await enrollments.enroll_contact(
            session, tenant.id, plan_id=plan_id, contact_id=contact.id, start=start, at=T0
        )
    touches = await touches_of(db, tenant, enrollment.id)
    assert [t.due_date for t in touches][:1] + [t.due_date for t in touches][-1:] == [
        date(2025, 6, 1), date(2026, 5, 1)
    ]  # fmt: skip
    assert len(touches) == 12
    assert {(t.status, t.reason) for t in touches} == {("skipped", "before_start")}
    assert enrollment.materialized_until == touch_materialize.DONE
    assert enrollment.status == "completed"
