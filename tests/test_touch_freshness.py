"""Nothing stale goes out, and nothing goes out at night.

The scheduler is simulated by calling its jobs with the frozen clock, an hourly tick at a
time; "stopping" it is not calling them while the clock moves on. Every assertion that
matters is about what reached the outside (the events) and what the touches became.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.models.platform.event import Event
from app.models.touches.plan_schemas import TouchPlanCreate
from app.models.touches.tables import Touch, TouchPlanStep
from app.services.touches import enrollments
from app.services.touches.jobs import emit_touches, top_up_touches
from app.services.touches.plans import create_plan
from app.services.touches.timing import within_window
from tests.conftest import T0, Tenant
from tests.touch_fixtures import add_contact, add_member

NINE, EIGHT_PM = time(9), time(20)
#: Zones far apart, with DST (New York, Lord Howe's half hour), without (Tokyo), and both
#: ends of the offsets (+14, -11): the ticks meet each of them in and out of its window.
ZONES = (
    "America/New_York",
    "Asia/Tokyo",
    "Australia/Lord_Howe",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
)


def _season() -> TouchPlanCreate:
    """Steps that fall before, during and after a ten-day outage starting on day 3."""

    def email(timing: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "channel": "email",
            "content_kind": "newsletter",
            "mode": "automated",
            "subject_template": "News",
            "timing": timing,
            **extra,
        }

    return TouchPlanCreate.model_validate(
        {
            "name": "Season",
            "referral_reminder": "Send us a friend.",
            "steps": [
                email({"kind": "after_enrollment", "days": 1}),  # before the outage
                email({"kind": "after_enrollment", "days": 5}),  # in it: stale (3 days)
                # in it, but valid two weeks: goes out when the scheduler is back
                email({"kind": "after_enrollment", "days": 5}, valid_for_days=14),
                # a 1 December card valid a month, but only about its day: stale
                email({"kind": "yearly_date", "month": 12, "day": 1}, valid_for_days=30),
                email({"kind": "after_enrollment", "days": 14}),  # after it
            ],
        }
    )


async def _ticks(db: Database, clock: FrozenClock, settings: Settings, until: datetime) -> None:
    """The scheduler running: a tick every hour until ``until``."""
    while clock.now() < until:
        clock.advance(timedelta(hours=1))
        await top_up_touches(db, clock, settings)
        await emit_touches(db, clock, settings)


async def _released(db: Database, tenant: Tenant) -> list[tuple[datetime, dict[str, Any]]]:
    async with db.transaction() as session:
        stmt = (
            select(Event.occurred_at, Event.data)
            .where(Event.workspace_id == tenant.id, Event.type == "touch.due")
            .order_by(Event.id)
        )
        return [(r.occurred_at, r.data) for r in await session.execute(stmt)]


async def _touches(db: Database, tenant: Tenant) -> dict[str, Touch]:
    async with db.transaction() as session:
        stmt = select(Touch).where(Touch.workspace_id == tenant.id)
        return {str(t.id): t for t in (await session.execute(stmt)).scalars()}


async def test_after_a_ten_day_outage_nothing_older_than_its_validity_goes_out(
    db: Database, tenant: Tenant, clock: FrozenClock, settings: Settings
) -> None:
    async with db.transaction() as session:
        plan, _ = await create_plan(session, tenant.id, _season(), at=T0)
        zone_of = {}
        for zone in ZONES:
            row = await add_contact(session, tenant.id, at=T0, time_zone=zone)
            zone_of[str(row.id)] = zone
            await enrollments.enroll_contact(
                session, tenant.id, plan_id=plan.id, contact_id=row.id, start=T0.date(), at=T0
            )
    stopped, restarted = T0 + timedelta(days=3), T0 + timedelta(days=13)
    await _ticks(db, clock, settings, until=stopped)
    clock.set(restarted)  # ten days without a tick
    await _ticks(db, clock, settings, until=restarted + timedelta(days=5))

    touches = await _touches(db, tenant)
    released = await _released(db, tenant)
    for at, data in released:
        touch = touches[data["id"]]
        assert touch.expires_at is not None
        assert at <= touch.expires_at, "released after it went stale"
        assert data["due_at"] == at.isoformat().replace("+00:00", "Z")
        zone = zone_of[data["contact_id"]]
        assert within_window(at, tz=zone, window_start=NINE, window_end=EIGHT_PM), (zone, at)
    by_step: dict[int, set[tuple[str, str | None]]] = {}
    positions = {s.id: s.position for s in (await _steps(db, plan.id))}
    for touch in touches.values():
        assert touch.step_id is not None
        by_step.setdefault(positions[touch.step_id], set()).add((touch.status, touch.reason))
    assert by_step == {
        0: {("due", None)},
        1: {("skipped", "stale")},
        2: {("due", None)},
        3: {("skipped", "stale")},
        4: {("due", None)},
    }
    # The fresh one of the outage went out once the scheduler was back, not before.
    late = [at for at, data in released if positions[touches[data["id"]].step_id] == 2]
    assert len(late) == len(ZONES)
    assert all(restarted <= at <= restarted + timedelta(days=1) for at in late)
    skipped = await _events(db, tenant, "touch.skipped")
    stale = {t for t, touch in touches.items() if touch.reason == "stale"}
    assert {e["id"] for e in skipped} == stale
    assert {e["reason"] for e in skipped} == {"stale"}
    assert len(stale) == 2 * len(ZONES)


async def _steps(db: Database, plan_id: uuid.UUID) -> list[Any]:
    async with db.transaction() as session:
        stmt = select(TouchPlanStep).where(TouchPlanStep.plan_id == plan_id)
        return list((await session.execute(stmt)).scalars())


async def _events(db: Database, tenant: Tenant, kind: str) -> list[dict[str, Any]]:
    async with db.transaction() as session:
        stmt = (
            select(Event.data)
            .where(Event.workspace_id == tenant.id, Event.type == kind)
            .order_by(Event.id)
        )
        return list((await session.execute(stmt)).scalars())


async def _plan_id(client: httpx.AsyncClient, tenant: Tenant, key: str) -> str:
    r = await client.get("/v1/touch-plans", params={"limit": 50}, headers=tenant.headers)
    return next(p["id"] for p in r.json()["data"] if p["builtin_key"] == key)


async def test_a_33_touch_enrolment_dated_a_year_back_sends_none_of_last_years_touches(
    client: httpx.AsyncClient,
    db: Database,
    tenant: Tenant,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    """Black box, through the API: the dates before the enrolment was made are recorded as
    missed; asked to catch up, only what is still fresh goes out, the rest is stale."""
    async with db.transaction() as session:
        owner = await add_member(session, tenant.id, at=T0)
        missed = await add_contact(session, tenant.id, at=T0, owner_id=owner.id)
        caught = await add_contact(session, tenant.id, at=T0, owner_id=owner.id)
    plan_id = await _plan_id(client, tenant, "33_touch")
    year_ago = str(date(2025, 11, 23))
    for contact, catch_up in ((missed, False), (caught, True)):
        body = {
            "plan_id": plan_id,
            "contact_id": str(contact.id),
            "start_date": year_ago,
            "catch_up": catch_up,
        }
        r = await client.post("/v1/enrollments", json=body, headers=tenant.headers)
        assert r.status_code == 201, r.text
        assert r.json()["catch_up"] is catch_up
    await _ticks(db, clock, settings, until=T0 + timedelta(hours=12))

    touches = await _touches(db, tenant)
    past = [t for t in touches.values() if t.due_date is not None and t.due_date < T0.date()]
    assert len(past) > 2 * 20  # a year of 33 Touch, twice
    for touch in past:
        expected = ("skipped", "before_start" if touch.contact_id == missed.id else "stale")
        assert (touch.status, touch.reason) == expected, touch.due_date
    assert {e["reason"] for e in await _events(db, tenant, "touch.skipped")} == {"stale"}
    released = await _released(db, tenant)
    for at, data in released:
        touch = touches[data["id"]]
        assert touch.due_date is not None
        assert touch.due_date >= T0.date() - timedelta(days=3)
        assert touch.expires_at is not None
        assert at <= touch.expires_at


async def test_an_ad_hoc_touch_due_before_the_window_goes_out_when_it_opens(
    client: httpx.AsyncClient,
    db: Database,
    tenant: Tenant,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    """The reported case: due 07:27Z for a UTC contact with a 09:00-20:00 window."""
    async with db.transaction() as session:
        contact = await add_contact(session, tenant.id, at=T0, time_zone="UTC")
    clock.set(datetime(2026, 11, 24, 7, 0, tzinfo=UTC))
    body = {
        "contact_id": str(contact.id),
        "channel": "email",
        "mode": "automated",
        "content_kind": "note",
        "subject": "Hello",
        "body": "Hi Pat",
        "due_at": "2026-11-24T07:27:00Z",
    }
    r = await client.post("/v1/touches", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    assert r.json()["expires_at"] == "2026-11-27T07:27:00Z"
    clock.set(datetime(2026, 11, 24, 7, 28, tzinfo=UTC))
    assert await emit_touches(db, clock, settings) == 1  # claimed, and put back
    assert await _events(db, tenant, "touch.due") == []
    r = await client.get(f"/v1/touches/{r.json()['id']}", headers=tenant.headers)
    assert (r.json()["status"], r.json()["due_at"]) == ("scheduled", "2026-11-24T09:00:00Z")
    clock.set(datetime(2026, 11, 24, 8, 59, tzinfo=UTC))
    assert await emit_touches(db, clock, settings) == 0  # costs nothing meanwhile
    clock.set(datetime(2026, 11, 24, 9, 0, 30, tzinfo=UTC))
    assert await emit_touches(db, clock, settings) == 1
    (due,) = await _events(db, tenant, "touch.due")
    assert due["due_at"] == "2026-11-24T09:00:30Z"


async def test_a_dated_card_first_claimed_after_its_days_window_closed_is_stale(
    db: Database, tenant: Tenant, clock: FrozenClock, settings: Settings
) -> None:
    """A card about 1 December, valid a month, planned for 09:00 that day in Tokyo: the
    scheduler first runs at 20:30 there, and the next window opens on 2 December."""
    card = {
        "channel": "card",
        "content_kind": "holiday_card",
        "mode": "automated",
        "body_template": "Happy 1 December",
        "timing": {"kind": "yearly_date", "month": 12, "day": 1},
        "valid_for_days": 30,
    }
    body = {"name": "Card", "referral_reminder": "Refer a friend.", "steps": [card]}
    async with db.transaction() as session:
        plan, _ = await create_plan(session, tenant.id, TouchPlanCreate.model_validate(body), at=T0)
        contact = await add_contact(session, tenant.id, at=T0, time_zone="Asia/Tokyo")
        await enrollments.enroll_contact(
            session, tenant.id, plan_id=plan.id, contact_id=contact.id, start=T0.date(), at=T0
        )
    (touch,) = (await _touches(db, tenant)).values()
    assert touch.due_at == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo
    assert touch.expires_at == datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # its day's end
    clock.set(datetime(2026, 12, 1, 11, 30, tzinfo=UTC))  # 20:30 in Tokyo
    assert await emit_touches(db, clock, settings) == 1
    (touch,) = (await _touches(db, tenant)).values()
    assert (touch.status, touch.reason) == ("skipped", "stale")
    assert await _events(db, tenant, "touch.due") == []
    (skipped,) = await _events(db, tenant, "touch.skipped")
    assert (skipped["id"], skipped["reason"]) == (str(touch.id), "stale")
