"""The built-in plans' content (app/data/builtin_plans.json) against DOMAIN.md.

Each plan is seeded into a workspace, a contact is enrolled, and the scheduler's top-up
job plans a month at a time over two years (the clock moves, nothing sleeps), so the
touches counted are the ones the product would really send.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, timedelta
from itertools import pairwise

from sqlalchemy import select

from app.db import Database
from app.models.touches.tables import Enrollment, Touch, TouchPlan
from app.services.touches import enrollments
from app.services.touches import planning as touch_materialize
from app.services.touches.emit import emit_due_touches
from app.services.touches.outreach import record_outcome
from app.services.touches.steps import DONE, add_years
from tests.conftest import T0, Tenant
from tests.test_touch_emit import enrol_8x8, events_of
from tests.test_touch_enrollment import builtin_plan, touches_of
from tests.touch_fixtures import add_contact, add_default_sender, add_observance

START = T0.date()  # Monday 23 November 2026
NEXT_YEAR = add_years(START, 1)
PERSONAL_DATES = {
    "birthday": (3, 14),
    "home_anniversary": (6, 1),
    "anniversary": (9, 20),
    "custom": (2, 10),
}


async def _two_years_of(
    db: Database,
    tenant: Tenant,
    key: str,
    observances: dict[str, tuple[int, int]],
    **contact: object,
) -> tuple[uuid.UUID, list[Touch]]:
    """Enrol a new contact at START and let the top-up job plan two years ahead."""
    plan_id = await builtin_plan(db, tenant, key)
    async with db.transaction() as session:
        await add_default_sender(session, tenant.id, at=T0)
        row = await add_contact(session, tenant.id, at=T0, **contact)
        for kind, (month, day) in observances.items():
            await add_observance(session, tenant.id, row.id, kind=kind, month=month, day=day, at=T0)
        enrollment = await enrollments.enroll_contact(
            session, tenant.id, plan_id=plan_id, contact_id=row.id, start=START, at=T0
        )
        for month in range(1, 26):
            await touch_materialize.top_up(session, at=T0 + timedelta(days=30 * month))
    return enrollment.id, await touches_of(db, tenant, enrollment.id)


def _year(touches: list[Touch], first_day: date) -> list[Touch]:
    """Touches due in the enrolment year starting ``first_day``."""
    return [t for t in touches if t.due_date and first_day <= t.due_date < add_years(first_day, 1)]


def _dates(touches: list[Touch], kind: str) -> list[date]:
    return sorted(t.due_date for t in touches if t.content_kind == kind and t.due_date)


THIRTY_THREE = {
    "newsletter": 12,  # monthly market report / newsletter
    "value_piece": 4,  # quarterly
    "holiday_card": 4,
    "observance_card": 4,  # personal dates
    "personal_call": 8,
    "event": 1,  # client appreciation event
}


async def test_33_touch_makes_33_touches_a_year_and_repeats(db: Database, tenant: Tenant) -> None:
    enrollment_id, touches = await _two_years_of(db, tenant, "33_touch", PERSONAL_DATES)
    first, second = _year(touches, START), _year(touches, NEXT_YEAR)
    assert len(first) == 33
    assert Counter(t.content_kind for t in first) == THIRTY_THREE
    assert len(second) == 33
    assert Counter(t.content_kind for t in second) == THIRTY_THREE
    # Holiday cards on the holidays, a few days ahead: New Year (1 Jan), Independence Day
    # (4 July), Thanksgiving (4th Thursday of November) and the December holidays.
    assert _dates(first, "holiday_card") == [
        date(2026, 12, 11), date(2026, 12, 27), date(2027, 6, 27), date(2027, 11, 18)
    ]  # fmt: skip
    assert _dates(second, "holiday_card") == [
        date(2027, 12, 11), date(2027, 12, 27), date(2028, 6, 27), date(2028, 11, 16)
    ]  # fmt: skip
    # Personal dates: a card five days before each of the contact's observances.
    assert _dates(first, "observance_card") == [
        date(2027, 2, 5), date(2027, 3, 9), date(2027, 5, 27), date(2027, 9, 15)
    ]  # fmt: skip
    for year in (first, second):
        newsletters = _dates(year, "newsletter")
        assert len({(d.year, d.month) for d in newsletters}) == 12  # one a month
        values = _dates(year, "value_piece")
        assert [b.month - a.month for a, b in pairwise(values)] == [3, 3, 3]  # quarterly
        calls = _dates(year, "personal_call")
        assert len({(d.year, d.month) for d in calls}) == 8
        assert {d.weekday() for d in calls} == {1, 3}  # 2nd Tuesdays and 3rd Thursdays
    assert _dates(touches, "event")[:2] == [START + timedelta(180), NEXT_YEAR + timedelta(180)]
    async with db.transaction() as session:
        enrollment = await session.get(Enrollment, (tenant.id, enrollment_id))
    assert enrollment is not None
    assert (enrollment.status, enrollment.materialized_until != DONE) == ("active", True)


async def test_33_touch_without_personal_dates_skips_only_those(
    db: Database, tenant: Tenant
) -> None:
    _, touches = await _two_years_of(db, tenant, "33_touch", {})
    assert len(_year(touches, START)) == 33 - 4
    assert "observance_card" not in {t.content_kind for t in touches}


async def test_12_direct_mails_twelve_pieces_a_month_apart_then_completes(
    db: Database, tenant: Tenant
) -> None:
    enrollment_id, touches = await _two_years_of(db, tenant, "12_direct", {}, segment="prospect")
    assert [t.due_date for t in touches] == [
        date(2026 + (11 + k) // 12, (11 + k) % 12 + 1, 1) for k in range(12)
    ]  # 1 December 2026 ... 1 November 2027
    assert {(t.channel, t.content_kind, t.mode) for t in touches} == {
        ("mail", "direct_mail", "automated")
    }
    async with db.transaction() as session:
        plan = (
            await session.execute(select(TouchPlan).where(TouchPlan.builtin_key == "12_direct"))
        ).scalar_one()
        assert plan.pause_on_reply  # for prospects: a reply means a member takes over
        for touch in touches:
            enrollment = await session.get(Enrollment, (tenant.id, enrollment_id))
            assert enrollment is not None
            assert enrollment.status == "active"
            assert await emit_due_touches(session, at=touch.due_at) == 1
            await record_outcome(
                session,
                tenant.id,
                touch.id,
                outcome="sent",
                provider_message_id=f"mail-{touch.due_date}",
                note=None,
                at=touch.due_at + timedelta(hours=2),
            )
        await session.refresh(enrollment)
        assert enrollment.status == "completed"
        assert enrollment.materialized_until == DONE
        assert await touch_materialize.top_up(session, at=T0 + timedelta(days=800)) == 0
    (completed,) = await events_of(db, tenant.id, "enrollment.completed")
    assert completed["id"] == str(enrollment_id)
    assert len(await touches_of(db, tenant, enrollment_id)) == 12


async def test_8x8_sends_its_eight_weekly_touches_with_calls_in_weeks_4_and_8(
    db: Database, tenant: Tenant
) -> None:
    """Week by week (a tick at noon on each week's day): the e-mails go to the sender as
    ``touch.due``, the card, the calls and the gift to the owner as ``task.due``."""
    await enrol_8x8(db, tenant, START)
    async with db.transaction() as session:
        for week in range(8):
            assert await emit_due_touches(session, at=T0 + timedelta(weeks=week)) == 1
    sends = await events_of(db, tenant.id, "touch.due")
    tasks = await events_of(db, tenant.id, "task.due")
    assert [(date.fromisoformat(e["due_at"][:10]) - START).days // 7 + 1 for e in sends] == [
        2, 3, 5, 6
    ]  # fmt: skip
    by_week = {
        (date.fromisoformat(e["due_at"][:10]) - START).days // 7 + 1: e for e in sends + tasks
    }
    assert sorted(by_week) == list(range(1, 9))
    assert [(by_week[w]["channel"], by_week[w]["content_kind"]) for w in range(1, 9)] == [
        ("card", "personal_note"),  # handwritten note with market report
        ("email", "market_statistics"),
        ("email", "market_statistics"),
        ("call", "call"),
        ("email", "free_report"),
        ("email", "tip"),  # home-maintenance or investment tip
        ("gift", "branded_item"),
        ("call", "referral_request"),
    ]
    assert "market report" in by_week[1]["subject"]
    assert {by_week[w]["mode"] for w in (1, 4, 7, 8)} == {"manual"}  # tasks for the member
    assert by_week[8]["subject"] == "Call Pat Lee and ask for a referral"
    assert "who do you know" in by_week[8]["body"]
    assert by_week[8]["referral_reminder"] in by_week[8]["body"]


async def test_advocate_appreciation_follows_the_domain(db: Database, tenant: Tenant) -> None:
    observances = {k: PERSONAL_DATES[k] for k in ("birthday", "home_anniversary")}
    _, touches = await _two_years_of(
        db, tenant, "advocate_appreciation", observances, segment="advocate"
    )
    expected = {"newsletter": 12, "holiday_card": 2, "observance_card": 2, "gift": 1}
    for first_day in (START, NEXT_YEAR):
        year = _year(touches, first_day)
        assert Counter(t.content_kind for t in year) == expected
        assert len({(d.year, d.month) for d in _dates(year, "newsletter")}) == 12
    assert _dates(_year(touches, START), "holiday_card") == [
        date(2027, 6, 27), date(2027, 11, 18)
    ]  # fmt: skip  # Independence Day and Thanksgiving
    async with db.transaction() as session:
        plan = (
            await session.execute(
                select(TouchPlan).where(TouchPlan.builtin_key == "advocate_appreciation")
            )
        ).scalar_one()
    assert (sorted(plan.audience_segments), plan.repeat_yearly) == (
        ["advocate", "core_advocate"],
        True,
    )
    # The thank-you within a day of each referral is not a plan step: the referral
    # schedules it (tests/test_referrals_api.py::test_receiving_a_referral_schedules_...).
    assert "thank_you" not in {t.content_kind for t in touches}
